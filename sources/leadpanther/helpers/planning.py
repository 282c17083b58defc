"""How to read one client-route this run, and what its cursor says afterwards.

The cursor (kept per client and route in dlt state) is the planner's own format: only this module reads or
writes its fields, so the rules of README's "How incremental loading works" live here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..settings import CURSOR_FIELD, ROUTE_PATHS
from .pages import NEWEST_FIRST, OLDEST_FIRST, ScanOutcome, ScanSpec
from .records import parse_ts


@dataclass(frozen=True)
class IncrementalRules:
    """The run's settings that decide between a full and a quick scan."""

    mode: str  # auto | quick | reconcile
    reconcile_every_runs: int
    reconcile_max_age: timedelta
    lookback: timedelta
    page_size: int
    analytics_window: timedelta = timedelta(days=30)


@dataclass
class ScanPlan:
    run_mode: str  # initial | quick | reconcile
    spec: ScanSpec


class ScanPlanner:
    """Chooses initial full load, quick scan (early stop or filtered) or reconciliation per client-route."""

    def __init__(self, rules: IncrementalRules, synced_at: datetime) -> None:
        self.rules = rules
        self.synced_at = synced_at

    def plan(
        self, resource: str, client_id: str, cursor: dict[str, Any] | None, *, analytics: str | None = None
    ) -> ScanPlan:
        """`analytics`: None when no analytics hang on this route, "changed" to refresh the records the scan
        emits, "window" to refresh also every record younger than the analytics window (first run of a day)."""
        rules = self.rules
        path = ROUTE_PATHS[resource].format(client_id=client_id)
        spec = ScanSpec(resource, path, client_id, rules.page_size, early_stop=False)
        if analytics is not None:
            spec.window_floor = self.synced_at - rules.analytics_window
        if not cursor:
            return ScanPlan("initial", spec)
        if self._reconcile_due(cursor):
            return ScanPlan("reconcile", spec)
        created = parse_ts(cursor.get("created_max"))
        updated = parse_ts(cursor.get("updated_max"))
        spec.created_floor = created - rules.lookback if created else None
        if CURSOR_FIELD[resource] == "updated_at":
            spec.updated_floor = updated - rules.lookback if updated else None
        if spec.created_floor is None and spec.updated_floor is None:
            return ScanPlan("initial", spec)
        if analytics == "window":
            spec.young_floor = spec.window_floor
        order = cursor.get("order")
        spec.early_stop = order == NEWEST_FIRST and spec.created_floor is not None
        if order == OLDEST_FIRST:
            _start_at_tail(spec, cursor, window=analytics == "window")
        return ScanPlan("quick", spec)

    def _reconcile_due(self, cursor: dict[str, Any]) -> bool:
        mode = self.rules.mode
        if mode == "reconcile":
            return True
        if mode != "auto":
            return False
        runs = int(cursor.get("runs_since_full", 0))
        last_full = parse_ts(cursor.get("last_full_at"))
        return (
            runs + 1 >= self.rules.reconcile_every_runs
            or last_full is None
            or self.synced_at - last_full >= self.rules.reconcile_max_age
        )

    def advance(self, previous: dict[str, Any] | None, outcome: ScanOutcome, run_mode: str) -> dict[str, Any]:
        """New cursor for a client-route; only called when its scan completed."""
        previous = previous or {}
        full = run_mode in ("initial", "reconcile")
        order = outcome.order if outcome.order != "unknown" else previous.get("order", "unknown")
        cursor = {
            "created_max": _later(previous.get("created_max"), outcome.created_max),
            "updated_max": _later(previous.get("updated_max"), outcome.updated_max),
            "order": order,
            "last_full_at": self.synced_at.isoformat() if full else previous.get("last_full_at"),
            "runs_since_full": 0 if full else int(previous.get("runs_since_full", 0)) + 1,
        }
        # Where an oldest-first route ends, and where its analytics window starts: the next quick run's start.
        # Only oldest-first routes read from a tail: other routes keep no offsets or ids (two row ids a cursor
        # are ~40% of the stored state at 10,000 clients).
        if order != OLDEST_FIRST:
            return cursor
        if outcome.end_offset is not None:
            cursor["end_offset"], cursor["tail_ids"] = outcome.end_offset, list(outcome.tail_ids)
        elif "end_offset" in previous:
            cursor["end_offset"], cursor["tail_ids"] = previous["end_offset"], previous.get("tail_ids", [])
        window_offset = outcome.window_offset if outcome.window_offset is not None else previous.get("window_offset")
        if window_offset is not None:
            cursor["window_offset"] = window_offset
        return cursor


def _start_at_tail(spec: ScanSpec, cursor: dict[str, Any], *, window: bool) -> None:
    """An oldest-first quick run starts where the last run ended (checking the two rows it saw last), or,
    to refresh the analytics window, before its first row (checking that row is older than the window)."""
    end = cursor.get("end_offset")
    tail_ids = cursor.get("tail_ids")
    if not isinstance(end, int) or end <= 0 or not isinstance(tail_ids, list) or not tail_ids:
        return  # no tail known: filtered full scan
    window_offset = cursor.get("window_offset")
    if not window:
        spec.start_offset, spec.start_ids = end, tuple(tail_ids)
    elif isinstance(window_offset, int) and window_offset > 0:
        if window_offset >= end - len(tail_ids):  # nothing in the window but what comes after the tail
            spec.start_offset, spec.start_ids = end, tuple(tail_ids)
        else:
            spec.start_offset, spec.start_older_than = window_offset, spec.window_floor


def _later(old: Any, new: datetime | None) -> str | None:
    old_ts = parse_ts(old)
    best = max((t for t in (old_ts, new) if t is not None), default=None)
    return best.isoformat() if best else None
