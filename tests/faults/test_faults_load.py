"""Loads under every transport fault at once (10% 5xx, 429 bursts, dropped connections, cut and non-JSON
bodies) and churn while paging: nothing lost, nothing duplicated, and equal to ground truth once the data
stops moving.

Why two kinds of assertion: while rows are inserted, updated and deleted during a scan, no reader can end
equal to a truth that keeps changing after it passed a page. So a load under churn is held to the invariants
that do hold (every row that existed for the whole run is loaded, exactly once, and nothing is loaded that
never existed); the runs after churn stops must be exactly equal to ground truth, under the other faults.
"""

from __future__ import annotations

from typing import Any

import pytest

from leadpanther_emulator import EmulatorConfig, Faults, run_emulator
from tests.truth import LIST_TABLES, _norm, assert_matches_truth, key_of, loaded_rows, sync, truth_snapshot

TRANSPORT = {
    "error_rate": 0.10,
    "rate_limit_rate": 0.03,
    "rate_limit_burst": 3,
    "retry_after_s": 0,
    "drop_rate": 0.05,
    "truncated_rate": 0.01,
    "non_json_rate": 0.01,
}
CHURN = {"churn_rate": 0.3, "churn_rows": 2}


def _assert_ok(result: Any) -> None:
    bad = [(s.resource, s.client_id, s.status, s.error_message) for s in result.log.statuses if s.status == "failed"]
    assert result.error is None, result.error
    assert not bad, bad
    assert sum(s.retries for s in result.log.statuses) > 0, "faults were configured but nothing was retried"


def _assert_nothing_lost(pipeline: Any, before: dict, after: dict, known: set) -> None:
    """Invariants under churn: stable rows all loaded, no duplicates, no phantom rows. `known`: keys seen in
    earlier snapshots or loads (a quick run does not look for deletions, so rows deleted after an earlier
    run loaded them stay until the next reconciliation; that is the documented contract)."""
    for table in LIST_TABLES:
        rows = loaded_rows(pipeline, table)
        keys = [key_of(table, r) for r in rows]
        assert len(keys) == len(set(keys)), f"{table}: duplicated rows"
        loaded = set(keys)
        stable = before[table].keys() & after[table].keys()
        missing = stable - loaded
        assert not missing, f"{table}: {len(missing)} rows present during the whole run lost: {sorted(missing)[:5]}"
        # rows inserted and deleted again while the run paged are legitimately loaded: they are newer than
        # everything that existed before the run (the emulator's clock only moves forward)
        newest_before = max((_norm(r["created_at"]) for r in before[table].values()), default=0)
        by_key = {key_of(table, r): r for r in rows}
        unknown = loaded - before[table].keys() - after[table].keys() - known
        phantom = [k for k in unknown if _norm(by_key[k]["created_at"]) <= newest_before]
        assert not phantom, f"{table}: loaded rows that never existed: {phantom[:5]}"
        known |= loaded | before[table].keys() | after[table].keys()


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_full_then_incremental_under_all_faults_and_churn(make_duckdb_pipeline, order: str) -> None:
    config = EmulatorConfig(seed=11, preset="demo", order=order, faults=Faults(**TRANSPORT, **CHURN))
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline(f"faults_{order}")
        before = truth_snapshot(emu)
        result = sync(pipeline, emu, mode="auto", max_retries=10)
        _assert_ok(result)
        known: set = set()
        _assert_nothing_lost(pipeline, before, truth_snapshot(emu), known)

        # incremental run while the data still churns: same invariants
        for client_id in emu.client_ids("active"):
            emu.insert("leads", client_id, 5)
            emu.insert("activity", client_id, 5)
        before = truth_snapshot(emu)
        result = sync(pipeline, emu, mode="quick", max_retries=10)
        _assert_ok(result)
        _assert_nothing_lost(pipeline, before, truth_snapshot(emu), known)

        # churn stops, transport faults go on: a reconciliation ends exactly equal to ground truth
        emu.set_faults(Faults(**TRANSPORT))
        result = sync(pipeline, emu, mode="reconcile", max_retries=10)
        _assert_ok(result)
        assert_matches_truth(pipeline, emu)


def test_full_and_quick_incremental_exact_under_transport_faults(make_duckdb_pipeline) -> None:
    """No churn: the first load and a quick incremental load are each exactly ground truth."""
    config = EmulatorConfig(seed=5, preset="demo", faults=Faults(**TRANSPORT))
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline("faults_exact")
        result = sync(pipeline, emu, max_retries=10)
        _assert_ok(result)
        assert_matches_truth(pipeline, emu)

        for client_id in emu.client_ids("active"):
            for table in LIST_TABLES:
                emu.insert(table, client_id, 7)
        emu.reset_request_log()
        result = sync(pipeline, emu, mode="quick", max_retries=10)
        _assert_ok(result)
        assert {s.run_mode for s in result.log.statuses if s.resource in LIST_TABLES and s.status == "ok"} == {"quick"}
        assert_matches_truth(pipeline, emu)

        for client_id in emu.client_ids("active"):
            emu.update("posts", client_id, 4)
            emu.update("leads", client_id, 4)
            emu.delete("leads", client_id, 3)
            emu.delete("activity", client_id, 3)
            emu.delete("posts", client_id, 2)
        result = sync(pipeline, emu, mode="reconcile", max_retries=10)
        _assert_ok(result)
        assert_matches_truth(pipeline, emu)
