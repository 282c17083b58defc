"""`sync_runs` stays bounded: rows older than `sync_runs_retention_days` are deleted after each load, on
DuckDB and PostgreSQL, and a bad value is refused before any request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.leadpanther_pipeline import make_pipeline, run_sync
from sources.leadpanther.helpers.errors import ConfigError
from tests.cli.runner import api_env, assert_no_traceback, cli, output
from tests.conftest import PG_URL, drop_pg_schemas


def _rows_by_day(pipeline) -> dict[object, int]:
    with pipeline.sql_client() as sql:
        table = sql.make_qualified_table_name("sync_runs")
        rows = sql.execute_sql(f"SELECT synced_at, count(*) FROM {table} GROUP BY synced_at")
    return {r[0].astimezone(UTC).date(): int(r[1]) for r in rows}


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rows_older_than_the_retention_are_deleted(destination: str, tmp_path) -> None:
    name = f"ret_{uuid.uuid4().hex[:8]}"
    if destination == "duckdb":
        pipeline = make_pipeline("duckdb", name, duckdb_path=tmp_path / "r.duckdb", pipelines_dir=tmp_path / "p",
                                 pipeline_name=name)
    else:
        pipeline = make_pipeline("postgres", name, credentials=PG_URL, pipelines_dir=tmp_path / "p",
                                 pipeline_name=name)
    day0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
    try:
        with run_emulator(EmulatorConfig(seed=5, preset="tiny")) as emu:
            options = {"api_key": emu.keys["full"], "base_url": emu.base_url, "transform": False,
                       "resources": ["clients", "posts"], "sync_runs_retention_days": 60}
            counts = []
            for offset in (0, 40, 100):
                result = run_sync(pipeline, synced_at=day0 + timedelta(days=offset), **options)
                assert result.error is None, result.error
                counts.append(result.sync_runs_pruned)
                by_day = _rows_by_day(pipeline)
        # day 100 keeps day 40 (60 days before) and itself; day 0's rows are gone, deleted by that run
        assert set(by_day) == {(day0 + timedelta(days=40)).date(), (day0 + timedelta(days=100)).date()}
        assert counts[0] == counts[1] == 0 and counts[2] > 0
        assert all(n > 0 for n in by_day.values())
    finally:
        if destination == "postgres":
            drop_pg_schemas(name)


def test_bad_retention_is_refused_before_any_request(tmp_path) -> None:
    with run_emulator(EmulatorConfig(seed=5, preset="tiny")) as emu:
        pipeline = make_pipeline("duckdb", "retention", duckdb_path=tmp_path / "r.duckdb", pipelines_dir=tmp_path / "p")
        result = run_sync(pipeline, api_key=emu.keys["full"], base_url=emu.base_url, sync_runs_retention_days=0)
        assert isinstance(result.error, ConfigError) and "sync_runs_retention_days" in str(result.error)
        env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path), "SOURCES__LEADPANTHER__SYNC_RUNS_RETENTION_DAYS": "-3"}
        out = cli("run", "--duckdb-path", str(tmp_path / "c.duckdb"), env=env)
        assert emu.request_counts().get("total", 0) == 0
    assert out.returncode == 2 and "sync_runs_retention_days" in out.stdout, output(out)
    assert_no_traceback(out)
