"""The metric layer (models/metrics/, MetricFlow) on DuckDB and PostgreSQL after three runs over two simulated
ISO weeks: per client and week, engagement rate and gains equal sums of the emulator's truth, leads and email
capture rate equal the truth's leads, deliveries and deliveries per lead with email equal the marts; ratios are
NULL when their denominator is 0. The `metrics` command prints the same answer."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import PG_URL, pg_drop

pytest.importorskip("metricflow")
from truth import ENGAGEMENT_FIGURES, engagements_of  # noqa: E402

from leadpanther_emulator import EmulatorConfig, run_emulator  # noqa: E402
from leadpanther_emulator.generator import DAY_MS  # noqa: E402
from pipelines.leadpanther_pipeline import make_pipeline, run_sync  # noqa: E402
from transforms import run_transforms  # noqa: E402
from transforms.metrics import query_metrics  # noqa: E402

DESTS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
OFFSETS = (0, 4, 9)  # run days: at least two ISO weeks, and a gap that spans a week boundary


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _day(v) -> date:
    return v.date() if isinstance(v, datetime) else v


@pytest.fixture(scope="module", params=DESTS)
def history(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"metrics_{request.param}")
    name = f"h2m_{uuid.uuid4().hex[:8]}"
    if request.param == "duckdb":
        pipeline = make_pipeline(
            "duckdb", dataset_name=name, duckdb_path=tmp / "m.duckdb", pipelines_dir=tmp / "pipes", pipeline_name=name
        )
    else:
        pipeline = make_pipeline(
            "postgres", dataset_name=name, credentials=PG_URL, pipelines_dir=tmp / "pipes", pipeline_name=name
        )
    with run_emulator(EmulatorConfig(seed=61, preset="tiny", posts_per_client=60)) as emu:
        active = emu.client_ids("active")
        day0 = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
        options = {"api_key": emu.keys["full"], "base_url": emu.base_url, "transform": False, "backoff_s": 0.01}
        engagement, leads, previous = {}, None, 0
        for offset in OFFSETS:
            emu.advance_clock((offset - previous) * DAY_MS)
            previous = offset
            if offset:
                for client in active:
                    emu.insert("posts", client, 3)
                    emu.insert("lead_magnets", client, 2)  # young: snapshotted, and delivering, on every run
                    emu.insert("leads", client, 4)
            synced_at = day0 + timedelta(days=offset)
            mode = "auto" if offset == 0 else "quick"
            assert run_sync(pipeline, mode=mode, synced_at=synced_at, **options).exit_code == 0
            engagement[synced_at.date()] = {
                (c, e["post_id"]): e for c in active for e in emu.truth("post_engagement", c)
            }
        leads = {c: emu.truth("leads", c) for c in active}
        result = run_transforms(pipeline)
        assert not result.failed_errors, result.summary_lines()
    yield pipeline, result.models_schema, engagement, leads, tmp
    if request.param == "postgres":
        pg_drop(pipeline.dataset_name)


def _by_client_week(table, *metrics: str) -> dict[tuple[str, date], tuple]:
    out = {}
    for r in table.records():
        out[(r["client"], _day(r["metric_time__week"]))] = tuple(r[m] for m in metrics)
    return out


def test_engagement_rate_per_client_per_week_equals_the_truth(history):
    pipeline, ms, engagement, _, _ = history
    table = query_metrics(
        pipeline, ["engagement_rate", "impressions_gained", "engagements_gained"], ["client", "metric_time__week"]
    )
    shown = _by_client_week(table, "engagement_rate", "impressions_gained", "engagements_gained")
    with pipeline.sql_client() as sql:
        snapshots = sql.execute_sql(
            f"select client_id, post_id, snapshot_date, previous_snapshot_date, "
            f"impressions_gained from {ms}.fct_post_engagement_daily"
        )
    expected: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    counted = set()
    for client, post, day, prev_day, gained in snapshots:
        if prev_day is None and gained is None:  # an older post's first snapshot: gains unknown, in no week
            continue
        now, before = engagement[day][(client, post)], engagement.get(prev_day, {}).get((client, post))
        sums = expected[(client, _monday(day))]
        sums[0] += now["impressions"] - (before["impressions"] if before else 0)
        sums[1] += engagements_of(now) - (sum(before[f] for f in ENGAGEMENT_FIGURES) if before else 0)
        counted.add((client, _monday(day)))
    assert len({week for _, week in counted}) >= 2 and any(v[0] > 0 for v in expected.values())
    for key, (impressions, engagements) in expected.items():
        rate, shown_impressions, shown_engagements = shown[key]
        assert (shown_impressions, shown_engagements) == (impressions, engagements), key
        if impressions == 0:  # NULL on zero: no impression gained, no rate (not 0, not an error)
            assert rate is None, key
        else:
            assert rate == pytest.approx(engagements / impressions), key
    assert any(shown[k][0] is None for k in expected if expected[k][0] == 0), "a week without gains was expected"


def test_leads_email_capture_and_deliveries_per_client_per_week(history):
    pipeline, ms, _, leads, _ = history
    metrics = ["leads", "leads_with_email", "email_capture_rate", "deliveries", "deliveries_per_lead_with_email"]
    shown = _by_client_week(query_metrics(pipeline, metrics, ["client", "metric_time__week"]), *metrics)
    truth: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for client, rows in leads.items():
        for lead in rows:
            week = truth[(client, _monday(date.fromisoformat(lead["created_at"][:10])))]
            week[0] += 1
            week[1] += bool((lead.get("email") or "").strip())
    with pipeline.sql_client() as sql:
        daily = sql.execute_sql(f"select client_id, day, deliveries from {ms}.agg_client_daily")
    deliveries: dict[tuple[str, date], int] = defaultdict(int)
    for client, day, n in daily:
        deliveries[(client, _monday(day))] += n
    assert sum(v[0] for v in truth.values()) and any(deliveries.values())
    for key, (n_leads, with_email) in truth.items():
        got_leads, got_email, rate, got_deliveries, per_lead = shown[key]
        assert (got_leads, got_email) == (n_leads, with_email), key
        assert rate == pytest.approx(with_email / n_leads), key
        assert got_deliveries == deliveries[key], key
        assert per_lead == (pytest.approx(deliveries[key] / with_email) if with_email else None), key


@pytest.mark.parametrize("history", ["duckdb"], indirect=True)
def test_metrics_command_prints_the_answer(history, capsys, monkeypatch):
    """`leadpanther-elt metrics` in-process on the DuckDB file, as a user names it (the default pipeline, whose
    first metric query writes the semantic manifest with one dbt parse): the same figures, integers as
    integers, NULL spelled out. Its queries run on PostgreSQL in the tests above."""
    pipeline, _, _, _, tmp = history
    from pipelines.cli import main

    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp / "project"))
    import socket

    calls: list = []
    real_connect = socket.socket.connect

    def connect(sock, address):  # no outbound call (an update check, telemetry): loopback only
        calls.append(address)
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"outbound connection to {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    args = [
        "metrics",
        "engagement_rate",
        "impressions_gained",
        "--by",
        "client,metric_time__week",
        "--duckdb-path",
        str(tmp / "m.duckdb"),
        "--dataset",
        pipeline.dataset_name,
    ]
    expected = query_metrics(pipeline, ["engagement_rate", "impressions_gained"], ["client", "metric_time__week"])
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    header = out.index(next(line for line in out if line.split()[:2] == ["metric_time__week", "client"]))
    printed = [line.split() for line in out[header + 1 :]]
    assert len(printed) == len(expected.rows) > 0
    for week, client, rate, impressions in printed:
        r = next(x for x in expected.records() if x["client"] == client and str(_day(x["metric_time__week"])) == week)
        assert impressions == ("NULL" if r["impressions_gained"] is None else str(r["impressions_gained"]))
        assert rate == ("NULL" if r["engagement_rate"] is None else f"{r['engagement_rate']:.4f}")
    assert any(line[2] == "NULL" for line in printed) and any(line[2] != "NULL" for line in printed)
    assert not [a for a in calls if isinstance(a, tuple) and a[0] not in ("127.0.0.1", "::1", "localhost")]
