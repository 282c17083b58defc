"""Quick runs near their floor in both orders an API may serve: newest-first stops early, oldest-first reads
from its tail after checking the rows there are the ones it saw last, and falls back to the filtered full
scan when rows were deleted or inserted before them. Rows are checked against the emulator's ground truth."""

from __future__ import annotations

from collections import Counter

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from sources.leadpanther.settings import LIST_RESOURCES
from tests.truth import assert_matches_truth, loaded_rows, sync

LIST_ROUTES = {
    "posts": "GET /clients/{clientId}/posts",
    "lead_magnets": "GET /clients/{clientId}/lead-magnets",
    "leads": "GET /clients/{clientId}/leads",
    "activity": "GET /clients/{clientId}/activity",
}
SHORTCUT = {"newest": "early_stop", "oldest": "tail"}
LISTS_ONLY = ["clients", *LIST_RESOURCES]


def list_requests(counts: Counter) -> dict[str, int]:
    return {name: counts.get(route, 0) for name, route in LIST_ROUTES.items()}


def quick_run(pipeline, emu, resources: list[str], page_size: int = 10):
    """A quick run that must succeed, with the emulator's request log reset first (so it counts only this run)."""
    emu.reset_request_log()
    result = sync(pipeline, emu, page_size=page_size, mode="quick", resources=resources)
    assert result.exit_code == 0
    return result


def leads_status(result, client: str):
    """The run's status row of one client's leads (its `scan` says how the list was read)."""
    return next(s for s in result.log.statuses if s.client_id == client and s.resource == "leads")


def scans(result, resource: str | None = None) -> Counter:
    return Counter(
        s.scan
        for s in result.log.statuses
        if s.resource in LIST_RESOURCES and s.status == "ok" and (resource is None or s.resource == resource)
    )


@pytest.mark.parametrize("order", ["oldest", "newest"])
def test_quick_runs_cost_one_request_per_client_route_in_either_order(make_duckdb_pipeline, order: str) -> None:
    config = EmulatorConfig(seed=31, preset="tiny", order=order, leads_per_client=95, activity_per_client=130)
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline(f"tail_{order}")
        assert sync(pipeline, emu, page_size=10, resources=LISTS_ONLY).exit_code == 0
        active = emu.client_ids("active")

        quiet = quick_run(pipeline, emu, LISTS_ONLY)
        assert list_requests(emu.request_counts()) == {r: len(active) for r in LIST_ROUTES}
        assert scans(quiet) == Counter({SHORTCUT[order]: len(active) * len(LIST_ROUTES)})

        # New rows at the end of the list (oldest-first) / at its head (newest-first): read, and only them.
        new = {(c, r): emu.insert(r, c, 13) for c in active for r in LIST_RESOURCES}
        result = quick_run(pipeline, emu, LISTS_ONLY)
        assert scans(result) == Counter({SHORTCUT[order]: len(active) * len(LIST_ROUTES)})
        # 13 new rows + the 2 re-read ones need 2 pages of 10 (plus one more when the lookback re-reads a few)
        assert all(n <= 3 * len(active) for n in list_requests(emu.request_counts()).values())
        assert_matches_truth(pipeline, emu, tables=LIST_RESOURCES)
        loaded = {(r["client_id"], r["id"]) for r in loaded_rows(pipeline, "leads")}
        assert {(c, i) for (c, r), ids in new.items() if r == "leads" for i in ids} <= loaded


@pytest.mark.parametrize("order", ["oldest", "newest"])
def test_deletions_and_insertions_before_the_tail(make_duckdb_pipeline, order: str) -> None:
    """Rows deleted before the tail shift it down, rows inserted before it (a late writer, created within
    the cursor lookback) shift it up: an oldest-first quick run sees the rows at its start are not the ones it
    saw last and scans fully with the cursor filter; a newest-first one stops early as usual. Both end with
    every row of the truth, plus the deleted ones (only a reconciliation marks those)."""
    config = EmulatorConfig(seed=33, preset="tiny", order=order, leads_per_client=95)
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline(f"tail_drift_{order}")
        resources = ["clients", "leads"]
        assert sync(pipeline, emu, page_size=10, resources=resources).exit_code == 0
        active = emu.client_ids("active")
        client = active[0]

        deleted = emu.delete("leads", client, 4)
        result = quick_run(pipeline, emu, resources)
        status = leads_status(result, client)
        assert status.scan == ("full" if order == "oldest" else "early_stop"), status
        others = [s for s in result.log.statuses if s.resource == "leads" and s.client_id != client]
        assert {s.scan for s in others if s.status == "ok"} == {SHORTCUT[order]}
        truth = {(client, r["id"]) for r in emu.truth("leads", client)}
        loaded = {(r["client_id"], r["id"]) for r in loaded_rows(pipeline, "leads") if r["client_id"] == client}
        assert loaded == truth | {(client, i) for i in deleted}

        # A late row, created 10 minutes before the newest one, lands before the tail.
        newest_ms = max(_ms(r["created_at"]) for r in emu.truth("leads", client))
        late = emu.insert("leads", client, 2, created_ms=newest_ms - 600_000)
        fresh = emu.insert("leads", client, 3)
        result = quick_run(pipeline, emu, resources)
        status = leads_status(result, client)
        assert status.scan == ("full" if order == "oldest" else "early_stop"), status
        loaded = {(r["client_id"], r["id"]) for r in loaded_rows(pipeline, "leads") if r["client_id"] == client}
        assert {(client, i) for i in late + fresh} <= loaded
        truth = {(client, r["id"]) for r in emu.truth("leads", client)}
        assert loaded == truth | {(client, i) for i in deleted}

        # After the fallback the tail is known again: the next quick run is one request per client-route.
        result = quick_run(pipeline, emu, resources)
        assert scans(result) == Counter({SHORTCUT[order]: len(active)})
        assert list_requests(emu.request_counts())["leads"] == len(active)

        # A reconciliation marks the deleted rows; then the table equals the truth.
        assert sync(pipeline, emu, page_size=10, mode="reconcile", resources=resources).exit_code == 0
        assert_matches_truth(pipeline, emu, tables=("leads",))


def test_a_list_that_shrank_below_the_tail_falls_back(make_duckdb_pipeline) -> None:
    config = EmulatorConfig(seed=35, preset="tiny", order="oldest", leads_per_client=12)
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline("tail_shrink")
        resources = ["clients", "leads"]
        assert sync(pipeline, emu, page_size=5, resources=resources).exit_code == 0
        client = emu.client_ids("active")[0]
        emu.delete("leads", client, 11)
        emu.insert("leads", client, 1)
        assert leads_status(quick_run(pipeline, emu, resources, page_size=5), client).scan == "full"
        assert sync(pipeline, emu, page_size=5, mode="reconcile", resources=resources).exit_code == 0
        assert_matches_truth(pipeline, emu, tables=("leads",))


def _ms(value: str) -> int:
    from leadpanther_emulator.generator import parse_iso_ms

    parsed = parse_iso_ms(value)
    assert parsed is not None
    return parsed
