"""Offset paging that neither skips nor duplicates rows while the data moves underneath.

The API pages by `limit`/`offset`, gives no total, documents no sort order and no "changed since" filter.
So a scan (one client, one route):

* re-reads the last `PAGE_OVERLAP` rows of the previous page at the head of every page and checks that
  they are the same ids. A mismatch means rows were inserted or deleted before our position (offset
  drift): the scan finds its anchor (the last row it read) in the page, or steps back to find it, or
  restarts from offset 0; a per-scan set of seen ids keeps every restart free of duplicates;
* detects the order from the data (`created_at` along the served sequence), never trusting it blindly;
* in `early_stop` mode (a quick run on a route known to be newest-first) stops once a page ends before the
  client's cursor; if the order turns out violated it falls back to a full scan and filters;
* from a known offset (a quick run on a route known to be oldest-first: its tail) it first checks that the
  rows there are the ones expected (the last rows it saw, or a row older than the analytics window); if
  not (rows deleted or inserted before), or if the order turns out violated, it falls back to a full scan
  from offset 0 and filters.

Over ~300 lines because these cases are one state machine over one scan's position, anchor and seen ids;
split by case, each part would need the whole state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ..settings import ORDER_FIELD, PAGE_OVERLAP
from .client import CallStats, LeadPantherClient
from .errors import BadResponseError, OffsetDriftError
from .records import parse_ts

MAX_RESTARTS = 5
MAX_STEP_BACKS = 6
MAX_ENVELOPE_RETRIES = 2

NEWEST_FIRST, OLDEST_FIRST, UNORDERED, UNKNOWN = "newest_first", "oldest_first", "unordered", "unknown"


@dataclass
class ScanSpec:
    resource: str
    path: str
    client_id: str
    page_size: int
    early_stop: bool
    # Rows are emitted when created_at >= created_floor or updated_at >= updated_floor; both None = emit all.
    created_floor: datetime | None = None
    updated_floor: datetime | None = None
    id_field: str = "id"  # what identifies a row of this list (GET /clients: user_id)
    # Start of a tail read: at `start_offset` the rows `start_ids` must be found (they are re-read and not
    # emitted) or, with `start_older_than`, a row created before that; else a full scan from 0 follows.
    start_offset: int = 0
    start_ids: tuple[str, ...] = ()
    start_older_than: datetime | None = None
    # Rows created at or after `young_floor` are handed out as young (analytics refresh) though not emitted;
    # an early stop reads down to it too.
    young_floor: datetime | None = None
    # A full pass notes where the first row created at or after `window_floor` sits (oldest-first routes
    # start tomorrow's analytics refresh there).
    window_floor: datetime | None = None

    @property
    def from_tail(self) -> bool:
        return self.start_offset > 0


@dataclass
class ScanBatch:
    emit: list[Any]  # rows for the table
    young: list[Any]  # rows read but not emitted, created at or after the spec's young_floor


@dataclass
class ScanOutcome:
    stats: CallStats = field(default_factory=CallStats)
    order: str = UNKNOWN
    scan: str = "full"
    rows_read: int = 0
    rows_emitted: int = 0
    restarts: int = 0
    drift_events: int = 0
    created_max: datetime | None = None
    updated_max: datetime | None = None
    # Where a complete pass ended (offset after its last row, that row's id and the one before), and the
    # offset before the first row of the analytics window: set only by passes that saw them.
    end_offset: int | None = None
    tail_ids: tuple[str, ...] = ()
    window_offset: int | None = None
    fallbacks: int = 0  # tail reads that found other rows than expected at their start


class OrderTracker:
    """Watches created_at along the served sequence and says which order the data really has."""

    def __init__(self) -> None:
        self.prev: datetime | None = None
        self.desc_ok = True
        self.asc_ok = True
        self.changes = 0

    def feed(self, value: datetime | None) -> None:
        if value is None:
            return
        if self.prev is not None and value != self.prev:
            self.changes += 1
            if value > self.prev:
                self.desc_ok = False
            else:
                self.asc_ok = False
        self.prev = value

    @property
    def order(self) -> str:
        if self.changes == 0:
            return UNKNOWN
        if self.desc_ok:
            return NEWEST_FIRST
        if self.asc_ok:
            return OLDEST_FIRST
        return UNORDERED


def identity(record: Any, id_field: str = "id") -> str:
    if isinstance(record, dict) and isinstance(record.get(id_field), str):
        return record[id_field]
    # No usable id: the whole record is its identity (two different id-less records must never collapse).
    serialized = orjson.dumps(record, default=str, option=orjson.OPT_SORT_KEYS)
    return "raw:" + hashlib.blake2b(serialized, digest_size=16).hexdigest()


class Scan:
    """Iterate to get lists of records to emit; `outcome` holds counters, cursors and detected order."""

    def __init__(self, client: LeadPantherClient, spec: ScanSpec):
        self.client = client
        self.spec = spec
        kind = "early_stop" if spec.early_stop else ("tail" if spec.from_tail else "full")
        self.outcome = ScanOutcome(scan=kind)

    def __iter__(self) -> Iterator[ScanBatch]:
        seen: set[str] = set()
        shortcut = self.spec.early_stop or self.spec.from_tail
        while True:
            tracker = OrderTracker()
            restart = yield from self._pass(seen, tracker, shortcut)
            if restart is None:
                self.outcome.order = tracker.order
                return
            if restart == "fallback":
                self.outcome.fallbacks += 1
            else:
                self.outcome.restarts += 1
            if restart in ("order", "fallback"):
                shortcut = False
                self.outcome.scan = "full"
            if self.outcome.restarts > MAX_RESTARTS:
                raise OffsetDriftError(
                    f"rows kept shifting between pages; gave up after {MAX_RESTARTS} restarts",
                    route=self.spec.resource,
                    client_id=self.spec.client_id,
                    request_id=self.outcome.stats.last_request_id,
                )

    def _pass(self, seen: set[str], tracker: OrderTracker, shortcut: bool) -> Iterator[ScanBatch]:
        """One pass from offset 0 (or from the tail, for a shortcut). Returns None when complete, or why it
        must restart."""
        spec = self.spec
        early_stop = shortcut and spec.early_stop
        from_tail = shortcut and spec.from_tail
        offset = spec.start_offset if from_tail else 0
        tail: list[str] = list(spec.start_ids) if from_tail else []
        note_window = spec.window_floor is not None and (not from_tail or spec.start_older_than is not None)
        first = True
        while True:
            ask = max(0, offset - len(tail))
            rows, has_more = self._page(ask)
            ids = [identity(r, self.spec.id_field) for r in rows]
            start = 0
            if first and from_tail:
                if not self._start_holds(rows, ids, tail):
                    return "fallback"
                start = len(tail)
                for record, key in zip(rows[:start], ids[:start], strict=True):  # re-read: not emitted again
                    if _at_or_after(self._observe(record, tracker), spec.young_floor) and key not in seen:
                        seen.add(key)
                        yield ScanBatch([], [record])
            elif tail:
                if ids[: len(tail)] == tail:
                    start = len(tail)
                else:
                    self.outcome.drift_events += 1
                    found = _anchor(ids, tail)
                    if found is None:
                        found_page = self._step_back(ask, tail)
                        if found_page is None:
                            return "drift"
                        ask, rows, ids, has_more, found = found_page
                    start = found + 1
            first = False
            emit: list[dict[str, Any]] = []
            young: list[dict[str, Any]] = []
            for position, (record, key) in enumerate(zip(rows[start:], ids[start:], strict=True), ask + start):
                created = self._observe(record, tracker)
                if note_window and self.outcome.window_offset is None and _at_or_after(created, spec.window_floor):
                    self.outcome.window_offset = max(0, position - 1)
                if key in seen:
                    continue
                seen.add(key)
                self.outcome.rows_read += 1
                if self._wanted(record, created):
                    emit.append(record)
                elif _at_or_after(created, spec.young_floor):
                    young.append(record)
            # This page's wanted rows are handed out before an order check can restart the scan: they are in
            # `seen` now, so a restart would skip them (and lose them) if they were dropped here.
            if emit or young:
                self.outcome.rows_emitted += len(emit)
                yield ScanBatch(emit, young)
            if early_stop and tracker.order not in (NEWEST_FIRST, UNKNOWN):
                return "order"
            if from_tail and tracker.order not in (OLDEST_FIRST, UNKNOWN):
                return "order"
            offset = ask + len(rows)
            if rows:
                tail = _overlap(ids, spec.page_size if has_more else None)
            if not has_more or not rows:
                if not early_stop:
                    self.outcome.end_offset, self.outcome.tail_ids = offset, tuple(tail)
                    if note_window and self.outcome.window_offset is None:
                        self.outcome.window_offset = max(0, offset - 1)
                return None
            floor = _earliest(spec.created_floor, spec.young_floor)
            if early_stop and floor is not None and tracker.prev is not None and tracker.prev < floor:
                return None

    def _start_holds(self, rows: list[Any], ids: list[str], expected: list[str]) -> bool:
        """A tail read's first page: are the rows there the ones the last run saw (or old enough)?"""
        if expected:
            return ids[: len(expected)] == expected
        older_than = self.spec.start_older_than
        if not rows or older_than is None or not isinstance(rows[0], dict):
            return False
        created = parse_ts(rows[0].get(ORDER_FIELD))
        return created is not None and created < older_than

    def _observe(self, record: Any, tracker: OrderTracker) -> datetime | None:
        if not isinstance(record, dict):
            return None
        created = parse_ts(record.get(ORDER_FIELD))
        tracker.feed(created)
        out = self.outcome
        if created is not None and (out.created_max is None or created > out.created_max):
            out.created_max = created
        updated = parse_ts(record.get("updated_at"))
        if updated is not None and (out.updated_max is None or updated > out.updated_max):
            out.updated_max = updated
        return created

    def _wanted(self, record: Any, created: datetime | None) -> bool:
        spec = self.spec
        if spec.created_floor is None and spec.updated_floor is None:
            return True
        # unreadable cursor: let the record builder quarantine it rather than lose it
        return since_floors(record, created, spec.created_floor, spec.updated_floor, unreadable=True)

    def _step_back(self, ask: int, tail: list[str]):
        """Rows were deleted before our position: read earlier windows until the anchor shows up."""
        step = max(1, self.spec.page_size - PAGE_OVERLAP)
        probe = ask
        for _ in range(MAX_STEP_BACKS):
            if probe == 0:
                return None
            probe = max(0, probe - step)
            rows, has_more = self._page(probe)
            ids = [identity(r, self.spec.id_field) for r in rows]
            found = _anchor(ids, tail)
            if found is not None:
                return probe, rows, ids, has_more, found
        return None

    def _page(self, offset: int) -> tuple[list[Any], bool]:
        spec = self.spec
        params = {"limit": spec.page_size, "offset": offset}
        for attempt in range(MAX_ENVELOPE_RETRIES + 1):
            response = self.client.get(
                spec.path, params, route=spec.resource, client_id=spec.client_id, stats=self.outcome.stats
            )
            self.outcome.stats.pages += 1
            body = response.payload
            data = body.get("data")
            pagination = body.get("pagination")
            if isinstance(data, list) and isinstance(pagination, dict):
                has_more = pagination.get("has_more")
                # An empty page that claims more would end the scan early and lose rows: not accepted.
                if isinstance(has_more, bool) and (data or not has_more):
                    return data, has_more
            if attempt == MAX_ENVELOPE_RETRIES:
                raise BadResponseError(
                    "list response is not the documented envelope {data: [...], pagination: {has_more}}",
                    request_id=response.request_id,
                    status=response.status,
                    route=spec.resource,
                    client_id=spec.client_id,
                )
            self.outcome.stats.retries += 1
        raise AssertionError("unreachable")


