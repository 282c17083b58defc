"""Run the `leadpanther` source into a destination: load, record the run, mark deletions, build models.

One load carries the data, the dlt state (cursors) and the run's `sync_runs` / `_lp_quarantine` rows, so
they are committed together. What happens after the load (deletion marks, models, column comments) is
idempotent and re-derived from what was loaded, so a run killed between the steps is healed by the next.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.destination import Destination
from dlt.common.pipeline import LoadInfo
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.pipeline.exceptions import PipelineStepFailed

from sources.leadpanther import SyncLog, leadpanther_source
from sources.leadpanther.configuration import (
    check_explicit_pii_policy,
    config_error,
    resolve_sync_runs_retention_days,
)
from sources.leadpanther.helpers.config import check_int
from sources.leadpanther.helpers.drift import contract_error
from sources.leadpanther.helpers.errors import (
    ConfigError,
    DestinationUnavailableError,
    LeadPantherError,
    PublishError,
    StepFailedError,
    TransformError,
    exception_chain,
)
from sources.leadpanther.helpers.pii import base_category
from sources.leadpanther.helpers.records import pii_hint
from sources.leadpanther.helpers.shards import Shard, parse_shard
from sources.leadpanther.settings import (
    DRIFT_COLUMNS,
    DRIFT_TABLE,
    LIST_RESOURCES,
    PII_CATALOG,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    SYNC_RUNS_COLUMNS,
    SYNC_RUNS_TABLE,
)

from .deletions import mark_deleted
from .destination import (
    destination_config_error,
    destination_error,
    duckdb_lock_message,
    duckdb_settings,
    lock_holder,
    wait_for_duckdb,
)
from .duplicate_keys import remove_duplicate_keys
from .publish import check_dashboards_path, publish_dashboards
from .run_lock import duckdb_run_lock
from .schema_race import run_retrying_schema_races
from .state_history import prune_state_history
from .sync_runs_retention import prune_sync_runs

PIPELINE_NAME = "leadpanther"
DEFAULT_DATASET = "leadpanther"
DEFAULT_DUCKDB_FILE = "leadpanther_elt.duckdb"

# Exit codes (README "Exit codes"): 3 = committed, but something needs a look (a client-route skipped or
# failed, an error-severity data test failed, the models could not be built); 4 = the destination refused
# or its file stayed locked: nothing of this run was loaded, re-run later.
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_PARTIAL, EXIT_DESTINATION = 0, 1, 2, 3, 4
GIL_SWITCH_INTERVAL_S = 0.001


def use_releasing_arrow_pool() -> None:
    """Arrow's default mimalloc pool keeps freed pages, so a long extract's RSS grows with the data it has
    seen (measured: 415 MB vs 255 MB peak for 250k records). The system allocator hands them back."""
    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


def project_dir() -> Path:
    """Where `.dlt/` and `data/` live: DLT_PROJECT_DIR if set, else the working directory."""
    return Path(os.environ.get("DLT_PROJECT_DIR") or os.getcwd())


def default_duckdb_path() -> Path:
    return project_dir() / "data" / DEFAULT_DUCKDB_FILE


def resolve_duckdb_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: `--duckdb-path` > dlt's `[destination.duckdb] credentials` (or
    DESTINATION__DUCKDB__CREDENTIALS) > data/leadpanther_elt.duckdb. A relative configured path is taken
    from the project folder, like the default."""
    configured = Path(explicit) if explicit else None
    if configured is None:
        database = duckdb_settings().database()
        configured = Path(database) if database else default_duckdb_path()
    return configured if configured.is_absolute() else project_dir() / configured


