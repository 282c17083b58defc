"""What follows a committed load: repair rows loaded twice, mark deletions, prune history, build the models
and publish the file dashboards read.

Each step is idempotent and re-derived from what was loaded, so a run killed between them is healed by the
next. They touch only the clients whose rows this run's loads carried (their sync_runs rows): shards loading
into one dataset at once never mend each other's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dlt

from sources.leadpanther.helpers.errors import LeadPantherError
from sources.leadpanther.settings import LIST_RESOURCES
from transforms.errors import TransformError

from .deletions import mark_deleted
from .destination import destination_error
from .duckdb_lock import wait_for_destination
from .duplicate_keys import remove_duplicate_keys
from .errors import PublishError
from .factory import duckdb_file
from .publish import publish_dashboards
from .result import SyncResult
from .state_history import prune_state_history
from .sync_runs_retention import prune_sync_runs


def run_post_load(
    pipeline: dlt.Pipeline,
    result: SyncResult,
    *,
    transform: bool,
    retention_days: int,
    wait_s: float,
    say: Callable[[str], None],
) -> None:
    """Run the post-load steps for `result`'s loads; a failure becomes `result.transform_error` (exit 3:
    the load stays committed)."""
    assert result.load_info is not None
    loads = list(result.load_info.loads_ids)
    try:
        wait_for_destination(pipeline, wait_s, say)
        result.duplicates_removed = remove_duplicate_keys(pipeline, LIST_RESOURCES, load_ids=loads)
        if result.error is None:
            result.deleted_marked = mark_deleted(pipeline, LIST_RESOURCES, load_ids=loads)
            result.state_rows_pruned = prune_state_history(pipeline)
            result.sync_runs_pruned = prune_sync_runs(pipeline, retention_days, result.log.synced_at)
        if transform:
            result.transform = build_models(pipeline, result.log.run_id)
        if transform and result.transform is not None:  # what dashboards read, in a file of its own (publish.py)
            try:
                result.publication = publish_dashboards(duckdb_file(pipeline), pipeline.dataset_name, result.log.run_id)
            except PublishError as error:  # the load and the models stay committed
                result.publish_error = error
    except LeadPantherError as error:
        result.transform_error = error
    except Exception as exc:
        problem = destination_error(exc, pipeline.destination.destination_name, duckdb_file(pipeline))
        if problem is None:
            raise
        result.transform_error = problem


def build_models(pipeline: dlt.Pipeline, run_id: str) -> Any:
    """The dbt models and their data tests."""
    try:
        from transforms import run_transforms
    except ImportError as error:  # a broken or missing transforms package: no models is exit 3, never silent
        raise TransformError(f"the models could not be imported: {type(error).__name__}: {error}") from error
    return run_transforms(pipeline, run_id=run_id)
