"""fct_post_engagement_daily against the emulator: cumulative figures per snapshot day, and gains since the
previous snapshot (with the days between) equal to gains computed here from the emulator's truth alone; the
lifetime marts equal the API's latest figures, with what was gained before tracking began stated apart."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

pytest.importorskip("pipelines.leadpanther_pipeline")
from conftest import history_pipeline  # noqa: E402
from test_e2e import LIFETIME_CLIENT, LIFETIME_MAGNET, LIFETIME_POST, _compare, _read  # noqa: E402
from truth import (  # noqa: E402
    expected_client_totals,
    expected_lead_magnet_lifetime,
    expected_post_lifetime,
    truth_frames,
)

from leadpanther_emulator import EmulatorConfig, run_emulator  # noqa: E402
from leadpanther_emulator.generator import DAY_MS  # noqa: E402
from pipelines.leadpanther_pipeline import run_sync  # noqa: E402
from transforms import run_transforms  # noqa: E402

FIGURES = ("impressions", "reactions", "comments", "reposts", "clicks")


def _truth(emu) -> dict[tuple[str, str], dict]:
    return {(c, e["post_id"]): e for c in emu.client_ids("active") for e in emu.truth("post_engagement", c)}


def _deliveries(emu) -> dict[tuple[str, str], int]:
    return {(c, a["lead_magnet_id"]): a["deliveries"]
            for c in emu.client_ids("active") for a in emu.truth("lead_magnet_analytics", c)}


def test_daily_gains_equal_the_truth_over_uneven_gaps(tmp_path) -> None:
    """Snapshots on days 0, 1, 3 and 15, with posts and lead magnets created on day 1 (after the history began):
    their first snapshot counts from zero; older records' first snapshot states no gain."""
    with run_emulator(EmulatorConfig(seed=51, preset="tiny", posts_per_client=120)) as emu:
        emu_active = emu.client_ids("active")
        pipeline, options, day0 = history_pipeline(emu, tmp_path, "hist")
        truths, deliveries, created = {}, {}, set()
        for offset in (0, 1, 3, 15):  # snapshots on days 0, 1, 3 and 15: gaps of 1, 2 and 12 days
            if offset:
                emu.advance_clock((offset - max(d for d in truths)) * DAY_MS)
            if offset == 1:
                for client in emu.client_ids("active"):
                    created.update((client, i) for i in emu.insert("posts", client, 6))
                    created.update((client, i) for i in emu.insert("lead_magnets", client, 2))
            mode = "auto" if offset == 0 else "quick"
            assert run_sync(pipeline, mode=mode, synced_at=day0 + timedelta(days=offset), **options).exit_code == 0
            truths[offset], deliveries[offset] = _truth(emu), _deliveries(emu)
        # Posts the history saw from their start (their figures were 0 on day 0): created since, or unpublished.
        fresh = created | {(c, p["id"]) for c in emu.client_ids("active") for p in emu.truth("posts", c)
                           if not p.get("published_at") or p["published_at"][:10] >= day0.date().isoformat()}
        frames = truth_frames(emu)
        result = run_transforms(pipeline)
        assert not result.failed_errors and not result.warnings, result.summary_lines()
        ms = result.models_schema
        lifetime = {table: _read(pipeline, f"select * from {ms}.{table}")
                    for table in ("fct_post_engagement", "fct_lead_magnets", "agg_client_totals")}
        with pipeline.sql_client() as sql:
            rows = sql.execute_sql(
                f"select client_id, post_id, snapshot_date, previous_snapshot_date, days_since_previous, "
                f"impressions, impressions_gained, engagements_gained, gains_counted_from "
                f"from {ms}.fct_post_engagement_daily"
            )
            magnet_days = sql.execute_sql(
                f"select client_id, lead_magnet_id, snapshot_date "
                f"from {ms}.int_leadpanther__lead_magnet_deliveries_daily")
            funnel = sql.execute_sql(
                f"select client_id, lead_magnet_id, day, deliveries from {ms}.fct_lead_funnel where deliveries <> 0")
            agg = sql.execute_sql(
                f"select client_id, day, impressions_gained, engagements_gained, deliveries "
                f"from {ms}.agg_client_daily")
    day = {offset: (day0 + timedelta(days=offset)).date() for offset in truths}
    offset_of = {d: o for o, d in day.items()}
    checked: Counter = Counter()
    expected_agg: dict[tuple[str, object], list[int]] = {}
    for client, post, snapshot, previous_day, days, impressions, gained, engagements_gained, basis in rows:
        truth = truths[offset_of[snapshot]][(client, post)]
        assert impressions == truth["impressions"]
        if previous_day is None:  # the post's first snapshot: gains from zero only if the history saw it from 0
            assert days is None
            if (client, post) not in fresh:
                assert basis is None and gained is None and engagements_gained is None
                continue
            assert basis == "creation"
            before = dict.fromkeys(FIGURES, 0)
            checked["creation"] += 1
        else:
            assert basis == "previous_snapshot"
            before = truths[offset_of[previous_day]][(client, post)]
            assert days == offset_of[snapshot] - offset_of[previous_day]
            checked[days] += 1
        assert gained == truth["impressions"] - before["impressions"]
        assert engagements_gained == sum(truth[f] - before[f] for f in FIGURES if f != "impressions")
        totals = expected_agg.setdefault((client, snapshot), [0, 0, 0])
        totals[0] += gained
        totals[1] += engagements_gained
    # Young posts have a snapshot every day a run happened: gains over 1, 2 and 12 days were all checked.
    assert checked[1] and checked[2] and checked[12] and checked["creation"], checked
    assert any(r[6] for r in rows if r[6] is not None), "no impressions were gained at all"

    # Deliveries per day: gains between the lead magnet's snapshots, from the truth alone.
    expected_funnel: dict[tuple[str, str, object], int] = {}
    by_magnet: dict[tuple[str, str], list] = {}
    for client, magnet, snapshot in magnet_days:
        by_magnet.setdefault((client, magnet), []).append(snapshot)
    for (client, magnet), days in by_magnet.items():
        previous = 0 if (client, magnet) in created else None
        for snapshot in sorted(days):
            now = deliveries[offset_of[snapshot]][(client, magnet)]
            if previous is not None and now - previous:
                expected_funnel[(client, magnet, snapshot)] = now - previous
                expected_agg.setdefault((client, snapshot), [0, 0, 0])[2] += now - previous
            previous = now
    assert {(c, m, d): n for c, m, d, n in funnel} == expected_funnel
    assert any(c for c, m, d in expected_funnel if (c, m) in created), "no new lead magnet delivered"
    stated = {(c, d): [g or 0, e or 0, n] for c, d, g, e, n in agg if g is not None or n}
    assert stated == expected_agg

    # Lifetime after 15 days: the API's figures at each record's latest snapshot (older posts are read only by
    # reconciliations); before tracking: the day-0 figures of records older than the history (0 for those it
    # saw from the start); lifetime = before tracking + every gain since.
    last_post = {}
    for client, post, snapshot, *_ in sorted(rows, key=lambda r: r[2]):
        last_post[(client, post)] = truths[offset_of[snapshot]][(client, post)]
    last_magnet = {key: deliveries[offset_of[max(days)]][key] for key, days in by_magnet.items()}
    posts = expected_post_lifetime(frames, day[0], first_seen=truths[0], last_seen=last_post)
    magnets = expected_lead_magnet_lifetime(frames, day[0], first_seen=deliveries[0], last_seen=last_magnet)
    _compare(lifetime["fct_post_engagement"], posts, ["client_id", "post_id"], LIFETIME_POST)
    _compare(lifetime["fct_lead_magnets"], magnets, ["client_id", "lead_magnet_id"], LIFETIME_MAGNET)
    _compare(lifetime["agg_client_totals"], expected_client_totals(frames, posts, magnets), ["client_id"],
             LIFETIME_CLIENT)
    gains = Counter()
    for client, _, _, _, _, _, gained, _, _ in rows:
        gains[client] += gained or 0
    totals = lifetime["agg_client_totals"].set_index("client_id")
    for client in emu_active:
        t = totals.loc[client]
        assert t.impressions == t.impressions_gained_before_tracking + gains[client] > 0
        assert t.impressions_gained_before_tracking > 0 and gains[client] > 0
    assert (magnets.deliveries_gained_since_tracking > 0).any()
    assert (magnets.deliveries_gained_before_tracking > 0).any()