def make_pipeline(
    destination: str | Any = "duckdb",
    dataset_name: str | None = None,
    *,
    duckdb_path: str | os.PathLike[str] | None = None,
    credentials: Any = None,
    pipelines_dir: str | os.PathLike[str] | None = None,
    pipeline_name: str = PIPELINE_NAME,
    duckdb_memory_limit: str | None = None,
    shard: Shard | str | None = None,
) -> dlt.Pipeline:
    """A dlt pipeline for this project. DuckDB gets a file under data/ whose name cannot collide with the
    dataset (a DuckDB file named like its dataset makes every query ambiguous).

    A shard is its own pipeline (`<name>_shard_K`: its own state, so its own cursors) with its own staging
    dataset (`<dataset>_staging_shard_K`): shards that merge at once into one dataset never share staging
    tables (dlt#4297). Both names leave N out, so shard K keeps its cursors when N changes."""
    dataset_name = dataset_name or DEFAULT_DATASET
    parsed = parse_shard(shard)
    extra: dict[str, Any] = {}
    if parsed is not None:
        pipeline_name = shard_pipeline_name(pipeline_name, parsed)
        extra["staging_dataset_name_layout"] = f"%s_staging_{parsed.suffix}"
    if destination == "duckdb":
        path = resolve_duckdb_path(duckdb_path)
        if path.stem == dataset_name:
            raise ConfigError(
                f"the DuckDB file {path.name!r} is named like the dataset {dataset_name!r}; DuckDB would see "
                "two catalogs/schemas with one name. Rename the file or pick another --dataset."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        # A memory cap makes DuckDB spill large merges to disk instead of growing with the dataset.
        limit = duckdb_memory_limit or duckdb_settings().memory_limit
        destination = dlt.destinations.duckdb(
            DuckDbCredentials(str(path), global_config={"memory_limit": limit}), **extra
        )
    elif destination == "postgres" and credentials is not None:
        destination = dlt.destinations.postgres(credentials, **extra)
    elif isinstance(destination, str) and extra:
        destination = Destination.from_reference(destination, credentials=credentials, **extra)
    pipelines_dir = pipelines_dir or (project_dir() / "data" / "pipelines")
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination,
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir),
    )


SHARD_PIPELINE = re.compile(r"_shard_\d+$")


def shard_pipeline_name(base: str, shard: Shard | None) -> str:
    return base if shard is None else f"{base}_{shard.suffix}"


