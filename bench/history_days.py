"""Simulated days of daily quick runs, written straight into the destination: a year of history in minutes.

A year of real daily loads at the large preset would take hours (each quick run reads every young record's
analytics over HTTP). After one real first load, `SimulatedDays` replays the emulator's own data model
(`leadpanther_emulator.models.Backend`, the same seed, so the same records) in this process and, for each
simulated day, builds the rows that day's first quick run loads, with the source's own code
(`TableBuilder`, `linked_posts_table`, `column_hints`, the resources' keys and write dispositions):

* the day's new records of every list route (the records `insert` created that day);
* `clients` again (every run re-reads the client list);
* the analytics of every record younger than the analytics window (and of the day's new records), in both
  the latest table and the daily snapshot table, with the emulator's figures as of that day.

tests/transforms/test_history_days.py checks these rows equal what real quick runs load over HTTP, day by
day. What it does not write: `sync_runs` (dim_clients then reports the first load's runs) and the records a
quick run re-reads only through its cursor lookback (the same rows again, with a newer `_lp_synced_at`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa

from leadpanther_emulator.generator import DAY_MS, parse_iso_ms
from leadpanther_emulator.models import Backend, ClientState
from sources.leadpanther import DEDUPLICATED_MERGE
from sources.leadpanther.configuration import LeadPantherSourceConfiguration
from sources.leadpanther.helpers.arrow_items import linked_posts_table
from sources.leadpanther.helpers.pii import PiiPolicy
from sources.leadpanther.helpers.records import TableBuilder, column_hints
from sources.leadpanther.settings import (
    ANALYTICS_PARENTS,
    DAILY_TABLES,
    DEFAULT_ANALYTICS_WINDOW_DAYS,
    ENGAGED_POST_STATUSES,
    LINKED_POSTS_TABLE,
    LIST_RESOURCES,
    PRIMARY_KEYS,
    SNAPSHOT_DATE,
)


@dataclass(frozen=True)
class DayPlan:
    """New records per active client per simulated day (lead magnets: one every `lead_magnet_every` days)."""

    posts: int = 5
    leads: int = 15
    activity: int = 20
    lead_magnet_every: int = 7

    def inserts(self, day: int) -> dict[str, int]:
        magnets = 1 if self.lead_magnet_every and day % self.lead_magnet_every == 0 else 0
        return {"posts": self.posts, "lead_magnets": magnets, "leads": self.leads, "activity": self.activity}


@dataclass
class DayRows:
    """The tables one or more simulated days load: list rows appended, latest analytics kept per key."""

    tables: dict[str, list[pa.Table]] = field(default_factory=dict)
    latest: dict[str, list[pa.Table]] = field(default_factory=dict)
    clients: pa.Table | None = None

    def add(self, table: str, built: pa.Table | None) -> None:
        if built is not None and built.num_rows:
            self.tables.setdefault(table, []).append(built)

    def rows(self) -> int:
        return sum(t.num_rows for ts in self.tables.values() for t in ts)


class SimulatedDays:
    """Drives a `Backend` through simulated days and builds what each day's first quick run would load."""

    def __init__(
        self,
        backend: Backend,
        *,
        window_days: int = DEFAULT_ANALYTICS_WINDOW_DAYS,
        lookback_s: float = LeadPantherSourceConfiguration.cursor_lookback_s,
    ) -> None:
        self.backend = backend
        self.window = timedelta(days=window_days)
        self.lookback_ms = int(lookback_s * 1000)
        self.policy = PiiPolicy()
        # parent route -> (client_id, index) -> record, for records possibly still inside the window
        self.young: dict[str, dict[tuple[str, int], dict[str, Any]]] = {kind: {} for kind in ANALYTICS_PARENTS.values()}
        # A quick run re-reads the rows created or updated within its lookback of the cursor's maxima, and the
        # day's first run asks their analytics too (overlap.py: a window refresh has no gate): per parent route
        # and client, the cursor's (created_max, updated_max) and the rows that can still be in that edge.
        self.maxima: dict[tuple[str, str], tuple[int, int]] = {}
        self.edge: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}

    def active(self) -> list[ClientState]:
        return [c for c in self.backend._client_order() if c.grant["status"] == "active"]

    def start(self, synced_at: datetime) -> None:
        """After the real first load at `synced_at`: note the records young enough for a later window."""
        floor = _ms(synced_at - self.window)
        with self.backend.lock:
            for state in self.active():
                for kind in self.young:
                    rows = list(state.colls[kind].iter_rows("newest", 0, None))
                    for i, rec in rows:
                        if _created(rec) >= floor:
                            self.young[kind][(state.user_id, i)] = rec
                    self.maxima[(kind, state.user_id)] = (0, 0)
                    self._move_edge(kind, state.user_id, rows)

    def _move_edge(self, kind: str, client_id: str, rows: list[tuple[int, dict[str, Any]]]) -> None:
        """The cursor's maxima after a run that read `rows` (and the rows its edge holds)."""
        key = (kind, client_id)
        created_max, updated_max = self.maxima[key]
        for _, rec in rows:
            created_max = max(created_max, _created(rec))
            updated_max = max(updated_max, parse_iso_ms(rec.get("updated_at") or "") or 0)
        self.maxima[key] = (created_max, updated_max)
        edge = {**self.edge.get(key, {}), **dict(rows)}
        self.edge[key] = {
            i: rec
            for i, rec in edge.items()
            if _created(rec) >= created_max - self.lookback_ms
            or (parse_iso_ms(rec.get("updated_at") or "") or 0) >= updated_max - self.lookback_ms
        }

    def next_day(self, plan: DayPlan, day: int) -> dict[str, dict[str, list[str]]]:
        """Advance the emulator's clock a day and insert the day's records; returns route -> client -> ids."""
        self.backend.advance_clock(DAY_MS)
        inserted: dict[str, dict[str, list[str]]] = {}
        for state in self.active():
            for kind, n in plan.inserts(day).items():
                if n:
                    inserted.setdefault(kind, {})[state.user_id] = self.backend.insert(kind, state.user_id, n)
        return inserted

    def day_rows(self, synced_at: datetime, inserted: dict[str, dict[str, list[str]]], into: DayRows) -> None:
        """The rows the first quick run at `synced_at` loads, added to `into`."""
        builder = {t: TableBuilder(t, self.policy, synced_at) for t in (*LIST_RESOURCES, "clients", *ANALYTICS_PARENTS)}
        backend = self.backend
        read: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}  # the new rows past each cursor
        with backend.lock:
            into.clients = builder["clients"].build([c.record() for c in backend._client_order()], None).table
            for kind in LIST_RESOURCES:
                for client_id, ids in inserted.get(kind, {}).items():
                    coll = backend.by_id[client_id].colls[kind]
                    found = [(i, rec) for i, rec in (coll.find(rid) for rid in ids) if rec is not None]
                    built = builder[kind].build([coll.served(rec, i, 0.0) for i, rec in found], client_id).table
                    into.add(kind, built)
                    if kind in self.young:
                        self.young[kind].update(((client_id, i), rec) for i, rec in found)
                        read[(kind, client_id)] = found
                    if kind == "lead_magnets" and built is not None:
                        into.add(LINKED_POSTS_TABLE, linked_posts_table(built))
            floor = _ms(synced_at - self.window)
            day = pa.array([synced_at.astimezone(UTC).date()], pa.date32())
            for resource, kind in ANALYTICS_PARENTS.items():
                young = self.young[kind]
                for key in [k for k, rec in young.items() if _created(rec) < floor]:
                    del young[key]
                asked = dict(young)
                for (edge_kind, client_id), rows in self.edge.items():
                    if edge_kind == kind:
                        asked.update(((client_id, i), rec) for i, rec in rows.items())
                per_client: dict[str, list[dict[str, Any]]] = {}
                for (client_id, i), rec in sorted(asked.items(), key=lambda kv: kv[0]):
                    if kind == "posts" and rec.get("status") not in ENGAGED_POST_STATUSES:
                        continue
                    state = backend.by_id[client_id]
                    per_client.setdefault(client_id, []).append(backend._derived(state, resource, i, rec))
                for client_id, records in per_client.items():
                    built = builder[resource].build(records, client_id).table
                    if built is None:
                        continue
                    into.add(
                        DAILY_TABLES[resource], built.append_column(SNAPSHOT_DATE, pa.repeat(day[0], built.num_rows))
                    )
                    into.latest.setdefault(resource, []).append(built)
        # The run's cursors end at the new rows: the next run's edge (its floors come from the cursor it starts from).
        for (kind, client_id), found in read.items():
            self._move_edge(kind, client_id, found)


