"""How `_dlt_pipeline_state` grows over many hourly quick runs, with and without pruning old state rows.

    python -m bench.state_growth --runs 100 --clients 200

Each run is a quick run with nothing new (the state still changes: run counters move), into DuckDB. dlt
appends the whole state (compressed) on every such run; `pipelines/state_history.py` keeps the newest 3.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines import post_load
from pipelines.leadpanther_pipeline import make_pipeline, run_sync


def state_table(pipeline) -> tuple[int, int]:
    with pipeline.sql_client() as sql:
        table = sql.make_qualified_table_name("_dlt_pipeline_state")
        rows = sql.execute_sql(f"SELECT count(*), coalesce(sum(length(state)), 0) FROM {table}")
    return int(rows[0][0]), int(rows[0][1])


def series(emu, runs: int, prune: bool, workdir: Path) -> list[tuple[int, int]]:
    pipeline = make_pipeline("duckdb", "leadpanther", duckdb_path=workdir / "s.duckdb", pipelines_dir=workdir / "p")
    original = post_load.prune_state_history
    if not prune:
        post_load.prune_state_history = lambda pipeline: 0
    out = []
    try:
        for _ in range(runs):
            result = run_sync(pipeline, api_key=emu.keys["full"], base_url=emu.base_url, transform=False,
                              mode="quick", resources=["clients", "posts", "lead_magnets", "leads", "activity"])
            assert result.error is None, result.error
            out.append(state_table(pipeline))
    finally:
        post_load.prune_state_history = original
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.state_growth", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--clients", type=int, default=200)
    args = parser.parse_args()
    with run_emulator(EmulatorConfig(seed=7, preset="agency", clients=args.clients)) as emu:
        for prune in (False, True):
            started = time.perf_counter()
            points = series(emu, args.runs, prune, Path(tempfile.mkdtemp(prefix="lp_state_")))
            label = "pruned (newest 3 kept)" if prune else "dlt's default (never pruned)"
            marks = [1, 10, 50, args.runs]
            shown = ", ".join(f"run {m}: {points[m - 1][0]} rows {points[m - 1][1] / 1e6:.2f} MB"
                              for m in marks if m <= len(points))
            print(f"{label}: {shown} ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
