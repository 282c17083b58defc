"""The history benchmark's generated days (bench/history_days.py) against real loads: for three simulated days
after a first load, the rows the generator writes straight into one DuckDB file equal what real quick runs over
HTTP load into another, from the same emulator on the same days."""

from __future__ import annotations

from datetime import timedelta

import pytest

pytest.importorskip("pipelines.leadpanther_pipeline")
from conftest import history_pipeline  # noqa: E402

from bench.history_days import DayPlan, DayRows, SimulatedDays, write  # noqa: E402
from leadpanther_emulator import EmulatorConfig, run_emulator  # noqa: E402
from pipelines.leadpanther_pipeline import run_sync  # noqa: E402
from sources.leadpanther.settings import DAILY_TABLES, LINKED_POSTS_TABLE, LIST_RESOURCES, raw_tables  # noqa: E402

SNAPSHOT_TABLES = (*DAILY_TABLES, *DAILY_TABLES.values())


def _rows(pipeline, table: str, with_synced_at: bool) -> set[tuple]:
    columns = [c for c in raw_tables()[table] if with_synced_at or c != "_lp_synced_at"]
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql(f"select {', '.join(columns)} from {pipeline.dataset_name}.{table}")
    return {tuple(r) for r in rows}


def test_generated_days_equal_real_quick_runs(tmp_path) -> None:
    # Day 1 inserts no lead magnet (the quick run re-asks the old edge's), day 2 does, day 3 re-asks the new ones.
    plan = DayPlan(posts=3, leads=4, activity=5, lead_magnet_every=2)
    with run_emulator(EmulatorConfig(seed=23, preset="tiny", posts_per_client=60)) as emu:
        real, options, day0 = history_pipeline(emu, tmp_path, "real")
        generated, _, _ = history_pipeline(emu, tmp_path, "gen")
        for pipeline in (real, generated):
            assert run_sync(pipeline, mode="auto", synced_at=day0, **options).exit_code == 0
        days = SimulatedDays(emu.backend)
        days.start(day0)
        for day in (1, 2, 3):
            synced_at = day0 + timedelta(days=day)
            inserted = days.next_day(plan, day)
            rows = DayRows()
            days.day_rows(synced_at, inserted, rows)
            write(generated, rows)
            assert run_sync(real, mode="quick", synced_at=synced_at, **options).exit_code == 0
    compared = {}
    for table in (*SNAPSHOT_TABLES, *LIST_RESOURCES, LINKED_POSTS_TABLE, "clients"):
        # Snapshots carry the run that took them; list rows may be re-read (a newer _lp_synced_at) by a quick
        # run's cursor lookback, which the generator does not repeat.
        expected = _rows(real, table, with_synced_at=table in SNAPSHOT_TABLES)
        assert _rows(generated, table, with_synced_at=table in SNAPSHOT_TABLES) == expected, table
        compared[table] = len(expected)
    with real.sql_client() as sql:
        per_day = dict(
            sql.execute_sql(f"select snapshot_date, count(*) from {real.dataset_name}.post_engagement_daily group by 1")
        )
    assert len(per_day) == 4 and all(per_day.values()), per_day  # a snapshot every day, from real loads
    assert compared["lead_magnets"] > 0 and compared[LINKED_POSTS_TABLE] > 0, compared
