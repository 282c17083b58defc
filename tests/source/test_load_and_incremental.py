"""Full loads, quick runs and reconciliations against the emulator over real HTTP, into real DuckDB files."""

from __future__ import annotations

from collections import Counter

import pytest

from leadpanther_emulator import Drift, EmulatorConfig, run_emulator
from sources.leadpanther.settings import LIST_RESOURCES
from tests.truth import LIST_TABLES, assert_matches_truth, loaded_rows, sync

LIST_ROUTES = {
    "posts": "GET /clients/{clientId}/posts",
    "lead_magnets": "GET /clients/{clientId}/lead-magnets",
    "leads": "GET /clients/{clientId}/leads",
    "activity": "GET /clients/{clientId}/activity",
}


def list_requests(counts: Counter) -> dict[str, int]:
    return {name: counts.get(route, 0) for name, route in LIST_ROUTES.items()}


# The vendor documents no page order: the main load tests run with each order an API may serve.
ORDERS = ["newest", "oldest"]


@pytest.fixture(scope="module", params=ORDERS)
def demo_emulator(request):
    with run_emulator(EmulatorConfig(seed=11, preset="demo", order=request.param)) as emu:
        yield emu


@pytest.mark.parametrize(
    ("order", "http_version", "drift"),
    [
        ("newest", "1.1", False),
        ("oldest", "1.1", False),
        ("newest", "1.0", False),
        ("oldest", "1.0", False),
        ("oldest", "1.1", True),
    ],
)
def test_full_load_equals_ground_truth(make_duckdb_pipeline, order: str, http_version: str, drift: bool) -> None:
    """Also over HTTP/1.0 without keep-alive: every response closes its connection, the client reconnects. And
    with every lossless kind of drift on (new fields, nested objects, figures as strings, other timestamp
    spellings, a field gone, a type changed): the documented field set is a floor, not what a test may expect."""
    config = EmulatorConfig(
        seed=3, preset="tiny", order=order, http_version=http_version, drift=Drift.lossless() if drift else Drift()
    )
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline()
        result = sync(pipeline, emu)
        assert result.error is None and result.exit_code == 0, result.summary_lines()
        assert_matches_truth(
            pipeline, emu, tables=("clients", *LIST_TABLES, "post_engagement", "lead_magnet_analytics")
        )
        # Every published post's engagement and every lead magnet's analytics were read once.
        counts = emu.request_counts()
        published = [
            p
            for c in emu.client_ids("active")
            for p in emu.truth("posts", c)
            if p["status"] in ("published", "publishing")
        ]
        assert counts["GET /clients/{clientId}/posts/{postId}/engagement"] == len(published)
        links = loaded_rows(pipeline, "lead_magnets__linked_posts")
        expected_links = {
            (c, m["id"], p)
            for c in emu.client_ids("active")
            for m in emu.truth("lead_magnets", c)
            for p in m["linked_posts"]
        }
        assert {(r["client_id"], r["lead_magnet_id"], r["post_id"]) for r in links} == expected_links


def test_quick_run_loads_exactly_the_new_rows(make_duckdb_pipeline, demo_emulator) -> None:
    """Newest-first: one page per route when nothing is new. In any order: exactly the new rows."""
    emu = demo_emulator
    newest_first = emu.backend.order == "newest"
    pipeline = make_duckdb_pipeline("quick")
    assert sync(pipeline, emu).exit_code == 0
    active = emu.client_ids("active")

    emu.reset_request_log()
    nothing_new = sync(pipeline, emu)
    requests = list_requests(emu.request_counts())
    # Nothing new: one page per client and route (the cursor lookback re-reads a handful of recent rows).
    if newest_first:
        assert requests == {name: len(active) for name in LIST_ROUTES}, requests
    assert nothing_new.exit_code == 0
    assert_matches_truth(pipeline, emu)

    inserted = {(c, r): emu.insert(r, c, 7) for c in active for r in LIST_RESOURCES}
    emu.reset_request_log()
    result = sync(pipeline, emu)
    assert result.exit_code == 0
    requests = list_requests(emu.request_counts())
    if newest_first:
        assert all(n <= 2 * len(active) for n in requests.values()), requests
    for status in result.log.statuses:
        if status.resource in LIST_RESOURCES and status.status == "ok":
            assert status.run_mode == "quick", status
            assert status.scan == "early_stop" or not newest_first, status
    assert_matches_truth(pipeline, emu)
    new_ids = {i for ids in inserted.values() for i in ids}
    loaded_posts = {r["id"] for r in loaded_rows(pipeline, "posts")}
    assert {i for (c, r), ids in inserted.items() if r == "posts" for i in ids} <= loaded_posts
    assert len(new_ids) == 7 * len(active) * len(LIST_RESOURCES)


