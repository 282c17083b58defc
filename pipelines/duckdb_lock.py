"""Waiting for a DuckDB file another process holds, per pipeline (nothing to wait for on a warehouse).

DuckDB lets one process write a file and nobody else open it meanwhile. A run therefore waits for the file
(up to `[destination.duckdb] lock_wait_s`) where it needs it: before the load and before the post-load
steps, not during the extract. Runs of this connector queue behind each other first (`run_lock.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import dlt

from .destination import duckdb_settings, wait_for_duckdb
from .factory import duckdb_file


def default_lock_wait_s(pipeline: dlt.Pipeline) -> float:
    """How long this pipeline's run waits for its DuckDB file (0 for other destinations)."""
    return duckdb_settings().lock_wait_s if duckdb_file(pipeline) is not None else 0.0


def wait_for_destination(pipeline: dlt.Pipeline, wait_s: float, say: Callable[[str], None]) -> None:
    """Return once the pipeline's DuckDB file is free (at once for other destinations)."""
    path = duckdb_file(pipeline)
    if path is not None:
        wait_for_duckdb(path, wait_s, say)