@dataclass
class SyncResult:
    log: SyncLog
    load_info: LoadInfo | None = None
    error: LeadPantherError | None = None
    transform: Any = None
    transform_error: LeadPantherError | None = None
    deleted_marked: dict[str, int] = field(default_factory=dict)
    duplicates_removed: dict[str, int] = field(default_factory=dict)
    pending_loaded: int = 0
    schema_retries: list[str] = field(default_factory=list)  # causes of load retries after schema races
    state_rows_pruned: int = 0
    sync_runs_pruned: int = 0
    publication: Any = None  # publish.Publication: the DuckDB file dashboards read
    publish_error: LeadPantherError | None = None

    @property
    def exit_code(self) -> int:
        if isinstance(self.error, ConfigError):
            return EXIT_CONFIG
        if isinstance(self.error, DestinationUnavailableError):
            return EXIT_DESTINATION
        if self.error is not None:
            return EXIT_FAILED
        if (
            self.log.partial
            or self.transform_error is not None
            or self.log.quarantine
            or self.publish_error is not None
        ):
            return EXIT_PARTIAL
        if self.transform is not None and self.transform.failed_errors:
            return EXIT_PARTIAL
        return EXIT_OK

    def exit_reason(self) -> str:
        """The last line of a run: its exit code and why, so a scheduler's log says it without a lookup."""
        code = self.exit_code
        if code == EXIT_OK:
            warnings = len(self.transform.warnings) if self.transform is not None else 0
            return "exit 0: loaded" + (f" ({warnings} data test warning(s) listed above)" if warnings else "")
        if code == EXIT_CONFIG:
            return "exit 2: configuration error; nothing was requested or loaded"
        if code == EXIT_DESTINATION:
            return "exit 4: the destination was unavailable; nothing of this run was loaded"
        if code == EXIT_FAILED:
            return "exit 1: the run failed; nothing of this run was loaded and cursors did not move"
        reasons = []
        if self.log.partial:
            reasons.append("some client-routes were skipped or failed")
        if self.log.quarantine:
            reasons.append(
                f"{len(self.log.quarantine)} record(s) or value(s) were quarantined (see {QUARANTINE_TABLE})"
            )
        if self.transform_error is not None:
            reasons.append("the models could not be built")
        if self.publish_error is not None:
            reasons.append("the dashboards file could not be published")
        if self.transform is not None and self.transform.failed_errors:
            reasons.append(f"{len(self.transform.failed_errors)} error-severity data test(s) failed")
        return f"exit 3: loaded and committed, but {' and '.join(reasons)} (listed above)"

    def summary_lines(self) -> list[str]:
        """What an operator needs at the end of a run; no personal data, no key."""
        lines = [f"run {self.log.run_id} at {self.log.synced_at:%Y-%m-%d %H:%M:%S} UTC"]
        per_resource: dict[str, dict[str, int]] = {}
        for s in self.log.statuses:
            agg = per_resource.setdefault(
                s.resource, {"ok": 0, "skipped": 0, "failed": 0, "not_granted": 0, "rows": 0, "requests": 0}
            )
            agg[s.status if s.status in agg else "ok"] += 1
            agg["rows"] += s.rows
            agg["requests"] += s.requests
        for resource, agg in per_resource.items():
            lines.append(
                f"  {resource:<22} rows {agg['rows']:>9,}  requests {agg['requests']:>7,}  "
                f"ok {agg['ok']}  skipped {agg['skipped']}  failed {agg['failed']}"
                + (f"  not granted {agg['not_granted']}" if agg["not_granted"] else "")
            )
        for s in self.log.statuses:
            if s.status in ("skipped", "failed"):
                code = f"HTTP {s.http_status}" if s.http_status else (s.error_code or "")
                lines.append(
                    f"  {s.status.upper():<7} {s.resource} client {s.client_id}: {code} {s.error_message or ''}"
                    + (f" (request_id {s.request_id})" if s.request_id else "")
                )
        if self.log.quarantine:
            lines.append(
                f"  quarantined {len(self.log.quarantine)} record(s) or value(s): see table {QUARANTINE_TABLE}"
            )
        if self.log.pii_policy:
            lines.append("  PII policy: " + ", ".join(f"{c} {a}" for c, a in self.log.pii_policy.items()))
        for (table, column), category in sorted(self.log.suspected_pii.items()):
            lines.append(f"  SUSPECTED PII: {table}.{column} looks like {base_category(category)[0]}")
        lines += self.log.drift.summary_lines()
        if self.deleted_marked:
            marked = ", ".join(f"{t} {n}" for t, n in self.deleted_marked.items() if n)
            if marked:
                lines.append(f"  marked deleted upstream: {marked}")
        if self.duplicates_removed:
            removed = ", ".join(f"{t} {n}" for t, n in self.duplicates_removed.items())
            lines.append(
                f"  repaired rows loaded twice for one primary key ({removed}), kept the newest of each: expected "
                "when this run resumed a load that was killed; otherwise please report it"
            )
        if self.pending_loaded:
            lines.append(f"  loaded {self.pending_loaded} load package(s) an earlier run had extracted but not loaded")
        if self.schema_retries:
            lines.append(
                f"  load retried {len(self.schema_retries)} time(s) after a schema update failed, as when shards "
                f"create the same tables at once (last cause: {self.schema_retries[-1][:120]})"
            )
        if self.error is not None:
            lines.append(f"  FAILED: {self.error}")
        if self.transform_error is not None:
            lines.append(f"  MODELS NOT BUILT: {self.transform_error}")
        if self.publication is not None:
            lines.append(self.publication.line())
        if self.publish_error is not None:
            lines.append(f"  DASHBOARDS NOT PUBLISHED: {self.publish_error}")
        return lines


def _column_hints(columns: tuple[tuple[str, str], ...]) -> dict[str, dict[str, Any]]:
    """dlt column hints for the run's own tables, from their shapes in settings.py (the one contract)."""
    return {
        name: {"data_type": data_type, **({"timezone": True} if data_type == "timestamp" else {})}
        for name, data_type in columns
    }


SYNC_RUNS_HINTS: dict[str, dict[str, Any]] = _column_hints(SYNC_RUNS_COLUMNS)
DRIFT_HINTS: dict[str, dict[str, Any]] = _column_hints(DRIFT_COLUMNS)
QUARANTINE_HINTS: dict[str, dict[str, Any]] = _column_hints(QUARANTINE_COLUMNS)
QUARANTINE_HINTS["raw_record"].update(pii_hint(PII_CATALOG[QUARANTINE_TABLE]["raw_record"]))


