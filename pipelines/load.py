"""The load step: earlier runs' pending packages first, then this run's extract, normalize and load.

Only the load needs the DuckDB file, so a file held by another process is waited for while the extract runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo

from .destination import duckdb_lock_message, lock_holder, wait_for_duckdb
from .duckdb_lock import wait_for_destination
from .factory import duckdb_file


def load_pending(pipeline: dlt.Pipeline, wait_s: float, say: Callable[[str], None]) -> int:
    """Load packages an earlier run extracted but could not load (killed, destination locked or down) before
    extracting anew: dlt's `run` would otherwise load them and skip this run's extract."""
    if not pipeline.has_pending_data:
        return 0
    packages = len(pipeline.list_extracted_load_packages()) + len(pipeline.list_normalized_load_packages())
    wait_for_destination(pipeline, wait_s, say)
    pipeline.run()
    return packages


def extract_and_load(
    pipeline: dlt.Pipeline, data: list[Any], refresh: Any, wait_s: float, say: Callable[[str], None]
) -> LoadInfo:
    """`pipeline.run`, except that a DuckDB file held by another process is waited for while the extract
    runs. On a machine without local pipeline state the destination's stored state decides the cursors, so
    there the lock is waited for first."""
    path = duckdb_file(pipeline)
    lock = duckdb_lock_message(path) if path is not None else None
    if lock is None:
        return pipeline.run(data, refresh=refresh)
    assert path is not None
    if pipeline.first_run:
        wait_for_duckdb(path, wait_s, say)
        return pipeline.run(data, refresh=refresh)
    say(f"The DuckDB file {path} is locked by {lock_holder(lock)}; extracting while waiting for it")
    started = time.monotonic()
    pipeline.extract(data, refresh=refresh)
    pipeline.normalize()
    wait_for_duckdb(path, max(0.0, wait_s - (time.monotonic() - started)), say)
    return pipeline.run()
