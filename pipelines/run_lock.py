"""One run at a time per DuckDB file: a run on DuckDB holds an exclusive lock beside the file throughout.

DuckDB lets one process open a file for writing. Runs of this connector on one file at once (shards started
together, or a scheduled run overlapping a manual one) would otherwise probe and open the file in turns and
fail each other's loads at random. So each run first takes `<file>.lock`, an OS advisory lock (released by
the OS if the process dies, so it never goes stale): a second run queues behind the first, for up to
`[destination.duckdb] lock_wait_s`, then gives up with a message naming the holder. Other programs holding
the DuckDB file itself (the duckdb CLI, a BI tool) are waited for by `destination.wait_for_duckdb`.
Warehouses take shards at once; on DuckDB they run one after another.

Every run, on any destination, also holds `<pipelines folder>/<pipeline name>.lock`: two runs of one pipeline
at once (a DuckDB run and a PostgreSQL run started in one project folder, both named `leadpanther`) would
share dlt's working folder, its state and its load packages, and one could normalize and load the other's
extracted rows. A second run of a pipeline waits as long as a DuckDB run waits for its file (not at all on a
warehouse), then stops before reading anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pipelines.errors import DestinationLockedError

POLL_S = 0.2


def duckdb_run_lock(
    path: Path | None, owner: str, wait_s: float, say: Callable[[str], None] | None = None
) -> contextlib.AbstractContextManager[None]:
    """Hold `<path>.lock` for the block (nothing when `path` is None, i.e. not DuckDB)."""
    if path is None:
        return contextlib.nullcontext()
    refusal = (
        f"is writing to the DuckDB file {path}. DuckDB allows one writer per file, so runs and shards on one "
        "DuckDB file go one after another: raise [destination.duckdb] lock_wait_s to queue longer, or load "
        "shards in parallel into a warehouse such as PostgreSQL."
    )
    return _held(path.with_name(path.name + ".lock"), str(path), refusal, owner, wait_s, say)


def pipeline_run_lock(
    working_dir: Path, owner: str, wait_s: float, say: Callable[[str], None] | None = None
) -> contextlib.AbstractContextManager[None]:
    """Hold `<working_dir>.lock` (beside dlt's folder of one pipeline) for the block."""
    refusal = (
        f"is using the pipeline folder {working_dir} (its state and load packages). Two runs of one pipeline "
        "must not overlap: let the other finish, or give this run its own folder (DLT_PROJECT_DIR, or run from "
        "another project folder) or its own shard (--shard)."
    )
    return _held(working_dir.with_name(working_dir.name + ".lock"), str(working_dir), refusal, owner, wait_s, say)


@contextlib.contextmanager
def _held(
    lock_path: Path, what: str, refusal: str, owner: str, wait_s: float, say: Callable[[str], None] | None
) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, what, refusal, wait_s, say)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {owner}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, what: str, refusal: str, wait_s: float, say: Callable[[str], None] | None) -> None:
    started = time.monotonic()
    announced = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if announced and say is not None:
                say(f"The other run on {what} has finished after {time.monotonic() - started:.0f} s; starting")
            return
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
        waited = time.monotonic() - started
        if waited >= wait_s:
            raise DestinationLockedError(
                f"another leadpanther-elt run ({holder})"
                + (f" did not finish within {wait_s:.0f} s and" if wait_s >= 1 else "")
                + f" {refusal} Nothing of this run was read or loaded."
            )
        if not announced and say is not None:
            say(f"Another run ({holder}) is using {what}; waiting up to {wait_s:.0f} s for it to finish")
            announced = True
        time.sleep(min(POLL_S, wait_s - waited))
