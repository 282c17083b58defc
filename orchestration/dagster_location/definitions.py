"""Dagster code location: the LeadPanther load as one multi-asset partitioned by shard (every raw table an
asset), and every dbt model an asset downstream of the raw tables it reads (dagster-dbt).

    pip install -e ".[dagster]"
    dagster dev -m orchestration.dagster_location        # http://127.0.0.1:3000

* `leadpanther/raw/<table>` (shards.py): one multi-asset for the load, one partition per shard
  (`shard-K-of-N`, N from LEADPANTHER_SHARDS, default 4), each `leadpanther-elt run --shard K/N`.
* `leadpanther/models/<model>` (dbt_models.py): `@dbt_assets` from the dbt project's manifest; dbt's data
  tests are asset checks; dbt's source freshness is a freshness check per raw table
  (`leadpanther_freshness` evaluates them). One model can be materialized on its own.
* `leadpanther_models_after_shards`: a sensor that builds the models once per round of shards, when every
  shard has loaded since they were last built. (Declarative automation's `eager()` would build them after
  *each* shard's partition: it cannot wait for every partition of an upstream.)
* `leadpanther_hourly`: a schedule that starts every shard at the top of each hour.

Configuration is the connector's own (.dlt/*.toml or env vars, e.g. SOURCES__LEADPANTHER__API_KEY,
DESTINATION__POSTGRES__CREDENTIALS); LEADPANTHER_DESTINATION and LEADPANTHER_DATASET say where to load (the
`destination` resource; the dbt profile follows it).
"""

import os

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    definitions,
    sensor,
)

from pipelines.leadpanther_pipeline import DEFAULT_DATASET
from sources.leadpanther.settings import SYNC_RUNS_TABLE

from .dbt_models import (
    MODELS_ASSET_NAME,
    dbt_project,
    dbt_resource,
    freshness_sensor,
    models_asset,
    raw_table_specs,
    source_freshness_checks,
)
from .shards import (
    LeadPantherDestination,
    hourly_schedule,
    raw_key,
    raw_tables_asset,
    shard_count,
    shard_partitions_for,
    shards_job_for,
)

# Every shard writes sync_runs (a row per client-route it ran): its materialization marks a shard's load.
SHARD_LOADED = raw_key(SYNC_RUNS_TABLE)


def latest_storage_id(instance, key: AssetKey, partition: str | None = None) -> int | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None), limit=1
    ).records
    return records[0].storage_id if records else None


def models_after_shards_sensor(models_job, model_keys, partitions):
    @sensor(job=models_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
    def leadpanther_models_after_shards(context: SensorEvaluationContext):
        """The models once per round of shards: requested when every shard has loaded since they were built."""
        models_at = max((latest_storage_id(context.instance, k) or 0 for k in model_keys), default=0)
        keys = partitions.get_partition_keys()
        shards_at = [latest_storage_id(context.instance, SHARD_LOADED, key) for key in keys]
        waiting = [key for key, at in zip(keys, shards_at, strict=True) if at is None or at <= models_at]
        if waiting:
            return SkipReason(f"waiting for shard(s) {', '.join(waiting)} to load since the models were built")
        return RunRequest(run_key=f"models-after-{max(s for s in shards_at if s is not None)}")

    return leadpanther_models_after_shards


def build_definitions(destination: LeadPantherDestination | None = None, shards: int | None = None) -> Definitions:
    """The code location for one destination (its dbt profile and manifest follow `destination.destination`)."""
    destination = destination or LeadPantherDestination(
        destination=os.environ.get("LEADPANTHER_DESTINATION", "duckdb"),
        dataset=os.environ.get("LEADPANTHER_DATASET") or None,
    )
    partitions = shard_partitions_for(shards or shard_count())
    project = dbt_project(destination.destination, destination.dataset or DEFAULT_DATASET)
    specs = raw_table_specs(project)
    raw = raw_tables_asset(specs, partitions)
    models = models_asset(project)
    freshness = source_freshness_checks(project)
    shards_job = shards_job_for(specs)
    models_job = define_asset_job("leadpanther_models", selection=AssetSelection.assets(models))
    return Definitions(
        assets=[raw, models],
        asset_checks=freshness,
        jobs=[shards_job, models_job],
        schedules=[hourly_schedule(shards_job, partitions)],
        sensors=[
            models_after_shards_sensor(models_job, sorted(models.keys), partitions),
            freshness_sensor(freshness),
        ],
        resources={"destination": destination, "dbt": dbt_resource(project)},
    )


@definitions
def defs() -> Definitions:
    """What `dagster dev -m orchestration.dagster_location` loads: built when Dagster loads the location (the dbt
    parse happens then), not when this module is imported."""
    return build_definitions()


__all__ = ["MODELS_ASSET_NAME", "build_definitions", "defs"]
