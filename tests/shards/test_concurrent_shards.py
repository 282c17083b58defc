"""N shard processes at once into one dataset end with exactly the rows of one unsharded run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from leadpanther_emulator import EmulatorConfig, Faults, run_emulator
from pipelines.leadpanther_pipeline import make_pipeline
from tests.cli.runner import read_until
from tests.conftest import PG_URL, pg_dataset_fixture
from tests.truth import ALL_TABLES, assert_matches_truth, diff_against_truth

BIN = Path(sys.executable).parent / "leadpanther-elt"
SHARDS = 4


def start(emu, tmp_path: Path, *args: str, key: str = "full", env: dict[str, str] | None = None) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    full_env.update(
        SOURCES__LEADPANTHER__API_KEY=emu.keys[key],
        SOURCES__LEADPANTHER__BASE_URL=emu.base_url,
        SOURCES__LEADPANTHER__BACKOFF_S="0.01",
        DESTINATION__POSTGRES__CREDENTIALS=PG_URL,
        DLT_PROJECT_DIR=str(tmp_path),
    )
    full_env.update(env or {})
    return subprocess.Popen(
        [str(BIN), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env, cwd=tmp_path
    )


def run_all_shards(emu, tmp_path: Path, dataset: str, *extra: str) -> list[str]:
    """Start every shard at the same moment; each must exit 0. Returns their outputs."""
    procs = [
        start(emu, tmp_path, "run", "--destination", "postgres", "--dataset", dataset, f"--shard={k}/{SHARDS}", *extra)
        for k in range(1, SHARDS + 1)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for k, (proc, out) in enumerate(zip(procs, outputs, strict=True), start=1):
        assert proc.returncode == 0, f"shard {k}/{SHARDS} exited {proc.returncode}:\n{out}"
        assert "Traceback" not in out, out
    return outputs


def reader(tmp_path: Path, dataset: str):
    """A pipeline only for reading the shared dataset (its schema restored from the destination)."""
    pipeline = make_pipeline(
        "postgres", dataset, credentials=PG_URL, pipelines_dir=tmp_path / "reader", pipeline_name="lp_reader"
    )
    return pipeline


def assert_dataset_matches_truth(emu, tmp_path: Path, dataset: str) -> None:
    pipeline = make_pipeline(
        "postgres", dataset, credentials=PG_URL, pipelines_dir=tmp_path / "pipelines", shard=f"1/{SHARDS}"
    )
    pipeline.sync_destination()
    assert_matches_truth(pipeline, emu, tables=ALL_TABLES)


def sql(query: str, *params) -> list[tuple]:
    con = psycopg2.connect(PG_URL)
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []
    finally:
        con.close()


dataset = pg_dataset_fixture("lp_shards")


@pytest.mark.postgres
@pytest.mark.slow
def test_four_shard_processes_at_once_into_postgres_equal_the_truth(tmp_path: Path, dataset: str) -> None:
    config = EmulatorConfig(seed=41, preset="tiny", clients=24, faults=Faults(latency_ms=5))
    with run_emulator(config, process=True) as emu:
        # First run of every shard at the same moment: all of them create the dataset's tables.
        outputs = run_all_shards(emu, tmp_path, dataset)
        assert all("models not built" in out for out in outputs)
        assert_dataset_matches_truth(emu, tmp_path, dataset)

        # Each shard read its own clients, in its own pipeline and staging dataset.
        rows = sql(f'SELECT shard, count(DISTINCT client_id) FROM "{dataset}".sync_runs '
                   "WHERE resource = 'posts' GROUP BY shard ORDER BY shard")
        assert [r[0] for r in rows] == [f"{k}/{SHARDS}" for k in range(1, SHARDS + 1)]
        assert sum(r[1] for r in rows) == len(emu.client_ids())  # also the clients without an active grant
        states = sql(f'SELECT DISTINCT pipeline_name FROM "{dataset}"._dlt_pipeline_state ORDER BY 1')
        assert [s[0] for s in states] == [f"leadpanther_shard_{k}" for k in range(1, SHARDS + 1)]
        staging = sql("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY 1", f"{dataset}\\_staging%")
        assert [s[0] for s in staging] == [f"{dataset}_staging_shard_{k}" for k in range(1, SHARDS + 1)]

        # The data moves: new, changed and deleted rows; the next concurrent (reconciling) run follows it.
        active = emu.client_ids("active")
        deleted = []
        for client_id in active[:6]:
            emu.insert("posts", client_id, 2)
            emu.update("leads", client_id, 2)
            deleted += emu.delete("activity", client_id, 2)
        run_all_shards(emu, tmp_path, dataset, "--mode", "reconcile")
        assert_dataset_matches_truth(emu, tmp_path, dataset)
        marked = sql(f'SELECT id FROM "{dataset}".activity WHERE _lp_deleted_at IS NOT NULL')
        assert sorted(r[0] for r in marked) == sorted(deleted)

    # Models once, over every shard's rows.
    proc = start(emu, tmp_path, "transform", "--destination", "postgres", "--dataset", dataset)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out
    posts = sql(f'SELECT count(*) FROM "{dataset}".posts WHERE _lp_deleted_at IS NULL')[0][0]
    models = sql(f'SELECT count(*) FROM "{dataset}_models".fct_post_engagement')[0][0]
    assert posts == models > 0


def wait_for_lock(db: Path) -> None:
    lock = db.with_name(db.name + ".lock")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.05)


@pytest.mark.slow
def test_shards_on_one_duckdb_file_queue_and_a_refusal_names_the_holder(tmp_path: Path) -> None:
    """DuckDB has one writer per file: a second shard waits for the first (lock_wait_s), or, told not to
    wait, is refused at once with the holder named; never two writers, and afterwards every row is there."""
    # The first shard holds the file for as long as the test needs, however slow the machine: every API
    # request takes 5 s until the others have been refused and queued, then the emulator answers at once.
    config = EmulatorConfig(seed=42, preset="tiny", clients=8, faults=Faults(latency_ms=5000))
    db = tmp_path / "shared.duckdb"
    with run_emulator(config, process=True) as emu:
        first = start(emu, tmp_path, "run", "--duckdb-path", str(db), "--shard", "1/2")
        wait_for_lock(db)
        refused = start(emu, tmp_path, "run", "--duckdb-path", str(db), "--shard", "2/2",
                        env={"DESTINATION__DUCKDB__LOCK_WAIT_S": "0"})
        out = refused.communicate(timeout=120)[0]
        assert refused.returncode == 4, out
        assert "DuckDB allows one writer per file" in out and f"pid {first.pid}" in out, out
        assert "Traceback" not in out
        queued = start(emu, tmp_path, "run", "--duckdb-path", str(db), "--shard", "2/2")
        waiting = read_until(queued.stdout, "waiting up to")
        emu.set_faults(Faults())
        out2 = waiting + queued.communicate(timeout=300)[0]
        out1 = first.communicate(timeout=300)[0]
        assert first.returncode == 0, out1
        assert queued.returncode == 0, out2
        assert "waiting up to" in out2 and "has finished" in out2, out2
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            loaded = con.execute("SELECT count(DISTINCT client_id) FROM leadpanther.posts").fetchall()[0][0]
            shards = con.execute("SELECT DISTINCT shard FROM leadpanther.sync_runs ORDER BY 1").fetchall()
        assert loaded == len(emu.client_ids("active"))
        assert [r[0] for r in shards] == ["1/2", "2/2"]


@pytest.mark.postgres
def test_a_table_creation_race_is_retried_until_the_load_goes_through(
    tmp_path: Path, dataset: str, monkeypatch
) -> None:
    """The race: another session's CREATE TABLE sync_runs made the row type `sync_runs` first (PostgreSQL
    then fails ours on pg_type_typname_nsp_index, or says it already exists). Here a type of that name stands
    in for the other session's table, and goes away while the loser pauses before its retry."""
    from pipelines import schema_race
    from tests.truth import sync

    real_pause = schema_race.pause

    def other_session_commits_meanwhile(seconds: float) -> None:
        sql(f'DROP TYPE IF EXISTS "{dataset}".sync_runs')
        real_pause(seconds)

    monkeypatch.setattr(schema_race, "pause", other_session_commits_meanwhile)
    sql(f'CREATE SCHEMA "{dataset}"; CREATE TYPE "{dataset}".sync_runs AS (x int)')
    pipeline = make_pipeline(
        "postgres", dataset, credentials=PG_URL, pipelines_dir=tmp_path / "pipelines", shard="1/1"
    )
    with run_emulator(EmulatorConfig(seed=43, preset="tiny")) as emu:
        result = sync(pipeline, emu, resources=["clients", "posts"], shard="1/1")
        assert result.error is None and result.exit_code == 0, result.summary_lines()
        assert len(result.schema_retries) == 1 and '"sync_runs" already exists' in result.schema_retries[0]
        assert any("load retried 1 time(s)" in line for line in result.summary_lines())
        assert not diff_against_truth(pipeline, emu, "posts", emu.client_ids("active"))


@pytest.mark.postgres
def test_a_schema_update_that_keeps_failing_fails_the_run_with_dlts_reason(
    tmp_path: Path, dataset: str, monkeypatch
) -> None:
    from pipelines import schema_race
    from tests.truth import sync

    monkeypatch.setattr(schema_race, "SCHEMA_RACE_RETRIES", 2)
    sql(f'CREATE SCHEMA "{dataset}"; CREATE TYPE "{dataset}".sync_runs AS (x int)')
    pipeline = make_pipeline("postgres", dataset, credentials=PG_URL, pipelines_dir=tmp_path / "pipelines")
    with run_emulator(EmulatorConfig(seed=43, preset="tiny")) as emu:
        result = sync(pipeline, emu, resources=["clients"])
    assert result.exit_code == 1
    assert "cannot update tables" in str(result.error) and "sync_runs" in str(result.error), result.summary_lines()
