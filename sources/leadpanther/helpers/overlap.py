"""The analytics of rows a quick run re-reads only because of its cursor lookback.

A quick run reads again every row changed up to `cursor_lookback_s` before its cursor: rows committed late
with an older timestamp must not be missed. Reloading those rows is harmless (merge), but each one that has
analytics also cost an analytics request: at 10,000 clients ~15,000 requests an hour with nothing new.

So each client-route's cursor keeps a small digest of its *edge*: the ids and `updated_at` of the rows the
next quick run will re-read if nothing changes (created at or after the cursor's created_max minus the
lookback), as "<count>:<hash>" (~16 bytes of state). The next quick run hands the rows beyond its cursor
to the analytics at once, holds the re-read ones, and at the end compares their digest with the stored
one. Equal: nothing arrived or changed inside the lookback, and the held rows' analytics are as fresh as
the rules want them (read by the run that stored the edge; a day's first run, which refreshes every young
record, has no gate). Different: a row was committed late or changed there, and every held row gets its
analytics. A digest that cannot be trusted (none stored, a tail read of an oldest-first route, a run that
refreshes the window) turns the gate off.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ..settings import ORDER_FIELD
from .pages import since_floors
from .records import parse_ts

EDGE_KEY = "edge"  # in a client-route's cursor
PRUNE_EVERY = 1024  # candidates kept before dropping the ones that can no longer reach the edge


def _stamps(record: Any) -> tuple[datetime | None, datetime | None]:
    if not isinstance(record, dict):
        return None, None
    return parse_ts(record.get(ORDER_FIELD)), parse_ts(record.get("updated_at"))


class Edge:
    """The rows a quick run re-reads for a cursor's maxima: created or updated within one lookback of them
    (the parents of analytics, posts and lead magnets, are read by updated_at: settings.CURSOR_FIELD)."""

    def __init__(self, created_max: datetime | None, updated_max: datetime | None, lookback: timedelta) -> None:
        self.created_max, self.updated_max = created_max, updated_max
        self.created_floor = created_max - lookback if created_max is not None else None
        self.updated_floor = updated_max - lookback if updated_max is not None else None

    def holds(self, record: Any) -> bool:
        created = parse_ts(record.get(ORDER_FIELD)) if isinstance(record, dict) else None
        return since_floors(record, created, self.created_floor, self.updated_floor)

    def beyond(self, record: Any) -> bool:
        """New or changed since the cursor (or unreadable: never held back)."""
        created, updated = _stamps(record)
        if created is None or self.created_max is None or created > self.created_max:
            return True
        return updated is not None and (self.updated_max is None or updated > self.updated_max)

    def digest(self, records: Iterable[Any]) -> str:
        """ "<count>:<hash>" of the held rows' ids and updated_at (a changed row changes it)."""
        keys = sorted(f"{r.get('id')}|{r.get('updated_at') or ''}" for r in records if self.holds(r))
        return f"{len(keys)}:{hashlib.sha1(chr(10).join(keys).encode()).hexdigest()[:10]}"


class EdgeTracker:
    """Keeps, of the rows a scan emits, those that may sit in the next run's edge: a set bounded by the rows
    changed within one lookback of the newest, not by the route's size."""

    def __init__(self, lookback: timedelta) -> None:
        self.lookback = lookback
        self.rows: list[Any] = []
        self.created_max: datetime | None = None
        self.updated_max: datetime | None = None
        self._kept = 0

    def add(self, records: Iterable[Any]) -> None:
        for record in records:
            created, updated = _stamps(record)
            if created is None:
                continue
            self.rows.append(record)
            self.created_max = max(self.created_max or created, created)
            if updated is not None:
                self.updated_max = max(self.updated_max or updated, updated)
        if len(self.rows) - self._kept >= PRUNE_EVERY:
            edge = Edge(self.created_max, self.updated_max, self.lookback)
            self.rows = [r for r in self.rows if edge.holds(r)]
            self._kept = len(self.rows)

    def digest(self, created_max: datetime | None, updated_max: datetime | None) -> str:
        """The edge for the cursor's maxima (the larger of the old and the new)."""
        return Edge(created_max, updated_max, self.lookback).digest(self.rows)


class OverlapGate:
    """One quick scan's filter between the rows it reads and the analytics (see the module docstring)."""

    def __init__(self, stored: str, edge: Edge) -> None:
        self.stored = stored
        self.edge = edge
        self.held: list[Any] = []

    def split(self, records: list[Any]) -> list[Any]:
        """The rows whose analytics are due now; the re-read ones are held until the scan's end."""
        due = []
        for record in records:
            (due if self.edge.beyond(record) or not self.edge.holds(record) else self.held).append(record)
        return due

    def release(self) -> list[Any]:
        """At the scan's end: the held rows, unless they are exactly the edge the previous run saw."""
        return [] if self.edge.digest(self.held) == self.stored else self.held
