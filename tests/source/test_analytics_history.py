"""One analytics snapshot per record per UTC day: the first run of a day refreshes every post and lead
magnet younger than the analytics window, later runs that day replace the day's rows of what they read,
and a reconciliation refreshes the older ones. Figures are checked against the emulator's ground truth on
each simulated day, and the gains between days against gains computed from that truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from leadpanther_emulator.generator import DAY_MS
from tests.truth import loaded_rows, sync

ENGAGEMENT = "GET /clients/{clientId}/posts/{postId}/engagement"
MAGNET_ANALYTICS = "GET /clients/{clientId}/lead-magnets/{leadMagnetId}/analytics"
FIGURES = ("impressions", "reactions", "comments", "reposts", "clicks")
RESOURCES = [
    "clients",
    "posts",
    "lead_magnets",
    "post_engagement",
    "post_engagement_daily",
    "lead_magnet_analytics",
    "lead_magnet_analytics_daily",
]
LOOKBACK = timedelta(hours=1)


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def truth_figures(emu, resource: str, key: str) -> dict[tuple[str, str], dict]:
    return {(c, r[key]): r for c in emu.client_ids("active") for r in emu.truth(resource, c)}


def daily(pipeline, table: str, key: str, day: datetime) -> dict[tuple[str, str], dict]:
    return {(r["client_id"], r[key]): r for r in loaded_rows(pipeline, table) if r["snapshot_date"] == day.date()}


def expected_refresh(emu, resource: str, window_floor: datetime, engaged_only: bool) -> set[tuple[str, str]]:
    """Records a quick run on a new day asks analytics for: younger than the window, or read again by the
    cursor's lookback (created or updated within an hour of the newest seen). From the truth, not the code."""
    out = set()
    for client in emu.client_ids("active"):
        rows = emu.truth(resource, client)
        created_max = max(ts(r["created_at"]) for r in rows)
        updated_max = max(ts(r["updated_at"]) for r in rows)
        for r in rows:
            if engaged_only and r["status"] not in ("published", "publishing"):
                continue
            created, updated = ts(r["created_at"]), ts(r["updated_at"])
            if created >= window_floor or created >= created_max - LOOKBACK or updated >= updated_max - LOOKBACK:
                out.add((client, r["id"]))
    return out


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_daily_snapshots_refresh_the_window_once_a_day_and_gains_match_the_truth(make_duckdb_pipeline, order) -> None:
    config = EmulatorConfig(seed=41, preset="tiny", order=order, posts_per_client=240, lead_magnets_per_client=40)
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline(f"history_{order}")
        day0 = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
        first = sync(pipeline, emu, page_size=10, resources=RESOURCES, synced_at=day0)
        assert first.exit_code == 0, first.summary_lines()
        truth0 = truth_figures(emu, "post_engagement", "post_id")
        engaged = {
            k for k, p in truth_figures(emu, "posts", "id").items() if p["status"] in ("published", "publishing")
        }
        snap0 = daily(pipeline, "post_engagement_daily", "post_id", day0)
        assert set(snap0) == engaged
        assert all(snap0[k][f] == truth0[k][f] for k in snap0 for f in FIGURES)

        # A second run the same day replaces that day's rows of what it reads; no window refresh again.
        emu.reset_request_log()
        same_day = sync(
            pipeline, emu, page_size=10, mode="quick", resources=RESOURCES, synced_at=day0 + timedelta(hours=2)
        )
        assert same_day.exit_code == 0
        assert emu.request_counts()[ENGAGEMENT] < len(engaged) // 10
        assert len(loaded_rows(pipeline, "post_engagement_daily")) == len(engaged)

        # The next day: every post younger than the window is refreshed, nothing older.
        emu.advance_clock(DAY_MS)
        day1 = day0 + timedelta(days=1)
        floor = day1 - timedelta(days=30)
        expected = expected_refresh(emu, "posts", floor, engaged_only=True)
        assert 0 < len(expected) < len(engaged) // 2
        emu.reset_request_log()
        next_day = sync(pipeline, emu, page_size=10, mode="quick", resources=RESOURCES, synced_at=day1)
        assert next_day.exit_code == 0, next_day.summary_lines()
        counts = emu.request_counts()
        assert counts[ENGAGEMENT] == len(expected), (counts[ENGAGEMENT], len(expected))
        posts_scans = {s.scan for s in next_day.log.statuses if s.resource == "posts" and s.status == "ok"}
        assert posts_scans == {"early_stop" if order == "newest" else "tail"}, posts_scans
        # The list pages read for the window: about what the young posts fill, not the whole list.
        young_posts = sum(
            1 for c in emu.client_ids("active") for p in emu.truth("posts", c) if ts(p["created_at"]) >= floor
        )
        assert counts["GET /clients/{clientId}/posts"] <= young_posts // 10 + 3 * len(emu.client_ids("active"))
        truth1 = truth_figures(emu, "post_engagement", "post_id")
        snap1 = daily(pipeline, "post_engagement_daily", "post_id", day1)
        assert set(snap1) == expected
        assert all(snap1[k][f] == truth1[k][f] for k in snap1 for f in FIGURES)
        # Gains between the two snapshots equal the truth's gains, computed here from the emulator alone.
        gains = {k: snap1[k]["impressions"] - snap0[k]["impressions"] for k in snap1 if k in snap0}
        truth_gains = {k: truth1[k]["impressions"] - truth0[k]["impressions"] for k in gains}
        assert gains == truth_gains and sum(gains.values()) > 0
        # The latest table holds each post's latest snapshot: day 1 for those refreshed, day 0 for the others.
        latest = {(r["client_id"], r["post_id"]): r for r in loaded_rows(pipeline, "post_engagement")}
        assert all(latest[k]["impressions"] == (truth1 if k in expected else truth0)[k]["impressions"] for k in engaged)

        # Lead magnets: the same rule.
        magnets = expected_refresh(emu, "lead_magnets", floor, engaged_only=False)
        assert counts[MAGNET_ANALYTICS] == len(magnets)
        assert set(daily(pipeline, "lead_magnet_analytics_daily", "lead_magnet_id", day1)) == magnets

        # Later that day: no second window refresh.
        emu.reset_request_log()
        later = sync(
            pipeline, emu, page_size=10, mode="quick", resources=RESOURCES, synced_at=day1 + timedelta(hours=5)
        )
        assert later.exit_code == 0
        assert emu.request_counts()[ENGAGEMENT] < len(expected) // 3

        # A reconciliation refreshes every post, the old ones too.
        emu.reset_request_log()
        recon = sync(
            pipeline, emu, page_size=10, mode="reconcile", resources=RESOURCES, synced_at=day1 + timedelta(hours=6)
        )
        assert recon.exit_code == 0
        assert emu.request_counts()[ENGAGEMENT] == len(engaged)
        assert set(daily(pipeline, "post_engagement_daily", "post_id", day1)) == engaged
        assert len(loaded_rows(pipeline, "post_engagement_daily")) == 2 * len(engaged)


