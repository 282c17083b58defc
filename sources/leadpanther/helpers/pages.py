"""Offset paging that neither skips nor duplicates rows while the data moves underneath.

The API pages by `limit`/`offset`, gives no total, documents no sort order and no "changed since" filter.
So a scan (one client, one route):

* re-reads the last `PAGE_OVERLAP` rows of the previous page at the head of every page and checks that
  they are the same ids. A mismatch means rows were inserted or deleted before our position (offset
  drift): the scan finds its anchor (the last row it read) in the page, or steps back to find it, or
  restarts from offset 0; a per-scan set of seen ids keeps every restart free of duplicates;
* detects the order from the data (`created_at` along the served sequence), never trusting it blindly;
* in `early_stop` mode (a quick run on a route known to be newest-first) stops once a page ends before the
  client's cursor; if the order turns out violated it falls back to a full scan and filters.
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
        self.outcome = ScanOutcome(scan="early_stop" if spec.early_stop else "full")

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        seen: set[str] = set()
        early_stop = self.spec.early_stop
        while True:
            tracker = OrderTracker()
            restart = yield from self._pass(seen, tracker, early_stop)
            if restart is None:
                self.outcome.order = tracker.order
                return
            self.outcome.restarts += 1
            if restart == "order":
                early_stop = False
                self.outcome.scan = "full"
            if self.outcome.restarts > MAX_RESTARTS:
                raise OffsetDriftError(
                    f"rows kept shifting between pages; gave up after {MAX_RESTARTS} restarts",
                    route=self.spec.resource,
                    client_id=self.spec.client_id,
                    request_id=self.outcome.stats.last_request_id,
                )

    def _pass(self, seen: set[str], tracker: OrderTracker, early_stop: bool) -> Iterator[list[dict[str, Any]]]:
        """One pass from offset 0. Returns None when complete, or why it must restart."""
        spec = self.spec
        offset = 0
        tail: list[str] = []
        while True:
            ask = max(0, offset - len(tail))
            rows, has_more = self._page(ask)
            ids = [identity(r, self.spec.id_field) for r in rows]
            start = 0
            if tail:
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
            emit: list[dict[str, Any]] = []
            for record, key in zip(rows[start:], ids[start:], strict=True):
                created = self._observe(record, tracker)
                if key in seen:
                    continue
                seen.add(key)
                self.outcome.rows_read += 1
                if self._wanted(record, created):
                    emit.append(record)
            if early_stop and tracker.order not in (NEWEST_FIRST, UNKNOWN):
                return "order"
            if emit:
                self.outcome.rows_emitted += len(emit)
                yield emit
            offset = ask + len(rows)
            if rows:
                tail = ids[-PAGE_OVERLAP:]
            if not has_more or not rows:
                return None
            floor = spec.created_floor
            if early_stop and floor is not None and tracker.prev is not None and tracker.prev < floor:
                return None

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
        if created is None:
            return True  # unreadable cursor: let the record builder quarantine it rather than lose it
        if spec.created_floor is not None and created >= spec.created_floor:
            return True
        if spec.updated_floor is not None and isinstance(record, dict):
            updated = parse_ts(record.get("updated_at"))
            if updated is None or updated >= spec.updated_floor:
                return True
        return False

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


def _anchor(ids: list[str], tail: list[str]) -> int | None:
    """Position in `ids` of the latest row of `tail` that is still there, else None."""
    positions = {key: i for i, key in enumerate(ids)}
    for key in reversed(tail):
        if key in positions:
            return positions[key]
    return None
