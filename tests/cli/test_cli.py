"""The `leadpanther-elt` commands, config from env vars: the console script in a subprocess for the README's
demo from another folder (its exit 0 with the models built), in this process (`cli_here`) where a child would
prove nothing more; the console script's exit code of each failure class: tests/cli/test_failure_classes.py."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from tests.cli.runner import api_env, cli, cli_here, output
from tests.conftest import PG_URL


@pytest.fixture(scope="module")
def emu():
    with run_emulator(EmulatorConfig(seed=31, preset="tiny")) as emulator:
        yield emulator


def test_run_into_duckdb_then_quick_rerun(emu, tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path)}
    first = cli_here("run", "--duckdb-path", str(db), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "posts" in first.stdout and "data tests:" in first.stdout
    assert emu.keys["full"] not in first.stdout + first.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        posts = con.execute("select count(*) from leadpanther.posts").fetchall()[0][0]
        models = con.execute("select count(*) from leadpanther_models.fct_post_engagement").fetchall()[0][0]
    active = emu.client_ids("active")
    assert posts == sum(len(emu.truth("posts", c)) for c in active) == models
    second = cli_here("run", "--duckdb-path", str(db), "--resources", "posts,leads", "--no-transform", "-v", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    for client_id in active:  # -v: one progress line per finished client-route
        assert any(line.split()[:3] == ["posts", "client", client_id] for line in second.stderr.splitlines())
    query = cli_here("query", "--duckdb-path", str(db), "select count(*) as n from leadpanther.sync_runs", env=env)
    assert query.returncode == 0 and "n" in query.stdout
    # `transform` on its own: tests/transforms/test_dbt_cli.py; the report reads the models the first run built
    report = cli_here("report", "--duckdb-path", str(db), "--output", str(tmp_path / "r.html"), env=env)
    assert report.returncode == 0 and (tmp_path / "r.html").stat().st_size > 1000, report.stdout + report.stderr


def test_full_refresh_drops_and_reloads(emu, tmp_path: Path) -> None:
    db = tmp_path / "refresh.duckdb"
    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path)}
    assert cli_here("run", "--duckdb-path", str(db), "--no-transform", env=env).returncode == 0
    again = cli_here("run", "--duckdb-path", str(db), "--no-transform", "--full-refresh", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        modes = con.execute("select distinct run_mode from leadpanther.sync_runs where resource = 'posts'").fetchall()
    assert ("initial",) in modes


def test_exit_codes_for_bad_config_wrong_key_and_partial(emu, tmp_path: Path) -> None:
    base = {"DLT_PROJECT_DIR": str(tmp_path)}
    db = str(tmp_path / "codes.duckdb")
    no_key = cli_here("run", "--duckdb-path", db, env={**base, "SOURCES__LEADPANTHER__BASE_URL": emu.base_url})
    assert no_key.returncode == 2 and "no LeadPanther API key configured" in no_key.stdout
    bad_size = cli_here(
        "run", "--duckdb-path", db, env={**api_env(emu), **base, "SOURCES__LEADPANTHER__PAGE_SIZE": "500"}
    )
    assert bad_size.returncode == 2 and "page_size" in bad_size.stdout
    not_int = cli_here(
        "run", "--duckdb-path", db, env={**api_env(emu), **base, "SOURCES__LEADPANTHER__MAX_CONCURRENCY": "lots"}
    )
    assert not_int.returncode == 2 and "max_concurrency" in not_int.stdout, not_int.stdout
    wrong = cli_here("run", "--duckdb-path", db, env={**api_env(emu, "lp_live_wrongwrongwrong00000000"), **base})
    assert wrong.returncode == 1 and "rejected the API key" in wrong.stdout
    assert "lp_live_wrongwrongwrong" not in wrong.stdout + wrong.stderr
    partial = cli_here("run", "--duckdb-path", db, "--no-transform", env={**api_env(emu, "no_leads"), **base})
    assert partial.returncode == 3 and "SKIPPED leads" in partial.stdout and "403" in partial.stdout
    collide = cli_here("run", "--duckdb-path", str(tmp_path / "leadpanther.duckdb"), env={**api_env(emu), **base})
    assert collide.returncode == 2 and "named like the dataset" in collide.stdout


def test_check_prints_what_the_key_may_read(emu, tmp_path: Path) -> None:
    out = cli_here("check", env={**api_env(emu, "no_leads"), "DLT_PROJECT_DIR": str(tmp_path)})
    assert out.returncode == 3, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert "Key accepted" in lines[0]
    for client_id in emu.client_ids("active"):
        row = next(line for line in lines if line.startswith(client_id))
        assert row.split()[1:] == ["active", "ok", "ok", "403", "ok", "ok"]
    for client_id in emu.client_ids("revoked"):
        row = next(line for line in lines if line.startswith(client_id))
        assert "403" in row
    assert f"{len(emu.client_ids())} client(s) visible" in lines[0]
    one = cli_here("check", "--max-clients", "1", env={**api_env(emu, "no_leads"), "DLT_PROJECT_DIR": str(tmp_path)})
    assert f"Probing the first 1 of {len(emu.client_ids())} clients" in one.stdout
    assert sum(line.startswith(tuple(emu.client_ids())) for line in one.stdout.splitlines()) == 1
    no_analytics = cli_here("check", env={**api_env(emu, "no_analytics"), "DLT_PROJECT_DIR": str(tmp_path)})
    row = next(line for line in no_analytics.stdout.splitlines() if line.startswith(emu.client_ids("active")[0]))
    assert row.split()[-1] == "403"


def test_demo_from_another_directory_uses_the_project_config(tmp_path: Path) -> None:
    """The demo loads a simulated history (here 1 week after the first load) so its report has weekly gains."""
    db = tmp_path / "demo.duckdb"
    fresh = {"TMPDIR": str(tmp_path)}  # as on a fresh machine: no dbt partial-parse file kept from an earlier run
    out = cli("demo", "--preset", "tiny", "--history-weeks", "1", "--duckdb-path", str(db), cwd=tmp_path, env=fresh)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Report:" in out.stdout and db.with_suffix(".html").exists()
    assert out.stdout.count("query --duckdb-path") == 3
    with duckdb.connect(str(db), read_only=True) as con:
        days = con.execute(
            "select snapshot_date, sum(impressions_gained) from leadpanther_models.fct_post_engagement_daily "
            "group by 1 order by 1").fetchall()
    assert [(d - days[0][0]).days for d, _ in days] == [0, 7], days  # one run per simulated week
    assert all(gained > 0 for _, gained in days[1:]), days
    assert 'data-chart="weekly"' in db.with_suffix(".html").read_text()


@pytest.mark.postgres
def test_run_into_postgres(emu, tmp_path: Path) -> None:
    from tests.conftest import drop_pg_schemas

    dataset = f"lp_cli_{os.getpid()}"
    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path), "DESTINATION__POSTGRES__CREDENTIALS": PG_URL}
    try:
        out = cli_here("run", "--destination", "postgres", "--dataset", dataset, env=env)
        assert out.returncode == 0, out.stdout + out.stderr
        import psycopg2

        with psycopg2.connect(PG_URL) as con, con.cursor() as cur:
            cur.execute(f'select count(*) from "{dataset}".leads')
            leads = cur.fetchone()[0]
            cur.execute(f'select count(*) from "{dataset}_models".fct_lead_funnel')
            assert cur.fetchone()[0] > 0
        assert leads == sum(len(emu.truth("leads", c)) for c in emu.client_ids("active"))
    finally:
        drop_pg_schemas(dataset)


def test_check_counts_every_page_of_clients(tmp_path: Path) -> None:
    """An agency's client list is longer than a page (100): check reads all of it, as a run does."""
    with run_emulator(EmulatorConfig(seed=3, preset="tiny", clients=150, posts_per_client=2)) as big:
        out = cli_here("check", "--max-clients", "2", env={**api_env(big), "DLT_PROJECT_DIR": str(tmp_path)})
        listed = len(big.client_ids())
    assert listed == 150
    assert "150 client(s) visible" in out.stdout and "Probing the first 2 of 150 clients" in out.stdout, output(out)
    bad = cli_here("check", "--max-clients", "0", env={**api_env(big), "DLT_PROJECT_DIR": str(tmp_path)})
    assert bad.returncode == 2 and "--max-clients" in bad.stderr
