"""The load in Dagster: the raw tables as the asset specs of one multi-asset, partitioned by shard.

A partition runs exactly what `leadpanther-elt run --shard K/N` runs (`run_sync` on shard K's own pipeline:
its own dlt state and staging dataset), so shards can run at once into one warehouse dataset. Not
dagster-dlt's `@dlt_assets`: its resource restores one pipeline state for every partition, and each shard
needs its own. The specs (one per raw table, named and described from the dbt project's sources, see
dbt_models.py) are what the dbt models depend on, so the lineage is one graph from the load to the marts.
"""

import os
from collections.abc import Iterator, Sequence

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    ConfigurableResource,
    Failure,
    MaterializeResult,
    RunRequest,
    ScheduleEvaluationContext,
    StaticPartitionsDefinition,
    define_asset_job,
    multi_asset,
    schedule,
)

from pipelines.leadpanther_pipeline import ExitCode, make_pipeline, run_sync
from sources.leadpanther.helpers.shards import Shard, parse_shard

RAW_PREFIX = ("leadpanther", "raw")
RAW_GROUP = "leadpanther_raw"
RAW_ASSET_NAME = "leadpanther_raw"
DEFAULT_SHARDS = 4


def raw_key(table: str) -> AssetKey:
    """The asset key of a raw table: `leadpanther/raw/<table>` (its dbt source is `leadpanther.<table>`)."""
    return AssetKey([*RAW_PREFIX, table])


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


def shard_partitions_for(count: int) -> StaticPartitionsDefinition:
    return StaticPartitionsDefinition([partition_key(Shard(k, count)) for k in range(1, count + 1)])


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


def raw_tables_asset(specs: Sequence[AssetSpec], partitions: StaticPartitionsDefinition):
    """One multi-asset for the load: every raw table a spec, one partition per shard."""

    @multi_asset(
        name=RAW_ASSET_NAME,
        specs=list(specs),
        partitions_def=partitions,
        description="One LeadPanther load, by shard: each partition is `leadpanther-elt run --shard K/N` (its "
        "own dlt pipeline and state), writing every raw table.",
    )
    def leadpanther_raw(context: AssetExecutionContext, destination: LeadPantherDestination) -> Iterator:
        shard = shard_of(context.partition_key)
        pipeline = destination.pipeline(shard)
        result = run_sync(pipeline, shard=shard, progress=context.log.info)
        for line in result.summary_lines():
            context.log.info(line)
        statuses = result.log.statuses
        run_metadata = {
            "shard": str(shard),
            "run_id": result.log.run_id,
            "requests": sum(s.requests for s in statuses),
            "client_routes_skipped_or_failed": sum(1 for s in statuses if s.status in ("skipped", "failed")),
            "exit_code": int(result.exit_code),  # an IntEnum; Dagster stores plain values
        }
        if result.exit_code in (ExitCode.FAILED, ExitCode.CONFIG):
            raise Failure(description=f"shard {shard}: {result.error}", metadata=run_metadata)
        if result.log.partial:  # the CLI's exit 3: loaded, with client-routes skipped (see sync_runs)
            context.log.warning(f"shard {shard}: some client-routes were skipped or failed; see sync_runs")
        trace = pipeline.last_trace
        normalized = trace.last_normalize_info if trace is not None else None
        counts = dict(normalized.row_counts) if normalized is not None else {}
        for spec in specs:
            table = spec.key.path[-1]
            yield MaterializeResult(
                asset_key=spec.key, metadata={**run_metadata, "rows_loaded": int(counts.get(table, 0))}
            )

    return leadpanther_raw


def shards_job_for(specs: Sequence[AssetSpec]):
    return define_asset_job("leadpanther_shards", selection=[s.key for s in specs])


def hourly_schedule(job, partitions: StaticPartitionsDefinition):
    @schedule(job=job, cron_schedule="0 * * * *", name="leadpanther_hourly", execution_timezone="UTC")
    def leadpanther_hourly(context: ScheduleEvaluationContext):
        """Every shard at the top of the hour, as separate runs (so they run at once on a warehouse)."""
        tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
        for key in partitions.get_partition_keys():
            yield RunRequest(run_key=f"{tick}-{key}", partition_key=key)

    return leadpanther_hourly