@pytest.mark.parametrize("order", ORDERS)
def test_reconciliation_sees_updates_and_marks_deletes(make_duckdb_pipeline, order: str) -> None:
    with run_emulator(EmulatorConfig(seed=5, preset="tiny", order=order)) as emu:
        pipeline = make_duckdb_pipeline("reconcile")
        assert sync(pipeline, emu).exit_code == 0
        client = emu.client_ids("active")[0]
        for resource in ("posts", "lead_magnets", "leads"):
            emu.update(resource, client, 3)
        deleted = {r: emu.delete(r, client, 2) for r in LIST_RESOURCES}

        quick = sync(pipeline, emu, mode="quick")
        assert quick.exit_code == 0
        # A quick run cannot see updates of old rows or deletions: the old versions are still there.
        still_there = {r["id"] for r in loaded_rows(pipeline, "leads")}
        assert set(deleted["leads"]) <= still_there

        emu.reset_request_log()
        result = sync(pipeline, emu, mode="reconcile")
        assert result.exit_code == 0
        assert all(
            s.run_mode == "reconcile" for s in result.log.statuses if s.resource in LIST_RESOURCES and s.status == "ok"
        )
        assert_matches_truth(pipeline, emu)
        for resource in ("leads", "activity"):
            marked = {
                r["id"]
                for r in loaded_rows(pipeline, resource, include_deleted=True)
                if r["_lp_deleted_at"] is not None
            }
            assert marked == set(deleted[resource]), resource
        assert result.deleted_marked["leads"] == 2
        # Archived lead magnets stay listed with status 'archived' (not deleted upstream).
        magnets = {r["id"]: r for r in loaded_rows(pipeline, "lead_magnets")}
        assert all(magnets[i]["status"] == "archived" for i in deleted["lead_magnets"])
        # A reconciliation reads everything again.
        counts = list_requests(emu.request_counts())
        assert all(n >= 2 for n in counts.values()), counts


@pytest.mark.parametrize("order", ORDERS)
def test_new_client_mid_life_loads_from_the_start(make_duckdb_pipeline, order: str) -> None:
    with run_emulator(EmulatorConfig(seed=9, preset="tiny", order=order)) as emu:
        pipeline = make_duckdb_pipeline("newclient")
        assert sync(pipeline, emu).exit_code == 0
        newcomer = emu.add_client(active=True)
        result = sync(pipeline, emu, mode="quick")
        assert result.exit_code == 0
        modes = {s.run_mode for s in result.log.statuses if s.client_id == newcomer and s.resource in LIST_RESOURCES}
        assert modes == {"initial"}
        assert_matches_truth(pipeline, emu)


def test_a_client_named_twice_is_read_once(make_duckdb_pipeline) -> None:
    with run_emulator(EmulatorConfig(seed=9, preset="tiny")) as emu:
        pipeline = make_duckdb_pipeline("twice")
        client = emu.client_ids("active")[0]
        result = sync(pipeline, emu, clients=[client, client])  # sync fails if any key was staged twice
        assert result.exit_code == 0
        scans = [(s.resource, s.client_id) for s in result.log.statuses if s.resource in LIST_RESOURCES]
        assert sorted(scans) == sorted((r, client) for r in LIST_RESOURCES)


@pytest.mark.parametrize("order", ["oldest", "unstable"])
def test_any_sort_order_ends_equal_to_truth(make_duckdb_pipeline, order: str) -> None:
    with run_emulator(EmulatorConfig(seed=21, preset="tiny", order=order)) as emu:
        pipeline = make_duckdb_pipeline(f"order_{order}")
        first = sync(pipeline, emu, page_size=7)
        assert first.exit_code == 0
        detected = {s.order_detected for s in first.log.statuses if s.resource in LIST_RESOURCES and s.status == "ok"}
        assert "newest_first" not in detected, detected
        for client in emu.client_ids("active"):
            for resource in LIST_RESOURCES:
                emu.insert(resource, client, 3)
            emu.update("leads", client, 2)
        quick = sync(pipeline, emu, page_size=7, mode="quick")
        assert quick.exit_code == 0
        scans = {s.scan for s in quick.log.statuses if s.resource in LIST_RESOURCES and s.status == "ok"}
        if order == "unstable":
            # No order to rely on: the quick run scans fully and filters by cursor, so it sees updates too.
            assert scans == {"full"}
        else:
            # Oldest-first: the quick run reads from the tail, and like a newest-first one it cannot see
            # updates of old rows; a reconciliation does.
            assert scans == {"tail"}, scans
            assert sync(pipeline, emu, page_size=7, mode="reconcile").exit_code == 0
        assert_matches_truth(pipeline, emu)


def test_pagination_edges_and_small_pages(make_duckdb_pipeline) -> None:
    """0, 1, 99, 100 and 101 rows per route with page size 100, and odd page sizes."""
    for rows in (0, 1, 99, 100, 101):
        config = EmulatorConfig(
            seed=rows, preset="tiny", posts_per_client=rows, leads_per_client=rows, activity_per_client=rows
        )
        with run_emulator(config) as emu:
            pipeline = make_duckdb_pipeline(f"edge_{rows}")
            assert sync(pipeline, emu, resources=["clients", "posts", "leads", "activity"]).exit_code == 0
            assert_matches_truth(pipeline, emu, tables=("posts", "leads", "activity"))
