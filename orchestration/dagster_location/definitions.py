"""Dagster code location: the LeadPanther load as one asset partitioned by shard, the models once after.

    pip install -e ".[dagster]"
    dagster dev -m orchestration.dagster_location        # http://127.0.0.1:3000

* `leadpanther/raw`: one partition per shard (`shard-K-of-N`, N from LEADPANTHER_SHARDS, default 4). A
  partition runs exactly what `leadpanther-elt run --shard K/N` runs (`run_sync` on shard K's own pipeline:
  its own dlt state and staging dataset), so shards can run at once into one warehouse dataset. Not
  dagster-dlt's `@dlt_assets`: its resource restores one pipeline state for every partition, and each shard
  needs its own.
* `leadpanther/models`: the SQL models, built once over every shard's rows by the project's transform step
  (what `leadpanther-elt transform` runs); the sensor `leadpanther_models_after_shards` requests it when every
  shard has loaded since the models were last built.
* `leadpanther_hourly`: a schedule that starts every shard at the top of each hour.

Configuration is the connector's own (.dlt/*.toml or env vars, e.g. SOURCES__LEADPANTHER__API_KEY,
DESTINATION__POSTGRES__CREDENTIALS); the `destination` resource says where to load.
"""


import os

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    ConfigurableResource,
    DefaultSensorStatus,
    Definitions,
    Failure,
    MaterializeResult,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    schedule,
    sensor,
)

from pipelines.leadpanther_pipeline import ExitCode, make_pipeline, run_sync
from sources.leadpanther.helpers.shards import Shard, parse_shard

RAW = AssetKey(["leadpanther", "raw"])
MODELS = AssetKey(["leadpanther", "models"])
DEFAULT_SHARDS = 4


def shard_count() -> int:
    """N, fixed when the code location loads (Dagster partitions are static). Changing it: README, Shards."""
    shard = parse_shard(f"1/{os.environ.get('LEADPANTHER_SHARDS', DEFAULT_SHARDS)}")
    assert shard is not None
    return shard.count


def partition_key(shard: Shard) -> str:
    return f"shard-{shard.index}-of-{shard.count}"


def shard_of(key: str) -> Shard:
    _, index, _, count = key.split("-")
    shard = parse_shard(f"{index}/{count}")
    assert shard is not None
    return shard


SHARD_COUNT = shard_count()
shard_partitions = StaticPartitionsDefinition(
    [partition_key(Shard(k, SHARD_COUNT)) for k in range(1, SHARD_COUNT + 1)]
)


class LeadPantherDestination(ConfigurableResource):
    """Where the shards load (the CLI's --destination / --dataset / --duckdb-path). Credentials left None
    come from dlt's config, as for the CLI. DuckDB takes one writer at a time: its shards run one by one."""

    destination: str = "duckdb"
    dataset: str | None = None
    duckdb_path: str | None = None
    credentials: str | None = None
    pipelines_dir: str | None = None

    def pipeline(self, shard: Shard | None = None):
        return make_pipeline(
            self.destination,
            self.dataset,
            duckdb_path=self.duckdb_path,
            credentials=self.credentials,
            pipelines_dir=self.pipelines_dir,
            shard=shard,
        )


@asset(
    key=RAW,
    partitions_def=shard_partitions,
    group_name="leadpanther",
    description="Every client's posts, lead magnets, leads, activity and analytics, loaded by shard: each "
    "partition is `leadpanther-elt run --shard K/N` (its own dlt pipeline and state).",
)
def leadpanther_raw(context: AssetExecutionContext, destination: LeadPantherDestination) -> MaterializeResult:
    shard = shard_of(context.partition_key)
    result = run_sync(destination.pipeline(shard), shard=shard, progress=context.log.info)
    for line in result.summary_lines():
        context.log.info(line)
    statuses = result.log.statuses
    metadata = {
        "shard": str(shard),
        "run_id": result.log.run_id,
        "rows": sum(s.rows for s in statuses if s.resource != "clients"),
        "requests": sum(s.requests for s in statuses),
        "client_routes_skipped_or_failed": sum(1 for s in statuses if s.status in ("skipped", "failed")),
        "exit_code": result.exit_code,
    }
    if result.exit_code in (ExitCode.FAILED, ExitCode.CONFIG):
        raise Failure(description=f"shard {shard}: {result.error}", metadata=metadata)
    if result.log.partial:  # the CLI's exit 3: loaded, with client-routes skipped (see sync_runs)
        context.log.warning(f"shard {shard}: some client-routes were skipped or failed; see sync_runs")
    return MaterializeResult(metadata=metadata)


@asset(
    key=MODELS,
    deps=[RAW],
    group_name="leadpanther",
    description="The SQL models over every shard's rows, built once after the shards (`leadpanther-elt "
    "transform`).",
)
def leadpanther_models(context: AssetExecutionContext, destination: LeadPantherDestination) -> MaterializeResult:
    from transforms import run_transforms

    result = run_transforms(destination.pipeline())
    context.log.info(result.summary())
    if result.failed_errors:  # the CLI's exit 3: built, but an error-severity data test failed
        context.log.error(f"{len(result.failed_errors)} error-severity data test(s) failed; see the summary")
    return MaterializeResult(
        metadata={"summary": result.summary(), "error_tests_failed": len(result.failed_errors)}
    )


shards_job = define_asset_job("leadpanther_shards", selection=[RAW])
models_job = define_asset_job("leadpanther_models", selection=[MODELS])


@schedule(job=shards_job, cron_schedule="0 * * * *", name="leadpanther_hourly", execution_timezone="UTC")
def leadpanther_hourly(context: ScheduleEvaluationContext):
    """Every shard at the top of the hour, as separate runs (so they run at once on a warehouse)."""
    tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
    for key in shard_partitions.get_partition_keys():
        yield RunRequest(run_key=f"{tick}-{key}", partition_key=key)


def latest_storage_id(instance, key: AssetKey, partition: str | None = None) -> int | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None), limit=1
    ).records
    return records[0].storage_id if records else None


@sensor(job=models_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def leadpanther_models_after_shards(context: SensorEvaluationContext):
    """The models once per round of shards: requested when every shard has loaded since they were built."""
    models_at = latest_storage_id(context.instance, MODELS) or 0
    shards_at = [latest_storage_id(context.instance, RAW, key) for key in shard_partitions.get_partition_keys()]
    waiting = [key for key, at in zip(shard_partitions.get_partition_keys(), shards_at, strict=True)
               if at is None or at <= models_at]
    if waiting:
        return SkipReason(f"waiting for shard(s) {', '.join(waiting)} to load since the models were built")
    return RunRequest(run_key=f"models-after-{max(s for s in shards_at if s is not None)}")


defs = Definitions(
    assets=[leadpanther_raw, leadpanther_models],
    jobs=[shards_job, models_job],
    schedules=[leadpanther_hourly],
    sensors=[leadpanther_models_after_shards],
    resources={
        "destination": LeadPantherDestination(
            destination=os.environ.get("LEADPANTHER_DESTINATION", "duckdb"),
            dataset=os.environ.get("LEADPANTHER_DATASET") or None,
        )
    },
)