def since_floors(
    record: Any,
    created: datetime | None,
    created_floor: datetime | None,
    updated_floor: datetime | None,
    *,
    unreadable: bool = False,
) -> bool:
    """Whether a cursor's floors select this record: created (`created`, already parsed) at or after
    `created_floor`, or updated at or after `updated_floor`; a None floor selects nothing by itself. The one
    rule for what a quick run reads again: the scan emits by it and the overlap edge (overlap.Edge) holds by it.

    A stamp that cannot be read answers `unreadable`: True for the scan (better emitted and quarantined than
    lost), False for the edge (it holds back only rows it can place). updated_at is parsed only when needed."""
    if created is None and unreadable:
        return True
    if _at_or_after(created, created_floor):
        return True
    if updated_floor is None or not isinstance(record, dict):
        return False
    updated = parse_ts(record.get("updated_at"))
    if updated is None:
        return unreadable
    return updated >= updated_floor


def _at_or_after(value: datetime | None, floor: datetime | None) -> bool:
    return floor is not None and value is not None and value >= floor


def _earliest(*values: datetime | None) -> datetime | None:
    return min((v for v in values if v is not None), default=None)


def _overlap(ids: list[str], page_size: int | None) -> list[str]:
    """The last PAGE_OVERLAP ids of a page, to re-read at the head of the next one; with more pages to come
    (`page_size` given), fewer when the pages are too short for the re-read to leave room for a new row
    (page_size 1 or 2, or an API serving shorter pages than asked): else the scan would never advance."""
    keep = PAGE_OVERLAP if page_size is None else min(PAGE_OVERLAP, len(ids) - 1, page_size - 1)
    return ids[len(ids) - keep :] if keep > 0 else []


def _anchor(ids: list[str], tail: list[str]) -> int | None:
    """Position in `ids` of the latest row of `tail` that is still there, else None."""
    positions = {key: i for i, key in enumerate(ids)}
    for key in reversed(tail):
        if key in positions:
            return positions[key]
    return None
