"""A year of daily runs: transform time per run at day 7, 30, 90, 180 and 365, incremental vs full refresh.

    python -m bench.history                                  # large preset, DuckDB and PostgreSQL, 365 days
    python -m bench.history --preset medium --days 30 --checkpoints 7,30 --destinations duckdb

Day 0 is a real first load over HTTP from the emulator (in its own process). Every later day is simulated by
bench/history_days.py: the emulator's clock moves a day, each active client gets the day's new records
(`--posts-per-day` etc.), and the rows that day's first quick run loads (new records, clients, the analytics
of every record in the analytics window and of the cursor's edge, figures grown by a day) are written straight
into each destination (tests/transforms/test_history_days.py holds them equal to real quick runs). Days are
loaded in batches; a checkpoint day C is measured as a daily schedule would see it: the models are built
(incremental, catching up since the last checkpoint) on day C-1's data, day C is loaded alone, then `transform`
(incremental) is timed, then `transform --full-refresh`. The last line states incremental day 365 / day 30
on each destination.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.history_days import DayPlan, DayRows, SimulatedDays, write
from leadpanther_emulator import EmulatorConfig, run_emulator
from leadpanther_emulator.models import Backend
from pipelines.leadpanther_pipeline import make_pipeline, run_sync
from transforms import run_transforms

RESULTS = Path(__file__).parent / "results"
PG_URL = "postgresql://postgres:postgres@127.0.0.1:5432/test"
FLUSH_DAYS = 30  # simulated days per load between checkpoints (bounds memory)
COUNTED = ("post_engagement_daily", "lead_magnet_analytics_daily", "posts")


def pipelines(destinations: list[str], dataset: str, workdir: Path) -> dict[str, Any]:
    out = {}
    for name in destinations:
        pipe_name = f"{dataset}_{name}"
        options: dict[str, Any] = (
            {"duckdb_path": workdir / f"{pipe_name}.duckdb"} if name == "duckdb" else {"credentials": PG_URL}
        )
        out[name] = make_pipeline(
            name, dataset_name=dataset, pipelines_dir=workdir / "pipes", pipeline_name=pipe_name, **options
        )
    return out


def drop_postgres(dataset: str) -> None:
    import psycopg2

    con = psycopg2.connect(PG_URL)
    con.autocommit = True
    with con.cursor() as cur:
        for schema in (dataset, f"{dataset}_models", f"{dataset}_staging"):
            cur.execute(f'drop schema if exists "{schema}" cascade')
    con.close()


def counts(pipeline: Any) -> dict[str, int]:
    with pipeline.sql_client() as sql:
        return {t: int(sql.execute_sql(f"select count(*) from {pipeline.dataset_name}.{t}")[0][0]) for t in COUNTED}


SLOWEST = 5  # models reported per timed transform


def timed_transform(pipeline: Any, full_refresh: bool) -> tuple[float, dict[str, float]]:
    """The whole build's wall time, and its slowest models (dbt's own time per model)."""
    t0 = time.monotonic()
    result = run_transforms(pipeline, full_refresh=full_refresh)
    elapsed = time.monotonic() - t0
    if result.failed_errors:
        raise SystemExit(f"data tests failed: {[t.line() for t in result.failed_errors]}")
    ranked = sorted(result.model_seconds.items(), key=lambda item: -item[1])[:SLOWEST]
    return elapsed, {name: round(seconds, 2) for name, seconds in ranked}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="large")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--checkpoints", default="7,30,90,180,365")
    ap.add_argument("--destinations", default="duckdb,postgres")
    ap.add_argument("--dataset", default=f"history_{uuid.uuid4().hex[:6]}")
    ap.add_argument("--posts-per-day", type=int, default=5, help="new posts per active client per day")
    ap.add_argument("--leads-per-day", type=int, default=15)
    ap.add_argument("--activity-per-day", type=int, default=20)
    ap.add_argument("--lead-magnet-every", type=int, default=7, help="one new lead magnet per client every N days")
    ap.add_argument("--workdir", default="/tmp/lp_history_bench")
    ap.add_argument("--name", default=None, help="results file name (default history-<preset>)")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL schemas")
    args = ap.parse_args()
    checkpoints = sorted(int(c) for c in args.checkpoints.split(",") if int(c) <= args.days)
    destinations = args.destinations.split(",")
    plan = DayPlan(args.posts_per_day, args.leads_per_day, args.activity_per_day, args.lead_magnet_every)
    workdir = Path(args.workdir) / args.dataset
    workdir.mkdir(parents=True, exist_ok=True)
    config = EmulatorConfig(seed=args.seed, preset=args.preset, warm=True)
    pipes = pipelines(destinations, args.dataset, workdir)
    results_name = args.name or f"history-{args.preset}"
    report: dict[str, Any] = {
        "preset": args.preset,
        "days": args.days,
        "plan": plan.__dict__,
        "checkpoints": {},
        "destinations": destinations,
        "started": datetime.now(UTC).isoformat(),
    }
    t_start = time.monotonic()
    try:
        with run_emulator(config, process=True) as emu:
            day0 = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
            for name, pipe in pipes.items():
                t0 = time.monotonic()
                sync = run_sync(
                    pipe,
                    base_url=emu.base_url,
                    api_key=emu.keys["full"],
                    mode="auto",
                    transform=False,
                    full_refresh=True,
                    synced_at=day0,
                )
                assert sync.error is None, sync.error
                print(f"day 0: first load into {name} in {time.monotonic() - t0:.1f} s", flush=True)
        days = SimulatedDays(Backend(EmulatorConfig(seed=args.seed, preset=args.preset)))
        days.start(day0)
        batch, batch_days = DayRows(), 0
        for day in range(1, args.days + 1):
            synced_at = day0 + timedelta(days=day)
            days.day_rows(synced_at, days.next_day(plan, day), batch)
            batch_days += 1
            checkpoint = day in checkpoints
            if checkpoint or day + 1 in checkpoints or batch_days >= FLUSH_DAYS or day == args.days:
                t0 = time.monotonic()
                for pipe in pipes.values():
                    write(pipe, batch)
                print(
                    f"days {day - batch_days + 1}-{day}: {batch.rows():,} rows written to {len(pipes)} "
                    f"destination(s) in {time.monotonic() - t0:.1f} s",
                    flush=True,
                )
                batch, batch_days = DayRows(), 0
            if day + 1 in checkpoints:
                for pipe in pipes.values():
                    timed_transform(pipe, full_refresh=False)  # the models as of the day before the checkpoint
            if checkpoint:
                measured: dict[str, Any] = {}
                for name, pipe in pipes.items():
                    incremental, slowest_incremental = timed_transform(pipe, full_refresh=False)
                    full, slowest_full = timed_transform(pipe, full_refresh=True)
                    measured[name] = {
                        "incremental_s": round(incremental, 2),
                        "full_refresh_s": round(full, 2),
                        **counts(pipe),
                        "slowest_models_incremental_s": slowest_incremental,
                        "slowest_models_full_refresh_s": slowest_full,
                    }
                    print(
                        f"day {day} {name}: incremental {incremental:.1f} s, full refresh {full:.1f} s, "
                        f"{measured[name]}",
                        flush=True,
                    )
                report["checkpoints"][day] = measured
                save(report, results_name, [])  # partial results survive an interrupted run
    finally:
        if "postgres" in pipes and not args.keep:
            drop_postgres(args.dataset)
    report["total_s"] = round(time.monotonic() - t_start, 1)
    lines = table(report, checkpoints, destinations)
    save(report, results_name, lines)
    print("\n".join(lines))


def save(report: dict[str, Any], name: str, lines: list[str]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    if lines:
        (RESULTS / f"{name}.txt").write_text("\n".join(lines) + "\n")


def table(report: dict[str, Any], checkpoints: list[int], destinations: list[str]) -> list[str]:
    plan = report["plan"]
    lines = [
        f"History benchmark: preset {report['preset']}, {report['days']} simulated days; new per active client "
        f"per day: {plan['posts']} posts, {plan['leads']} leads, {plan['activity']} activity, a lead magnet every "
        f"{plan['lead_magnet_every']} days; transform = dbt build (models + data tests); 2 CPUs shared",
        "",
        f"{'day':>5} {'destination':<10} {'incremental s':>14} {'full refresh s':>15} {'snapshots':>11} {'posts':>9}",
    ]
    for day in checkpoints:
        for name in destinations:
            m = report["checkpoints"][day][name]
            lines.append(
                f"{day:>5} {name:<10} {m['incremental_s']:>14.1f} {m['full_refresh_s']:>15.1f} "
                f"{m['post_engagement_daily']:>11,} {m['posts']:>9,}"
            )
    first, last = (30 if 30 in checkpoints else checkpoints[0]), checkpoints[-1]
    ratios = []
    for name in destinations:
        a, b = report["checkpoints"][first][name], report["checkpoints"][last][name]
        ratios.append(f"{name} {b['incremental_s'] / a['incremental_s']:.2f}x")
    report["ratio"] = {"from_day": first, "to_day": last, "incremental": ratios}
    lines.append("")
    lines.append(f"incremental run at day {last} / day {first} (target <= 1.2x): {', '.join(ratios)}")
    return lines


if __name__ == "__main__":
    main()