def _runs_source(log: SyncLog) -> Any:
    """The run's own records. The generators read the log only when dlt iterates them, which is after the
    data source: dlt extracts the sources given to one `run` in list order."""

    def sync_rows() -> Any:
        log.close_open()
        yield log.status_table(dlt.current.load_package_state()["load_id"])

    def quarantine_rows() -> Any:
        rows = log.quarantine_rows()
        if rows:
            yield rows

    def drift_rows() -> Any:
        table = log.drift.table(log.run_id, log.synced_at)
        if table is not None:
            yield table

    @dlt.source(name="leadpanther_runs", max_table_nesting=0)
    def leadpanther_runs() -> list[Any]:
        return [
            dlt.resource(sync_rows, name=SYNC_RUNS_TABLE, write_disposition="append", columns=SYNC_RUNS_HINTS),
            dlt.resource(quarantine_rows, name=QUARANTINE_TABLE, write_disposition="append", columns=QUARANTINE_HINTS),
            dlt.resource(drift_rows, name=DRIFT_TABLE, write_disposition="append", columns=DRIFT_HINTS),
        ]

    return leadpanther_runs()


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
    log = SyncLog(progress=progress, verbose=verbose)
    if synced_at is not None:
        log.synced_at = synced_at
    result = SyncResult(log)
    options = {k: v for k, v in source_options.items() if v is not None}
    if mode is not None:
        options["mode"] = mode
    if clients:
        options["client_ids"] = list(clients)
    if resources:
        options["resources"] = list(resources)
    try:
        parsed = _check_shard(pipeline, shard, full_refresh)
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
        inner = _unwrap(exc) or config_error(exc)
        if inner is None:
            raise
        result.error = inner
        return result
    say = progress or (lambda line: None)
    wait_s = lock_wait_s if lock_wait_s is not None else _lock_wait_s(pipeline)
    try:
        with duckdb_run_lock(duckdb_file(pipeline), f"pipeline {pipeline.pipeline_name}", wait_s, say):
            _load_and_mend(pipeline, result, source, full_refresh, transform, wait_s, say, retention_days)
    except DestinationUnavailableError as error:  # another run of ours held the DuckDB file too long
        log.shutdown()
        result.error = error
    return result


def _check_shard(pipeline: dlt.Pipeline, shard: Shard | str | None, full_refresh: bool) -> Shard | None:
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
        with _short_gil_turns():
            result.pending_loaded = _load_pending(pipeline, wait_s, say)
            result.load_info = run_retrying_schema_races(
                pipeline,
                lambda: _extract_and_load(pipeline, [source, _runs_source(log)], refresh, wait_s, say),
                on_retry=result.schema_retries.append,
            )
    except (PipelineStepFailed, DestinationUnavailableError) as exc:
        log.shutdown()
        result.error = _step_error(pipeline, exc)
        # Record the failure itself (the data extract was discarded; cursors did not move). If the
        # destination is what failed, this fails too; the summary still reports the error.
        log.close_open()
        if not isinstance(result.error, DestinationUnavailableError):
            with contextlib.suppress(PipelineStepFailed):
                pipeline.run(_runs_source(log))
    finally:
        log.shutdown()
    log.close_open()
    if result.load_info is None:
        return
    # The post-load steps touch only the clients whose rows this run's loads carried (their sync_runs rows):
    # shards loading into one dataset at once never mend each other's rows.
    loads = list(result.load_info.loads_ids)
    try:
        _wait_for_destination(pipeline, wait_s, say)
        result.duplicates_removed = remove_duplicate_keys(pipeline, LIST_RESOURCES, load_ids=loads)
        if result.error is None:
            result.deleted_marked = mark_deleted(pipeline, LIST_RESOURCES, load_ids=loads)
            result.state_rows_pruned = prune_state_history(pipeline)
            result.sync_runs_pruned = prune_sync_runs(pipeline, retention_days, log.synced_at)
        if transform:
            result.transform = _run_transforms(pipeline, log.run_id)
        if transform and result.transform is not None:  # what dashboards read, in a file of its own (publish.py)
            try:
                result.publication = publish_dashboards(duckdb_file(pipeline), pipeline.dataset_name, log.run_id)
            except PublishError as error:  # the load and the models stay committed
                result.publish_error = error
    except LeadPantherError as error:
        result.transform_error = error
    except Exception as exc:
        problem = destination_error(exc, pipeline.destination.destination_name, duckdb_file(pipeline))
        if problem is None:
            raise
        result.transform_error = problem


