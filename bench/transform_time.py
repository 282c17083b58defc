"""Time the transform step alone on a loaded DuckDB file: `python -m bench.transform_time --preset demo`.

The load is done once per preset into `--workdir` (kept between invocations, so before/after comparisons
run on the same file); then `run_transforms` is timed `--repeat` times and every run's seconds printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.leadpanther_pipeline import make_pipeline, run_sync


def loaded_pipeline(preset: str, workdir: Path):
    name = f"tt_{preset}"
    path = workdir / f"{name}.duckdb"
    p = make_pipeline("duckdb", dataset_name="leadpanther", duckdb_path=path, pipelines_dir=workdir / "pipes",
                      pipeline_name=name)
    marker = workdir / f"{name}.loaded"
    if not marker.exists():
        t0 = time.monotonic()
        with run_emulator(EmulatorConfig(seed=7, preset=preset, warm=True), process=True) as emu:
            sync = run_sync(p, base_url=emu.base_url, api_key=emu.keys["full"], transform=False, full_refresh=True)
        assert sync.error is None, sync.error
        marker.write_text("ok")
        print(f"loaded preset {preset} in {time.monotonic() - t0:.1f} s")
    return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/lp_transform_bench")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    p = loaded_pipeline(args.preset, workdir)
    from transforms import run_transforms

    times = []
    for _ in range(args.repeat):
        t0 = time.monotonic()
        run_transforms(p)
        times.append(time.monotonic() - t0)
    with p.sql_client() as c:
        rows = c.execute_sql("select count(*) from leadpanther.posts")[0][0]
    print(f"preset {args.preset} ({rows} posts): transform s = {', '.join(f'{t:.2f}' for t in times)}; "
          f"median {statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
