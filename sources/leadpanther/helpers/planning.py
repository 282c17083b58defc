"""How to read one client-route this run, and what its cursor says afterwards.

The cursor (kept per client and route in dlt state) is the planner's own format: only this module reads or
writes its fields, so the rules of README's "How incremental loading works" live here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..settings import CURSOR_FIELD, ROUTE_PATHS
from .pages import NEWEST_FIRST, ScanOutcome, ScanSpec
from .records import parse_ts


@dataclass(frozen=True)
class IncrementalRules:
    """The run's settings that decide between a full and a quick scan."""

    mode: str  # auto | quick | reconcile
    reconcile_every_runs: int
    reconcile_max_age: timedelta
    lookback: timedelta
    page_size: int


@dataclass
class ScanPlan:
    run_mode: str  # initial | quick | reconcile
    spec: ScanSpec


class ScanPlanner:
    """Chooses initial full load, quick scan (early stop or filtered) or reconciliation per client-route."""

    def __init__(self, rules: IncrementalRules, synced_at: datetime) -> None:
        self.rules = rules
        self.synced_at = synced_at

    def plan(self, resource: str, client_id: str, cursor: dict[str, Any] | None) -> ScanPlan:
        rules = self.rules
        path = ROUTE_PATHS[resource].format(client_id=client_id)
        spec = ScanSpec(resource, path, client_id, rules.page_size, early_stop=False)
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
        spec.early_stop = cursor.get("order") == NEWEST_FIRST and spec.created_floor is not None
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
        return {
            "created_max": _later(previous.get("created_max"), outcome.created_max),
            "updated_max": _later(previous.get("updated_max"), outcome.updated_max),
            "order": order,
            "last_full_at": self.synced_at.isoformat() if full else previous.get("last_full_at"),
            "runs_since_full": 0 if full else int(previous.get("runs_since_full", 0)) + 1,
        }


def _later(old: Any, new: datetime | None) -> str | None:
    old_ts = parse_ts(old)
    best = max((t for t in (old_ts, new) if t is not None), default=None)
    return best.isoformat() if best else None
