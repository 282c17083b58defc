"""What publishing the dashboards file costs per run: `python -m bench.publish_cost [--preset demo large]`.

For each preset: one first load with the models built (emulator in its own process, no latency), then the
publication timed `--repeat` times, marts only (the default) and with `publish_raw = true`. Prints seconds and
MB of each, and the run's load and transform times beside them for scale.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.leadpanther_pipeline import duckdb_file, make_pipeline, run_sync
from pipelines.publish import publish_dashboards


def measure(preset: str, repeat: int) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix=f"publish_{preset}_") as tmp,
        run_emulator(EmulatorConfig(seed=7, preset=preset, warm=preset != "demo"), process=True) as emu,
    ):
        pipeline = make_pipeline(
            "duckdb",
            "leadpanther",
            duckdb_path=Path(tmp) / "lp.duckdb",
            pipelines_dir=Path(tmp) / "pipes",
            pipeline_name=f"publish_{preset}",
        )
        started = time.monotonic()
        result = run_sync(pipeline, api_key=emu.keys["full"], base_url=emu.base_url)
        run_s = time.monotonic() - started
        assert result.exit_code == 0, result.summary_lines()
        main = duckdb_file(pipeline)
        figures: dict = {
            "preset": preset,
            "run_s": run_s,
            "main_mb": main.stat().st_size / 1e6,
            "in_run": result.publication.line().strip(),
        }
        for raw in (False, True):
            os.environ["DESTINATION__DUCKDB__DASHBOARDS__PUBLISH_RAW"] = "true" if raw else "false"
            times, sizes, rows = [], [], 0
            for i in range(repeat):
                publication = publish_dashboards(main, "leadpanther", f"bench {i}")
                times.append(publication.seconds)
                sizes.append(publication.size_bytes / 1e6)
                rows = sum(publication.tables.values())
            figures["raw" if raw else "marts"] = {
                "median_s": statistics.median(times),
                "runs_s": times,
                "mb": sizes[-1],
                "rows": rows,
                "tables": len(publication.tables),
            }
        os.environ.pop("DESTINATION__DUCKDB__DASHBOARDS__PUBLISH_RAW", None)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", nargs="+", default=["demo", "large"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for preset in args.preset:
        f = measure(preset, args.repeat)
        print(
            f"preset {preset}: first run {f['run_s']:.1f} s, main file {f['main_mb']:.1f} MB; in the run: {f['in_run']}"
        )
        for kind in ("marts", "raw"):
            m = f[kind]
            label = "marts only (default)" if kind == "marts" else "marts + raw (publish_raw)"
            print(
                f"  {label:<26} {m['tables']:>3} tables {m['rows']:>10,} rows  {m['mb']:>7.1f} MB  "
                f"median {m['median_s']:.2f} s  ({', '.join(f'{t:.2f}' for t in m['runs_s'])})",
                flush=True,
            )


if __name__ == "__main__":
    main()
