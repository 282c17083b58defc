"""Shards that start together race to create the same tables; the loser's DDL fails and is retried.

On a first run, N shards loading into one dataset at once all find `sync_runs` (and the data tables, and
dlt's own tables) missing and all issue CREATE TABLE. PostgreSQL lets one win; the others fail, e.g. with
`duplicate key value violates unique constraint "pg_type_typname_nsp_index"` (the table's row type was
created by the winner) or "relation already exists". The same happens to two shards adding one new column.
dlt raises `SchemaUpdateError` for these and documents that repeating the load is safe (its
`retry_schema_update` helper): the load package is still pending, and on the retry dlt reads the
destination again and applies only what is still missing. That works on every destination, where a lock
would need one per warehouse.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.helpers import retry_schema_update

log = logging.getLogger(__name__)
SCHEMA_RACE_RETRIES = 6
_is_schema_update_error = retry_schema_update()
pause = time.sleep  # the wait before a retry (its own name, so a test can stand in for the other session)


def is_schema_race(exc: BaseException) -> bool:
    return isinstance(exc, PipelineStepFailed) and exc.step == "load" and _is_schema_update_error(exc)


def run_retrying_schema_races(
    pipeline: Any, run: Callable[[], Any], on_retry: Callable[[str], None] | None = None, retries: int | None = None
) -> Any:
    """`run()` (a pipeline.run); when its load fails on a schema update, load the pending package again after
    a short random pause, up to `retries` times. A cause that does not go away (no permission to create a
    table) still fails, with dlt's message, after the last retry. `on_retry` hears each retry's cause."""
    retries = SCHEMA_RACE_RETRIES if retries is None else retries
    try:
        return run()
    except PipelineStepFailed as exc:
        if not is_schema_race(exc):
            raise
        failure = exc
    for attempt in range(1, retries + 1):
        cause = str(getattr(failure.exception, "cause", failure.exception)).strip()[:300]
        if on_retry is not None:
            on_retry(cause)
        log.warning(
            "a schema update failed, maybe racing another shard (%s); retrying the load (%d/%d)",
            cause,
            attempt,
            retries,
        )
        pause(random.uniform(0.1, 0.5) * attempt)
        try:
            return pipeline.load()
        except PipelineStepFailed as exc:
            if not is_schema_race(exc):
                raise
            failure = exc
    raise failure
