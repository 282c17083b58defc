"""Quick runs ask no analytics for the rows they re-read only because of the cursor lookback, unless
something arrived or changed inside it (helpers/overlap.py): then every re-read row gets its analytics, and
a row committed late with an older timestamp is never left without figures. Both emulator orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from tests.truth import loaded_rows, sync

ENGAGEMENT = "GET /clients/{clientId}/posts/{postId}/engagement"
MAGNET_ANALYTICS = "GET /clients/{clientId}/lead-magnets/{leadMagnetId}/analytics"
RESOURCES = ["clients", "posts", "lead_magnets", "post_engagement", "lead_magnet_analytics"]
ENGAGED = ("published", "publishing")


def _ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _insert_published(emu, client: str, created_ms: int | None) -> list[str]:
    """Insert posts until some are published (the emulator draws a status per row); their ids."""
    ids = emu.insert("posts", client, 6, created_ms=created_ms)
    status = {p["id"]: p["status"] for p in emu.truth("posts", client)}
    published = [i for i in ids if status[i] in ENGAGED]
    assert published, "no inserted post was published"
    return published


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_re_read_rows_get_analytics_only_when_their_edge_changed(make_duckdb_pipeline, order: str) -> None:
    config = EmulatorConfig(seed=23, preset="tiny", clients=5, order=order, posts_per_client=60,
                            lead_magnets_per_client=12)
    with run_emulator(config) as emu:
        pipeline = make_duckdb_pipeline(f"edge_{order}")
        day0 = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
        assert sync(pipeline, emu, page_size=10, resources=RESOURCES, synced_at=day0).exit_code == 0

        # Nothing new, the same day: the re-read edge rows are exactly what the last run saw.
        emu.reset_request_log()
        quiet = sync(pipeline, emu, page_size=10, mode="quick", resources=RESOURCES,
                     synced_at=day0 + timedelta(hours=1))
        assert quiet.exit_code == 0, quiet.summary_lines()
        counts = emu.request_counts()
        assert counts[ENGAGEMENT] == 0 and counts[MAGNET_ANALYTICS] == 0, dict(counts)

        # A post committed late inside the lookback (older than the newest row) and a new post.
        late_client, new_client = emu.client_ids("active")[:2]
        newest = max(_ms(p["created_at"]) for p in emu.truth("posts", late_client))
        late = _insert_published(emu, late_client, created_ms=newest - 10 * 60 * 1000)
        new = _insert_published(emu, new_client, created_ms=None)
        emu.reset_request_log()
        after = sync(pipeline, emu, page_size=10, mode="quick", resources=RESOURCES,
                     synced_at=day0 + timedelta(hours=2))
        assert after.exit_code == 0, after.summary_lines()
        counts = emu.request_counts()
        truth = {(c, e["post_id"]): e for c in (late_client, new_client) for e in emu.truth("post_engagement", c)}
        loaded = {(r["client_id"], r["post_id"]): r for r in loaded_rows(pipeline, "post_engagement")}
        for key in [(late_client, i) for i in late] + [(new_client, i) for i in new]:
            assert key in loaded, f"no figures for {key}"
            assert loaded[key]["impressions"] == truth[key]["impressions"]
        # The late client's edge changed (all its re-read rows asked again); other clients asked nothing.
        clients = len(emu.client_ids("active"))
        assert len(late) + len(new) <= counts[ENGAGEMENT] < len(late) + len(new) + 10 * 2, dict(counts)
        assert counts[MAGNET_ANALYTICS] == 0 and clients > 2
