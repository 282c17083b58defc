"""Per-record analytics: fetched while the list scans read, at the run's full concurrency, and an analytics
route the API does not have is skipped once per client-route instead of asked for every record."""

from __future__ import annotations

import pytest

from leadpanther_emulator import EmulatorConfig, Faults, run_emulator
from sources.leadpanther.helpers.analytics import AnalyticsFetcher
from sources.leadpanther.helpers.client import LeadPantherClient
from sources.leadpanther.helpers.pii import PiiPolicy
from sources.leadpanther.helpers.sync_log import SyncLog
from sources.leadpanther.settings import LEAD_MAGNET_ANALYTICS_PATH, POST_ENGAGEMENT_PATH
from tests.truth import assert_matches_truth, sync

ENGAGEMENT = "GET /clients/{clientId}/posts/{postId}/engagement"
MAGNET_ANALYTICS = "GET /clients/{clientId}/lead-magnets/{leadMagnetId}/analytics"
ANALYTICS_TABLES = ("post_engagement", "lead_magnet_analytics", "post_engagement_daily", "lead_magnet_analytics_daily")


def engaged_posts(emu) -> int:
    return sum(
        1 for c in emu.client_ids("active") for p in emu.truth("posts", c) if p["status"] in ("published", "publishing")
    )


def test_analytics_share_the_run_concurrency_and_overlap_the_list_scans(make_duckdb_pipeline) -> None:
    """Two readable clients, 8 requests in flight: the old per-client analytics workers reached 2 at most."""
    config = EmulatorConfig(seed=4, preset="tiny", posts_per_client=150, faults=Faults(latency_ms=15))
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline("fanout")
        result = sync(pipeline, emu, max_concurrency=8, page_size=20)
        assert result.exit_code == 0, result.summary_lines()
        peaks = emu.request_peaks()
        active = len(emu.client_ids("active"))
        assert active == 2
        assert peaks["analytics"] > 2 * active, peaks  # the clients' records share the slots
        assert peaks["total"] <= 8, peaks  # ... and the run's bound holds over lists and analytics together
        assert peaks["analytics_started_during_lists"] > 0, peaks  # engagement asked while the posts are read
        assert emu.request_counts()[ENGAGEMENT] == engaged_posts(emu)
        tables = ("posts", "lead_magnets", "post_engagement", "lead_magnet_analytics")
        assert_matches_truth(pipeline, emu, tables=tables)
        statuses = [s for s in result.log.statuses if s.resource == "post_engagement"]
        assert len(statuses) == active and all(s.status == "ok" and s.finished_at for s in statuses)
        assert sum(s.requests for s in statuses) == engaged_posts(emu)


@pytest.mark.parametrize("absent", ["post_engagement", "lead_magnet_analytics"])
def test_an_absent_analytics_route_is_skipped_once_per_client(make_duckdb_pipeline, absent: str) -> None:
    config = EmulatorConfig(seed=6, preset="tiny", faults=Faults(absent_routes=[absent]))
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline(f"absent_{absent}")
        result = sync(pipeline, emu)
        active = emu.client_ids("active")
        # Partial (exit 3): the operator must hear the route is missing; everything else loaded.
        assert result.exit_code == 3, result.summary_lines()
        skipped = [s for s in result.log.statuses if s.resource == absent]
        assert {s.client_id for s in skipped} == set(active) and len(skipped) == len(active)
        assert all(s.status == "skipped" and s.http_status == 404 and "absent" in s.error_message for s in skipped)
        counts = emu.request_counts()
        route, other = (ENGAGEMENT, MAGNET_ANALYTICS) if absent == "post_engagement" else (MAGNET_ANALYTICS, ENGAGEMENT)
        assert counts[route] == 3 * len(active), counts  # three probes per client, not one per record
        assert counts[other] > 3 * len(active)
        present = "lead_magnet_analytics" if absent == "post_engagement" else "post_engagement"
        assert_matches_truth(pipeline, emu, tables=("posts", "lead_magnets", "leads", "activity", present))
        assert any(f"SKIPPED {absent}" in line and "HTTP 404" in line for line in result.summary_lines())


def test_analytics_only_run_loads_no_list_rows_and_keeps_list_cursors(make_duckdb_pipeline) -> None:
    """Selecting only an analytics table still reads its parent list (to know the records), but loads none
    of its rows and leaves its cursor alone, so a later run of the list table misses nothing."""
    with run_emulator(EmulatorConfig(seed=8, preset="tiny")) as emu:
        pipeline = make_duckdb_pipeline("analytics_only")
        result = sync(pipeline, emu, resources=["post_engagement"])
        assert result.exit_code == 0, result.summary_lines()
        assert_matches_truth(pipeline, emu, tables=("post_engagement",))
        assert "posts" not in pipeline.default_schema.data_table_names()
        result = sync(pipeline, emu, resources=["posts"])
        assert result.exit_code == 0
        assert {s.run_mode for s in result.log.statuses if s.resource == "posts" and s.status == "ok"} == {"initial"}
        assert_matches_truth(pipeline, emu, tables=("posts",))


def test_records_that_vanish_before_their_analytics_are_not_a_failure() -> None:
    """404s for some records after the route answered for others: those records were deleted between the
    list and the call. They are passed over; the client-route ends ok with the others' figures."""
    with run_emulator(EmulatorConfig(seed=10, preset="tiny")) as emu:
        client_id = emu.client_ids("active")[0]
        posts = [p for p in emu.truth("posts", client_id) if p["status"] == "published"][:5]
        ghosts = [dict(p, id=f"00000000-0000-4000-8000-00000000000{k}") for k, p in enumerate(posts[:3])]
        log = SyncLog()
        paths = {"post_engagement": POST_ENGAGEMENT_PATH, "lead_magnet_analytics": LEAD_MAGNET_ANALYTICS_PATH}
        with LeadPantherClient(emu.base_url, emu.keys["full"], max_concurrency=4) as client:
            fetcher = AnalyticsFetcher(client, PiiPolicy.from_config(None, None), log, paths, max_concurrency=4)
            fetcher.tables = {"post_engagement"}
            fetcher.expect(1)
            feed = fetcher.feed("posts", client_id, {})
            assert feed is not None
            fetcher.submit(feed, posts[:1] + ghosts + posts[1:])
            fetcher.close_feed(feed, complete=True)
            tables = [t for t in fetcher.items("post_engagement") if t is not None]
            fetcher.close()
        loaded = {pid for t in tables for pid in t.column("post_id").to_pylist()}
        assert loaded == {p["id"] for p in posts}
        assert feed.status is not None and feed.status.status == "ok", feed.status
        assert feed.status.requests == len(posts) + len(ghosts) and feed.status.rows == len(posts)
