"""Each expected failure class: its documented exit code, one line to act on, and never a Python traceback.
README "Exit codes" lists the same classes. Each exit code is seen once from the console script as a user
runs it (a subprocess: `cli`), and so is every class whose point is the process (a DuckDB file held by another
one); set-up runs and further cases of a class run in this process (`cli_here`)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from tests.cli.runner import api_env, assert_no_traceback, cli, cli_here, cli_until, output
from tests.transforms.conftest import load_raw, small_raw


@pytest.fixture(scope="module")
def emu():
    with run_emulator(EmulatorConfig(seed=41, preset="tiny")) as emulator:
        yield emulator


def test_rejected_key_exits_1(emu, tmp_path: Path) -> None:
    env = {**api_env(emu, "lp_live_wrongwrongwrong00000000"), "DLT_PROJECT_DIR": str(tmp_path)}
    out = cli("run", "--duckdb-path", str(tmp_path / "k.duckdb"), env=env)
    assert out.returncode == 1, output(out)
    assert "rejected the API key" in out.stdout and "exit 1" in out.stdout
    assert "lp_live_wrongwrongwrong" not in output(out)
    assert_no_traceback(out)


def test_bad_config_value_exits_2_naming_it(emu, tmp_path: Path) -> None:
    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path), "SOURCES__LEADPANTHER__MODE": "sometimes"}
    out = cli("run", "--duckdb-path", str(tmp_path / "c.duckdb"), env=env)
    assert out.returncode == 2, output(out)
    assert "mode must be one of auto, quick, reconcile, got 'sometimes'" in out.stdout
    assert_no_traceback(out)


def _raw_into(db: Path, tmp_path: Path, data: dict) -> None:
    """Raw tables as dlt loads them, with a planted upstream defect, in the DuckDB file."""
    import dlt

    pipeline = dlt.pipeline(
        f"raw_{uuid.uuid4().hex[:8]}",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="leadpanther",
        pipelines_dir=str(tmp_path / "raw_pipelines"),
    )
    load_raw(pipeline, data)


def _engagement(data: dict, impressions: int) -> dict:
    post = data["posts"][0]
    data["post_engagement"] = [
        {
            "client_id": post["client_id"],
            "post_id": post["id"],
            "impressions": impressions,
            "reactions": 2,
            "comments": 1,
            "reposts": 0,
            "clicks": 1,
            "captured_at": "2025-01-06T10:00:00+00:00",
            "_lp_synced_at": "2025-01-06T10:00:00+00:00",
        }
    ]
    return data


def _transform(tmp_path: Path, data: dict, run=cli_here) -> subprocess.CompletedProcess:
    db = tmp_path / "tests.duckdb"
    _raw_into(db, tmp_path, data)
    return run("transform", "--duckdb-path", str(db), env={"DLT_PROJECT_DIR": str(tmp_path)})


def test_warn_tests_failing_are_listed_and_exit_0_and_a_ratio_above_one_is_kept(tmp_path: Path) -> None:
    """Warn-severity failures are listed and the run exits 0. engagements / impressions above 1 (a
    low-impression post) is data: the model keeps the rate, and only the notice counting such posts warns.
    The same severities on PostgreSQL: tests/transforms/test_models_unit.py (planted defects)."""
    data = _engagement(small_raw(), impressions=-5)  # a negative figure: a range test warns
    other = data["posts"][1]
    data["post_engagement"].append(
        {**data["post_engagement"][0], "client_id": other["client_id"], "post_id": other["id"], "impressions": 2}
    )  # 4 engagements / 2 impressions
    out = _transform(tmp_path, data)
    assert out.returncode == 0, output(out)
    assert "WARN  lp_accepted_range(impressions) on stg_leadpanther__post_engagement: 1 failing row(s)" in out.stdout
    assert "WARN  lp_accepted_range(impressions) on fct_post_engagement: 1 failing row(s)" in out.stdout
    assert "WARN  lp_ratio_above_one(engagement_rate) on fct_post_engagement: 1 failing row(s)" in out.stdout
    assert "0 failed (error), 3 warning(s)" in out.stdout
    assert_no_traceback(out)
    with duckdb.connect(str(tmp_path / "tests.duckdb"), read_only=True) as con:
        rates = con.execute(
            "select engagement_rate from leadpanther_models.fct_post_engagement where impressions > 0"
        ).fetchall()
    assert rates == [(2.0,)]


def test_error_test_failing_exits_3_after_the_summary(tmp_path: Path) -> None:
    data = copy.deepcopy(small_raw())
    data["posts"][0]["id"] = None  # a post without id reaches staging: its key is NULL
    out = _transform(tmp_path, data, run=cli)  # exit 3 from the console script
    assert out.returncode == 3, output(out)
    lines = out.stdout.splitlines()
    error_line = next(i for i, line in enumerate(lines) if "ERROR lp_primary_key(client_id, post_id)" in line)
    assert "on stg_leadpanther__posts" in lines[error_line]
    assert lines[-1].startswith("exit 3: ") and "error-severity data test(s) failed" in lines[-1]
    assert error_line < len(lines) - 1
    assert_no_traceback(out)


@pytest.mark.postgres
def test_postgres_refusing_connections_exits_4(emu, tmp_path: Path) -> None:
    env = {
        **api_env(emu),
        "DLT_PROJECT_DIR": str(tmp_path),
        "DESTINATION__POSTGRES__CREDENTIALS": "postgresql://postgres:postgres@127.0.0.1:1/test",
    }
    out = cli("run", "--destination", "postgres", "--dataset", f"lp_closed_{os.getpid()}", env=env)
    assert out.returncode == 4, output(out)
    assert "cannot connect to the postgres destination" in out.stdout and "Connection refused" in out.stdout
    assert "postgres:postgres@" not in output(out)  # the credentials never echo
    assert_no_traceback(out)


HOLDER = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('holding', flush=True); "
    "time.sleep(float(sys.argv[2]))"
)


def _hold(db: Path, seconds: float) -> subprocess.Popen:
    duckdb.connect(str(db)).close()  # the file exists, as after an earlier run
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_duckdb_locked_past_the_wait_exits_4_naming_the_holder(emu, tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    holder = _hold(db, 120)
    try:
        env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path), "DESTINATION__DUCKDB__LOCK_WAIT_S": "2"}
        started = time.monotonic()
        out = cli("run", "--duckdb-path", str(db), env=env)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode == 4, output(out)
    assert f"is locked by {sys.executable}" in out.stdout or f"(PID {holder.pid})" in out.stdout, out.stdout
    assert f"(PID {holder.pid})" in out.stdout and "lock_wait_s" in out.stdout
    assert elapsed >= 2, elapsed
    assert_no_traceback(out)


def test_what_a_locked_out_run_extracted_is_loaded_by_the_next(emu, tmp_path: Path) -> None:
    db = tmp_path / "pending.duckdb"
    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path), "DESTINATION__DUCKDB__LOCK_WAIT_S": "1"}
    assert cli_here("run", "--duckdb-path", str(db), "--no-transform", env=env).returncode == 0
    emu.insert("leads", emu.client_ids("active")[1], 4)
    holder = _hold(db, 120)
    try:
        locked_out = cli("run", "--duckdb-path", str(db), "--no-transform", env=env)
    finally:
        holder.kill()
        holder.wait()
    assert locked_out.returncode == 4, output(locked_out)
    assert "extracting while waiting for it" in locked_out.stderr
    assert list((tmp_path / "data" / "pipelines" / "leadpanther" / "load" / "normalized").iterdir())
    emu.reset_request_log()
    out = cli_here("run", "--duckdb-path", str(db), "--no-transform", env=env)
    assert out.returncode == 0, output(out)
    assert "load package(s) an earlier run had extracted but not loaded" in out.stdout  # data + run records
    assert emu.request_counts().get("total", 0) > 0  # and it extracted anew, not only the old package
    with duckdb.connect(str(db), read_only=True) as con:
        leads = con.execute("select count(*) from leadpanther.leads").fetchall()[0][0]
    assert leads == sum(len(emu.truth("leads", c)) for c in emu.client_ids("active"))
    assert_no_traceback(out)


def test_duckdb_locked_then_released_loads_after_extracting_meanwhile(emu, tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path), "DESTINATION__DUCKDB__LOCK_WAIT_S": "60"}
    first = cli_here("run", "--duckdb-path", str(db), "--no-transform", env=env)
    assert first.returncode == 0, output(first)
    emu.insert("leads", emu.client_ids("active")[0], 3)
    holder = _hold(db, 120)

    def release() -> None:
        holder.kill()
        holder.wait()

    # released once the run, having extracted, waits to load: whatever the machine's speed
    out = cli_until("waiting up to", "run", "--duckdb-path", str(db), "--no-transform", then=release, env=env)
    assert out.returncode == 0, output(out)
    assert "extracting while waiting for it" in out.stderr and f"(PID {holder.pid})" in out.stderr
    assert "The DuckDB file is free after" in out.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        leads = con.execute("select count(*) from leadpanther.leads").fetchall()[0][0]
    assert leads == sum(len(emu.truth("leads", c)) for c in emu.client_ids("active"))
    assert_no_traceback(out)


def test_unexpected_error_is_one_line_and_a_file_and_v_prints_it(emu, tmp_path: Path) -> None:
    db = tmp_path / "u.duckdb"
    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path)}
    assert cli_here("run", "--duckdb-path", str(db), "--no-transform", env=env).returncode == 0
    (tmp_path / "data" / "pipelines" / "leadpanther" / "state.json").write_text("{not json")  # a corrupt state file
    out = cli("run", "--duckdb-path", str(db), env=env)
    assert out.returncode == 1, output(out)
    first, second = out.stdout.splitlines()[:2]
    assert first.startswith("Unexpected error: JSONDecodeError")
    path = Path(second.split("full traceback: ")[1].split(" (-v")[0])
    assert path.parent == tmp_path / "data" / "logs" and "Traceback" in path.read_text()
    assert_no_traceback(out)
    verbose = cli_here("run", "--duckdb-path", str(db), "-v", env=env)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr and "JSONDecodeError" in verbose.stderr


def test_default_run_with_engagement_above_impressions_exits_0(tmp_path: Path) -> None:
    """The API of issue 9: low-impression posts with more engagements than impressions. A ratio above 1 is
    data, not a failure: the run exits 0, the models keep those rates, and the notice counting them is
    listed as a warning (issue 9's "done when"). PostgreSQL's side: the planted defects of
    tests/transforms/test_models_unit.py."""
    config = EmulatorConfig(seed=43, preset="tiny", engagement_above_impressions=0.3)
    with run_emulator(config) as emulator:
        env = {**api_env(emulator), "DLT_PROJECT_DIR": str(tmp_path)}
        out = cli_here("run", env=env)
    assert out.returncode == 0, output(out)
    assert "0 failed (error), 1 warning(s)" in out.stdout
    assert out.stdout.splitlines()[-1] == "exit 0: loaded (1 data test warning(s) listed above)"
    with duckdb.connect(str(tmp_path / "data" / "leadpanther_elt.duckdb"), read_only=True) as con:
        sql = "select count(*) from leadpanther_models.fct_post_engagement where engagement_rate > 1"
        above = con.execute(sql).fetchall()[0][0]
    assert above > 0
    assert f"WARN  lp_ratio_above_one(engagement_rate) on fct_post_engagement: {above} failing row(s)" in out.stdout
    assert_no_traceback(out)