def _lock_wait_s(pipeline: dlt.Pipeline) -> float:
    return duckdb_settings().lock_wait_s if duckdb_file(pipeline) is not None else 0.0


def duckdb_file(pipeline: dlt.Pipeline) -> Path | None:
    """The DuckDB file the pipeline loads into, or None for other destinations."""
    destination = pipeline.destination
    if destination is None or destination.destination_name != "duckdb":
        return None
    credentials = destination.config_params.get("credentials")
    database = getattr(credentials, "database", credentials)
    return Path(database) if isinstance(database, str) and not database.startswith(":") else None


def _wait_for_destination(pipeline: dlt.Pipeline, wait_s: float, say: Callable[[str], None]) -> None:
    path = duckdb_file(pipeline)
    if path is not None:
        wait_for_duckdb(path, wait_s, say)


def _load_pending(pipeline: dlt.Pipeline, wait_s: float, say: Callable[[str], None]) -> int:
    """Load packages an earlier run extracted but could not load (killed, destination locked or down) before
    extracting anew: dlt's `run` would otherwise load them and skip this run's extract."""
    if not pipeline.has_pending_data:
        return 0
    packages = len(pipeline.list_extracted_load_packages()) + len(pipeline.list_normalized_load_packages())
    _wait_for_destination(pipeline, wait_s, say)
    pipeline.run()
    return packages


def _extract_and_load(
    pipeline: dlt.Pipeline, data: list[Any], refresh: Any, wait_s: float, say: Callable[[str], None]
) -> LoadInfo:
    """`pipeline.run`, except that a DuckDB file held by another process is waited for while the extract
    runs: only the load needs the file. On a machine without local pipeline state the destination's stored
    state decides the cursors, so there the lock is waited for first."""
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


def _step_error(pipeline: dlt.Pipeline, exc: BaseException) -> LeadPantherError:
    if isinstance(exc, LeadPantherError):
        return exc
    name = pipeline.destination.destination_name
    known = (
        _unwrap(exc)
        or destination_error(exc, name, duckdb_file(pipeline))
        or destination_config_error(exc, name)
        or contract_error(exc)
        or config_error(exc)
    )
    if known is not None:
        return known
    assert isinstance(exc, PipelineStepFailed)
    error = StepFailedError(
        f"dlt's {exc.step} step failed: {type(exc.exception).__name__}: {str(exc.exception)[:300]}",
    )
    error.__cause__ = exc
    return error


@contextlib.contextmanager
def _short_gil_turns() -> Iterator[None]:
    """While up to `max_concurrency` responses are in flight, some 32 scan threads parse pages and build Arrow
    tables, and an arrived response waits for the GIL before it is read. CPython hands the GIL over every
    5 ms by default; at 1 ms the large benchmark's extract measured ~1.5 s faster (52.9-53.4 s -> 50.7-52.1 s
    over 12,745 requests). Restored afterwards: it is the interpreter's setting, not ours."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, GIL_SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _run_transforms(pipeline: dlt.Pipeline, run_id: str) -> Any:
    try:
        from transforms import run_transforms
    except ImportError as error:  # a broken or missing transforms package: no models is exit 3, never silent
        raise TransformError(f"the models could not be imported: {type(error).__name__}: {error}") from error
    return run_transforms(pipeline, run_id=run_id)


def _unwrap(exc: BaseException) -> LeadPantherError | None:
    return next((e for e in exception_chain(exc) if isinstance(e, LeadPantherError)), None)


if __name__ == "__main__":  # `python pipelines/leadpanther_pipeline.py` = `leadpanther-elt run` (for dlt deploy)
    import sys

    from pipelines.cli import main

    sys.exit(main(["run", *sys.argv[1:]]))
