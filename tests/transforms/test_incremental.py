"""The incremental marts equal a full refresh, row for row, on DuckDB and PostgreSQL, over simulated days with new
records, updates, deletions (a reconciliation's `_lp_deleted_at`, a deleted first snapshot), comments and leads
created days before the run that loads them, and rows committed late (a run that started before the models'
newest day, loaded after they were built)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

pytest.importorskip("pipelines.leadpanther_pipeline")
from conftest import PG_URL, pg_drop  # noqa: E402

from leadpanther_emulator import EmulatorConfig, run_emulator  # noqa: E402
from leadpanther_emulator.generator import DAY_MS  # noqa: E402
from pipelines.leadpanther_pipeline import make_pipeline, run_sync  # noqa: E402
from transforms import run_transforms  # noqa: E402
from transforms.runner import dbt_work_dir  # noqa: E402

INCREMENTAL = ("fct_post_engagement_daily", "int_leadpanther__lead_magnet_deliveries_daily", "fct_lead_funnel")
SELECT = " ".join(f"+{m}" for m in INCREMENTAL)


def _rows(pipeline, schema: str) -> dict[str, list[tuple]]:
    with pipeline.sql_client() as sql:
        return {m: sorted(map(tuple, sql.execute_sql(f"select * from {schema}.{m}")), key=repr) for m in INCREMENTAL}


def _build_both_ways(pipeline, step: str) -> dict[str, int]:
    """Incremental build, then a full refresh: every row of every incremental model equal. The full refresh
    leaves the same rows, so the next step's incremental build starts from what the incremental chain made."""
    incremental = run_transforms(pipeline, select=SELECT, command="run")
    target = dbt_work_dir(pipeline) / "target"
    for model in INCREMENTAL:  # the run took the incremental path: chosen records rebuilt, then replaced
        compiled = next((target / "compiled").rglob(f"{model}.sql")).read_text()
        applied = next((target / "run").rglob(f"{model}.sql")).read_text()
        incremental_path = "rebuilt_" in compiled and applied.lstrip().startswith("delete from")
        assert incremental_path, f"{step}: {model} not built incrementally"
    got = _rows(pipeline, incremental.models_schema)
    # the incremental models alone: what they read was just built by the run above and is unchanged
    full = run_transforms(pipeline, select=" ".join(INCREMENTAL), command="run", full_refresh=True)
    expected = _rows(pipeline, full.models_schema)
    for model in INCREMENTAL:
        assert got[model] == expected[model], f"{step}: {model} differs from a full refresh"
    return {m: len(rows) for m, rows in expected.items()}


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_incremental_marts_equal_a_full_refresh(tmp_path, destination) -> None:
    name = f"inc_{uuid.uuid4().hex[:8]}"
    options = {"credentials": PG_URL} if destination == "postgres" else {"duckdb_path": tmp_path / "inc.duckdb"}
    pipeline = make_pipeline(
        destination, dataset_name=name, pipelines_dir=tmp_path / "pipes", pipeline_name=name, **options
    )
    try:
        with run_emulator(EmulatorConfig(seed=61, preset="tiny", posts_per_client=40)) as emu:
            from datetime import UTC, datetime

            day0 = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
            run = {"api_key": emu.keys["full"], "base_url": emu.base_url, "transform": False, "backoff_s": 0.01}
            first, second = emu.client_ids("active")[:2]

            def sync(day: float, mode: str = "quick", **extra) -> None:
                assert (
                    run_sync(pipeline, mode=mode, synced_at=day0 + timedelta(days=day), **run, **extra).exit_code == 0
                )

            sync(0, "auto")
            run_transforms(pipeline, select=SELECT, command="run")  # the first build (a table from scratch)
            for client in (first, second):  # day 1, a reconciliation: new records, updates, deletions marked
                emu.insert("posts", client, 4)
                emu.insert("lead_magnets", client, 2)
                emu.update("posts", client, 2)
                emu.delete("posts", client, 2)
                emu.delete("lead_magnets", client, 1)
                emu.insert("leads", client, 3)
                emu.update("leads", client, 2)
                emu.delete("leads", client, 1)
                emu.insert("activity", client, 4)
                emu.delete("activity", client, 1)
            emu.advance_clock(DAY_MS)
            sync(1, "reconcile")
            counts = [_build_both_ways(pipeline, "day 1")]

            # Day 5 (past the lookback): a quick run with updates and new posts; a post row and a snapshot that is
            # not its first marked deleted, and the first snapshot day of one client (its history start moves).
            emu.advance_clock(4 * DAY_MS)
            for client in (first, second):
                emu.insert("posts", client, 2)
                emu.update("posts", client, 2)
                emu.update("lead_magnets", client, 1)
                emu.update("leads", client, 2)
                # comments and leads created days ago, committed now: their old days' rows are rebuilt
                emu.insert("activity", client, 3, created_ms=emu.now_ms() - 3 * DAY_MS)
                emu.insert("leads", client, 2, created_ms=emu.now_ms() - 4 * DAY_MS)
            emu.add_client()  # a client joins the models' clients with its whole history: rebuilt in full
            sync(5)
            daily = f"{name}.post_engagement_daily"
            with pipeline.sql_client() as sql:
                published = sql.execute_sql(
                    f"select min(id) from {name}.posts where client_id = '{second}' and status = 'published'"
                )[0][0]
                tracked = sql.execute_sql(  # a post with a snapshot today and an earlier one
                    f"select max(post_id) from {daily} where client_id = '{second}' and snapshot_date = "
                    f"(select max(snapshot_date) from {daily}) and post_id in (select post_id from {daily} "
                    f"where snapshot_date < (select max(snapshot_date) from {daily}))"
                )[0][0]
                assert published and tracked
                for table, where in (
                    (f"{name}.posts", f"client_id = '{second}' and id = '{published}'"),
                    (
                        daily,
                        f"client_id = '{second}' and post_id = '{tracked}' and snapshot_date = "
                        f"(select max(snapshot_date) from {daily})",
                    ),
                    (
                        daily,
                        f"client_id = '{first}' and snapshot_date = "
                        f"(select min(snapshot_date) from {daily} where client_id = '{first}')",
                    ),
                ):
                    sql.execute_sql(
                        f"update {table} set _lp_deleted_at = _lp_synced_at + interval '1 hour' where {where}"
                    )
            counts.append(_build_both_ways(pipeline, "day 5"))

            # Day 9: one client's run, the models built, then a late run of the other (started on day 8, so its
            # snapshots are day 8's, committed after the build saw day 9).
            emu.advance_clock(4 * DAY_MS)
            emu.insert("posts", second, 2)
            sync(9, clients=[first])
            run_transforms(pipeline, select=SELECT, command="run")
            sync(8.75, clients=[second])
            counts.append(_build_both_ways(pipeline, "day 9, late rows"))

            # Day 14 (past the lookback again): one client's comments and leads created 9 and 10 days ago arrive,
            # on days no other change of this run touches.
            emu.advance_clock(5 * DAY_MS)
            emu.insert("activity", first, 6, created_ms=emu.now_ms() - 9 * DAY_MS)
            emu.insert("leads", first, 3, created_ms=emu.now_ms() - 10 * DAY_MS)
            sync(14, clients=[first])
            # and the other client (not synced today, none of its rows loaded again) loses its first lead magnet
            # snapshot: its lead magnets' history start moves, so every funnel day of it is rebuilt
            magnets_daily = f"{name}.lead_magnet_analytics_daily"
            with pipeline.sql_client() as sql:
                sql.execute_sql(
                    f"update {magnets_daily} set _lp_deleted_at = cast('{(day0 + timedelta(days=14)).isoformat()}' "
                    f"as timestamp with time zone) where client_id = '{second}' and snapshot_date = "
                    f"(select min(snapshot_date) from {magnets_daily} where client_id = '{second}')"
                )
            counts.append(_build_both_ways(pipeline, "day 14, backdated comments and leads, a history start moved"))
    finally:
        if destination == "postgres":
            pg_drop(name)
    assert all(all(c.values()) for c in counts), counts
    assert counts[0]["fct_post_engagement_daily"] > 0
