"""Run one sync in its own process so a test can SIGKILL it at a chosen point (see test_kill_resume.py).

python tests/faults/kill_driver.py '<json: base_url, api_key, duckdb_path, pipelines_dir, name>'
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def main() -> None:
    from pipelines.leadpanther_pipeline import make_pipeline, run_sync

    spec = json.loads(sys.argv[1])
    pipeline = make_pipeline(
        "duckdb",
        "leadpanther",
        duckdb_path=spec["duckdb_path"],
        pipelines_dir=spec["pipelines_dir"],
        pipeline_name=spec["name"],
    )
    result = run_sync(
        pipeline,
        api_key=spec["api_key"],
        base_url=spec["base_url"],
        transform=False,
        backoff_s=0.01,
        max_concurrency=4,
    )
    print("DRIVER_DONE exit", result.exit_code, flush=True)
    sys.exit(result.exit_code)


if __name__ == "__main__":
    main()
