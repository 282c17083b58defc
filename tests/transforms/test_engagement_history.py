"""fct_post_engagement_daily against the emulator: cumulative figures per snapshot day, and gains since the
previous snapshot (with the days between) equal to gains computed here from the emulator's truth alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("pipelines.leadpanther_pipeline")
from leadpanther_emulator import EmulatorConfig, run_emulator  # noqa: E402
from leadpanther_emulator.generator import DAY_MS  # noqa: E402
from pipelines.leadpanther_pipeline import make_pipeline, run_sync  # noqa: E402
from transforms import run_transforms  # noqa: E402

FIGURES = ("impressions", "reactions", "comments", "reposts", "clicks")


def _truth(emu) -> dict[tuple[str, str], dict]:
    return {(c, e["post_id"]): e for c in emu.client_ids("active") for e in emu.truth("post_engagement", c)}


def test_daily_gains_equal_the_truth_over_uneven_gaps(tmp_path) -> None:
    with run_emulator(EmulatorConfig(seed=51, preset="tiny", posts_per_client=120)) as emu:
        name = f"hist_{uuid.uuid4().hex[:8]}"
        pipeline = make_pipeline("duckdb", dataset_name=name, duckdb_path=tmp_path / "hist.duckdb",
                                 pipelines_dir=tmp_path / "pipes", pipeline_name=name)
        options = {"api_key": emu.keys["full"], "base_url": emu.base_url, "transform": False, "backoff_s": 0.01}
        day0 = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
        truths = {}
        for offset in (0, 1, 3):  # snapshots on day 0, day 1 and day 3: gaps of 1 and 2 days
            if offset:
                emu.advance_clock((offset - max(d for d in truths)) * DAY_MS)
            mode = "auto" if offset == 0 else "quick"
            assert run_sync(pipeline, mode=mode, synced_at=day0 + timedelta(days=offset), **options).exit_code == 0
            truths[offset] = _truth(emu)
        result = run_transforms(pipeline)
        assert not result.failed_errors and not result.warnings, result.summary_lines()
        with pipeline.sql_client() as sql:
            rows = sql.execute_sql(
                f"select client_id, post_id, snapshot_date, previous_snapshot_date, days_since_previous, "
                f"impressions, impressions_gained, engagements_gained "
                f"from {result.models_schema}.fct_post_engagement_daily"
            )
    by_key = {(r[0], r[1], r[2]): r for r in rows}
    day = {offset: (day0 + timedelta(days=offset)).date() for offset in truths}
    checked = {1: 0, 2: 0}
    for (client, post, snapshot), row in by_key.items():
        offset = next(o for o, d in day.items() if d == snapshot)
        truth = truths[offset][(client, post)]
        assert row[5] == truth["impressions"]
        if row[3] is None:  # the post's first snapshot: no gain stated
            assert row[4] is None and row[6] is None and row[7] is None
            continue
        previous = next(o for o, d in day.items() if d == row[3])
        before = truths[previous][(client, post)]
        assert row[4] == offset - previous
        assert row[6] == truth["impressions"] - before["impressions"]
        assert row[7] == sum(truth[f] - before[f] for f in FIGURES if f != "impressions")
        checked[row[4]] += 1
    # Young posts have a snapshot every day a run happened: gains over 1 day and over 2 days were both checked.
    assert checked[1] > 0 and checked[2] > 0, checked
    assert any(r[6] for r in rows if r[6] is not None), "no impressions were gained at all"
