"""Errors a user can act on (401, 403, revoked grants, bad bodies) and the PostgreSQL destination."""

from __future__ import annotations

import pytest

from leadpanther_emulator import Drift, EmulatorConfig, Faults, run_emulator
from pipelines.leadpanther_pipeline import ExitCode
from sources.leadpanther.helpers.errors import AuthenticationError
from sources.leadpanther.settings import LIST_RESOURCES
from tests.truth import LIST_TABLES, assert_matches_truth, loaded_rows, sync

UNKNOWN_KEY = "lp_live_unknownkey0000000000000000"


def test_unknown_key_stops_at_once_and_never_shows_the_key(make_duckdb_pipeline) -> None:
    with run_emulator(EmulatorConfig(seed=1, preset="tiny")) as emu:
        pipeline = make_duckdb_pipeline("badkey")
        result = sync(pipeline, emu, key=UNKNOWN_KEY)
        assert isinstance(result.error, AuthenticationError)
        assert result.exit_code == ExitCode.FAILED
        text = "\n".join(result.summary_lines())
        assert "rejected the API key" in text and "request_id=req_" in text and "secrets.toml" in text
        assert UNKNOWN_KEY not in text and UNKNOWN_KEY not in repr(result.error)
        # Stopped at once: only GET /clients was tried, nothing but the failure itself was written.
        assert emu.request_counts()["total"] == 1
        runs = loaded_rows(pipeline, "sync_runs")
        assert [(r["resource"], r["status"], r["http_status"]) for r in runs] == [("clients", "failed", 401)]
        assert loaded_rows(pipeline, "posts") == []


def test_missing_scope_skips_that_route_only_and_keeps_its_cursor(make_duckdb_pipeline) -> None:
    with run_emulator(EmulatorConfig(seed=2, preset="tiny")) as emu:
        pipeline = make_duckdb_pipeline("noleads")
        result = sync(pipeline, emu, key="no_leads")
        assert result.exit_code == ExitCode.PARTIAL
        leads = [s for s in result.log.statuses if s.resource == "leads" and s.status != "not_granted"]
        assert leads and all(s.status == "skipped" and s.http_status == 403 and s.request_id for s in leads)
        assert_matches_truth(pipeline, emu, tables=("clients", "posts", "lead_magnets", "activity"))
        assert loaded_rows(pipeline, "leads") == []
        # With the scope granted later, leads load from the beginning (the cursor never moved).
        again = sync(pipeline, emu, key="full")
        assert again.exit_code == ExitCode.OK
        assert {s.run_mode for s in again.log.statuses if s.resource == "leads" and s.status == "ok"} == {"initial"}
        assert_matches_truth(pipeline, emu)


def test_grant_revoked_mid_run_skips_that_client_and_loads_the_others(make_duckdb_pipeline) -> None:
    with run_emulator(EmulatorConfig(seed=4, preset="demo")) as emu:
        victim, *others = emu.client_ids("active")
        emu.set_faults(Faults(revoke_after={victim: 3}))
        pipeline = make_duckdb_pipeline("revoked")
        result = sync(pipeline, emu, page_size=20)
        assert result.exit_code == ExitCode.PARTIAL
        skipped = {
            (s.resource, s.http_status) for s in result.log.statuses if s.client_id == victim and s.status == "skipped"
        }
        assert skipped and all(code == 403 for _, code in skipped)
        for table in LIST_TABLES:
            loaded_clients = {r["client_id"] for r in loaded_rows(pipeline, table)}
            assert set(others) <= loaded_clients, table
        # Re-granted: the next run completes the skipped client-routes and everything equals truth.
        emu.set_faults(Faults())
        emu.set_grant(victim, "active")
        assert sync(pipeline, emu).exit_code == ExitCode.OK
        assert_matches_truth(pipeline, emu)


def test_transient_faults_are_retried_to_an_exact_copy(make_duckdb_pipeline) -> None:
    faults = Faults(
        error_rate=0.1,
        rate_limit_rate=0.05,
        rate_limit_burst=2,
        retry_after_s=0,
        drop_rate=0.05,
        truncated_rate=0.05,
        non_json_rate=0.05,
    )
    with run_emulator(EmulatorConfig(seed=8, preset="tiny", faults=faults)) as emu:
        pipeline = make_duckdb_pipeline("faulty")
        result = sync(pipeline, emu, page_size=10, max_retries=8)
        assert result.exit_code == ExitCode.OK, result.summary_lines()
        assert sum(s.retries for s in result.log.statuses) > 0
        assert_matches_truth(pipeline, emu)


def test_persistent_bad_bodies_fail_that_client_route_loudly_with_request_id(make_duckdb_pipeline) -> None:
    with run_emulator(EmulatorConfig(seed=8, preset="tiny")) as emu:
        pipeline = make_duckdb_pipeline("badbody")
        assert sync(pipeline, emu).exit_code == ExitCode.OK
        emu.set_faults(Faults(non_json_rate=1.0))
        result = sync(pipeline, emu, max_retries=2)
        assert result.exit_code in (ExitCode.FAILED, ExitCode.PARTIAL)
        text = "\n".join(result.summary_lines())
        assert "not JSON" in text and "req_" in text
        emu.set_faults(Faults())
        assert sync(pipeline, emu).exit_code == ExitCode.OK
        assert_matches_truth(pipeline, emu)


@pytest.mark.postgres
def test_postgres_full_load_quick_run_and_reconciliation(make_pg_pipeline) -> None:
    """With every lossless kind of drift on (the DuckDB tests run these run kinds with drift off)."""
    with run_emulator(EmulatorConfig(seed=12, preset="tiny", drift=Drift.lossless())) as emu:
        pipeline = make_pg_pipeline()
        assert sync(pipeline, emu).exit_code == ExitCode.OK
        assert_matches_truth(
            pipeline, emu, tables=("clients", *LIST_TABLES, "post_engagement", "lead_magnet_analytics")
        )
        client = emu.client_ids("active")[0]
        for resource in LIST_RESOURCES:
            emu.insert(resource, client, 4)
        assert sync(pipeline, emu, mode="quick").exit_code == ExitCode.OK
        assert_matches_truth(pipeline, emu)
        emu.update("leads", client, 3)
        gone = emu.delete("leads", client, 2)
        assert sync(pipeline, emu, mode="reconcile").exit_code == ExitCode.OK
        assert_matches_truth(pipeline, emu)
        marked = {r["id"] for r in loaded_rows(pipeline, "leads", include_deleted=True) if r["_lp_deleted_at"]}
        assert marked == set(gone)