def _created(record: dict[str, Any]) -> int:
    return parse_iso_ms(record.get("created_at") or "") or 0


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def resources(rows: DayRows) -> list[Any]:
    """The rows as dlt resources with the source's keys, write dispositions and column hints."""
    tables: dict[str, Iterable[pa.Table]] = dict(rows.tables)
    if rows.clients is not None:
        tables["clients"] = [rows.clients]
    for resource, built in rows.latest.items():
        tables[resource] = [_last_per_key(pa.concat_tables(built), PRIMARY_KEYS[resource])]
    out = []
    for name, items in tables.items():
        disposition: Any = DEDUPLICATED_MERGE if name in LIST_RESOURCES else "merge"
        hints = column_hints(name) if name != LINKED_POSTS_TABLE else None
        out.append(
            dlt.resource(
                list(items),
                name=name,
                primary_key=list(PRIMARY_KEYS[name]),
                write_disposition=disposition,
                columns=hints,
            )
        )
    return out


def _last_per_key(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    """The last row of each key (the latest table of several days holds each record's last day only)."""
    last: dict[tuple[Any, ...], int] = {}
    for n, values in enumerate(zip(*(table.column(k).to_pylist() for k in key), strict=True)):
        last[values] = n
    return table.take(sorted(last.values()))


def write(pipeline: dlt.Pipeline, rows: DayRows) -> None:
    """One dlt load of the rows (one or several simulated days)."""
    info = pipeline.run(resources(rows))
    info.raise_on_failed_jobs()
