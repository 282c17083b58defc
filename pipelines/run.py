"""One run: the options merged into the source, the shard rules, the load, then the post-load steps.

One load carries the data, the dlt state (cursors) and the run's `sync_runs` / `_lp_quarantine` rows, so
they are committed together. What happens after the load (`post_load.py`) is idempotent and re-derived from
what was loaded, so a run killed between the steps is healed by the next.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from sources.leadpanther import SyncLog, leadpanther_source
from sources.leadpanther.configuration import (
    check_explicit_pii_policy,
    config_error,
    resolve_sync_runs_retention_days,
)
from sources.leadpanther.helpers.config import check_int
from sources.leadpanther.helpers.errors import ConfigError, LeadPantherError
from sources.leadpanther.helpers.log_notices import quiet_expected_hint_notices
from sources.leadpanther.helpers.shards import Shard, parse_shard

from .duckdb_lock import default_lock_wait_s
from .errors import DestinationUnavailableError
from .factory import SHARD_PIPELINE, duckdb_file
from .failures import step_error, unwrap
from .load import extract_and_load, load_pending
from .post_load import run_post_load
from .publish import check_dashboards_path
from .result import SyncResult
from .run_lock import duckdb_run_lock, pipeline_run_lock
from .runs_source import runs_source
from .schema_race import run_retrying_schema_races
from .tuning import short_gil_turns, use_releasing_arrow_pool


def run_sync(
    pipeline: dlt.Pipeline,
    *,
    mode: str | None = None,
    full_refresh: bool = False,
    transform: bool = True,
    progress: Callable[[str], None] | None = None,
    verbose: bool = False,
    clients: Sequence[str] | None = None,
    resources: Sequence[str] | None = None,
    lock_wait_s: float | None = None,
    shard: Shard | str | None = None,
    synced_at: datetime | None = None,
    sync_runs_retention_days: int | None = None,
    **source_options: Any,
) -> SyncResult:
    """Extract, load and post-process one run. Options left None come from .dlt/*.toml or env vars.

    `shard` ("K/N") reads only shard K's clients, into a pipeline made with `make_pipeline(shard=...)`. A
    shard never builds the models: they read every shard's rows, so `transform` runs once after all shards.

    `synced_at`: the run's time (default now). Tests and benchmarks set it to simulate later days.
    `sync_runs_retention_days`: default `[sources.leadpanther] sync_runs_retention_days` (90)."""
    use_releasing_arrow_pool()
    quiet_expected_hint_notices()
    log = SyncLog(progress=progress, verbose=verbose)
    if synced_at is not None:
        log.synced_at = synced_at
    result = SyncResult(log)
    options = source_options_of(source_options, mode=mode, clients=clients, resources=resources)
    try:
        parsed = check_shard(pipeline, shard, full_refresh)
        if parsed is not None:
            options["shard"] = str(parsed)
            log.shard = str(parsed)
            transform = False
        check_explicit_pii_policy(options.get("pii_policy"))
        check_dashboards_path(duckdb_file(pipeline), pipeline.dataset_name)
        retention_days = (
            resolve_sync_runs_retention_days()
            if sync_runs_retention_days is None
            else check_int("sync_runs_retention_days", sync_runs_retention_days, 1, 36500)
        )
        source = leadpanther_source(sync_log=log, **options)
    except LeadPantherError as error:
        result.error = error
        return result
    except Exception as exc:  # dlt's own config resolution errors, or ours wrapped by dlt
        inner = unwrap(exc) or config_error(exc)
        if inner is None:
            raise
        result.error = inner
        return result
    say = progress or (lambda line: None)
    wait_s = lock_wait_s if lock_wait_s is not None else default_lock_wait_s(pipeline)
    try:
        owner = f"pipeline {pipeline.pipeline_name}"
        with (
            pipeline_run_lock(Path(pipeline.working_dir), owner, wait_s, say),
            duckdb_run_lock(duckdb_file(pipeline), owner, wait_s, say),
        ):
            _load_and_mend(pipeline, result, source, full_refresh, transform, wait_s, say, retention_days)
    except DestinationUnavailableError as error:  # another run of ours held the DuckDB file too long
        log.shutdown()
        result.error = error
    return result


def source_options_of(
    options: dict[str, Any],
    *,
    mode: str | None,
    clients: Sequence[str] | None,
    resources: Sequence[str] | None,
) -> dict[str, Any]:
    """The source's arguments: the options given (None = from config), with the CLI's names mapped."""
    merged = {k: v for k, v in options.items() if v is not None}
    if mode is not None:
        merged["mode"] = mode
    if clients:
        merged["client_ids"] = list(clients)
    if resources:
        merged["resources"] = list(resources)
    return merged


def check_shard(pipeline: dlt.Pipeline, shard: Shard | str | None, full_refresh: bool) -> Shard | None:
    """The shard to read, refusing a pipeline that is not that shard's (its state holds another's cursors)."""
    parsed = parse_shard(shard)
    if parsed is None:
        if SHARD_PIPELINE.search(pipeline.pipeline_name):
            raise ConfigError(
                f"the pipeline {pipeline.pipeline_name!r} is a shard's (its state holds that shard's cursors): "
                "run it with its shard K/N, or use a pipeline made without shard"
            )
        return None
    if not pipeline.pipeline_name.endswith(f"_{parsed.suffix}"):
        raise ConfigError(
            f"shard {parsed} needs its own pipeline (its own state and staging dataset): make it with "
            f"make_pipeline(..., shard={str(parsed)!r}), not the pipeline {pipeline.pipeline_name!r}"
        )
    if full_refresh:
        raise ConfigError(
            "--full-refresh drops the tables that every shard loads into; it cannot be run by one shard. "
            "Run it once without --shard (it reloads every client), then the shards."
        )
    return parsed


def _load_and_mend(
    pipeline: dlt.Pipeline,
    result: SyncResult,
    source: Any,
    full_refresh: bool,
    transform: bool,
    wait_s: float,
    say: Callable[[str], None],
    retention_days: int,
) -> None:
    log = result.log
    refresh = "drop_sources" if full_refresh else None
    try:
        with short_gil_turns():
            result.pending_loaded = load_pending(pipeline, wait_s, say)
            result.load_info = run_retrying_schema_races(
                pipeline,
                lambda: extract_and_load(pipeline, [source, runs_source(log)], refresh, wait_s, say),
                on_retry=result.schema_retries.append,
            )
    except (PipelineStepFailed, DestinationUnavailableError) as exc:
        log.shutdown()
        result.error = step_error(exc, pipeline.destination.destination_name, duckdb_file(pipeline))
        # Record the failure itself (the data extract was discarded; cursors did not move). If the
        # destination is what failed, this fails too; the summary still reports the error.
        log.close_open()
        if not isinstance(result.error, DestinationUnavailableError):
            with contextlib.suppress(PipelineStepFailed):
                pipeline.run(runs_source(log))
    finally:
        log.shutdown()
    log.close_open()
    if result.load_info is not None:
        run_post_load(pipeline, result, transform=transform, retention_days=retention_days, wait_s=wait_s, say=say)