def test_window_setting_and_a_failed_refresh_is_retried_the_same_day(make_duckdb_pipeline) -> None:
    """analytics_window_days is a config key; a client whose window refresh did not complete (its posts
    scan failed) gets it on the next run that day."""
    with run_emulator(EmulatorConfig(seed=43, preset="tiny", posts_per_client=120)) as emu:
        pipeline = make_duckdb_pipeline("history_window")
        day0 = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
        assert sync(pipeline, emu, resources=RESOURCES, synced_at=day0).exit_code == 0
        emu.advance_clock(DAY_MS)
        day1 = day0 + timedelta(days=1)
        client = emu.client_ids("active")[0]
        emu.set_grant(client, "revoked")
        emu.reset_request_log()
        run = sync(pipeline, emu, mode="quick", resources=RESOURCES, synced_at=day1, analytics_window_days=90)
        assert run.exit_code == 0  # a revoked grant is recorded as not_granted, not a failure
        floor = day1 - timedelta(days=90)
        others = expected_refresh(emu, "posts", floor, engaged_only=True)
        assert emu.request_counts()[ENGAGEMENT] == len(others)
        emu.set_grant(client, "active")
        emu.reset_request_log()
        again = sync(
            pipeline,
            emu,
            mode="quick",
            resources=RESOURCES,
            synced_at=day1 + timedelta(hours=1),
            analytics_window_days=90,
        )
        assert again.exit_code == 0
        refreshed = {k for k in expected_refresh(emu, "posts", floor, engaged_only=True) if k[0] == client}
        # The other clients re-read only their unchanged edge (the cursor lookback): no analytics for it.
        assert emu.request_counts()[ENGAGEMENT] == len(refreshed)
