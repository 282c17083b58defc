"""The run's public entry: `make_pipeline`, `run_sync`, `SyncResult`, `ExitCode`; and a script for dlt deploy.

The pieces live in their own modules (pipelines/README.md lists them): `factory` (the pipeline and shard
names), `run` (one run and its steps), `load`, `post_load`, `result` and `exit_codes`, `duckdb_lock`.
`python pipelines/leadpanther_pipeline.py [run options]` is `leadpanther-elt run` (what `dlt deploy`
schedules).
"""

from __future__ import annotations

from pipelines.exit_codes import ExitCode
from pipelines.factory import DEFAULT_DATASET, PIPELINE_NAME, duckdb_file, make_pipeline
from pipelines.paths import project_dir, resolve_duckdb_path
from pipelines.result import SyncResult
from pipelines.run import run_sync

__all__ = [
    "DEFAULT_DATASET",
    "PIPELINE_NAME",
    "ExitCode",
    "SyncResult",
    "duckdb_file",
    "make_pipeline",
    "project_dir",
    "resolve_duckdb_path",
    "run_sync",
]

if __name__ == "__main__":
    import sys

    from pipelines.cli import main

    sys.exit(main(["run", *sys.argv[1:]]))
