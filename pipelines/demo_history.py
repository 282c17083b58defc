"""The demo's simulated history: the first load, then one quick run per simulated week on the emulator's clock.

A single run has no previous snapshot to gain from, so its weekly engagement charts are empty. The demo
therefore loads the emulator once (its clock's day 0), then, `weeks` times, moves the emulator's clock a week
on, lets each active client publish posts, open a lead magnet and get comments and leads (as a week of a real
account would), and runs a quick sync dated that simulated day. Young posts and lead magnets get a snapshot on
every run, so the report shows a gain in every simulated week. Only the last run builds the models: dbt is the
slowest step of a small run, and the models read the whole history either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from leadpanther_emulator.generator import DAY_MS

DEFAULT_HISTORY_WEEKS = 6
# what each active client does in a simulated week (kept small: each row is read and loaded once more)
WEEKLY_ACTIVITY = {"posts": 3, "lead_magnets": 1, "activity": 25, "leads": 8}


def simulate_week(emu: Any) -> None:
    """One simulated week of new records for every active client, stamped with the emulator's clock."""
    for client_id in emu.client_ids("active"):
        for resource, rows in WEEKLY_ACTIVITY.items():
            emu.insert(resource, client_id, rows)


def run_demo_history(
    emu: Any,
    pipeline: Any,
    run_sync: Callable[..., Any],
    *,
    weeks: int = DEFAULT_HISTORY_WEEKS,
    progress: Callable[[str], None] | None = None,
    **sync_options: Any,
) -> Any:
    """The first load (a full refresh, models built only when `weeks` is 0), then `weeks` quick runs a
    simulated week apart, the last one building the models. Stops at the first run that does not exit 0 or 3
    and returns its result; otherwise returns the last run's."""
    day0 = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
    result = run_sync(
        pipeline, full_refresh=True, synced_at=day0, transform=weeks == 0, progress=progress, **sync_options
    )
    for week in range(1, weeks + 1):
        if result.exit_code not in (0, 3):
            return result
        emu.advance_clock(7 * DAY_MS)
        simulate_week(emu)
        synced_at = day0 + timedelta(weeks=week)
        if progress is not None:
            progress(f"demo history: simulated week {week} of {weeks} ({synced_at.date().isoformat()})")
        result = run_sync(
            pipeline, mode="quick", synced_at=synced_at, transform=week == weeks, progress=progress, **sync_options
        )
    return result
