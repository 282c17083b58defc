"""The Dagster code location, run in-process (`dagster.materialize`) against the emulator and PostgreSQL: the
four shard partitions of the load equal the emulator's truth; every dbt model is an asset downstream of the
raw tables it reads; the models build once after every shard; dbt's tests are asset checks (a deliberately
broken row fails an ERROR check and a WARN check with its failing row count, on a re-run of one model on its
own); dbt's source freshness is a WARN freshness check per raw table. Needs the `dagster` extra, which
`make test` installs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    Definitions,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from leadpanther_emulator import EmulatorConfig, run_emulator
from orchestration.dagster_location.definitions import build_definitions
from orchestration.dagster_location.shards import LeadPantherDestination, raw_key
from pipelines.leadpanther_pipeline import make_pipeline
from sources.leadpanther.settings import raw_tables
from tests.conftest import PG_URL, pg_dataset_fixture
from tests.truth import ALL_TABLES, assert_matches_truth
from transforms.sources_yml import LOADED_AT

dataset = pg_dataset_fixture("h4_dagster")
SHARDS = 4


def model(name: str) -> AssetKey:
    return AssetKey(["leadpanther", "models", name])


def check_results(result) -> dict[tuple[str, str], object]:
    """(model, check name) -> the AssetCheckEvaluation of a materialize() result."""
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


@pytest.mark.postgres
@pytest.mark.slow
def test_shards_then_every_model_as_an_asset_with_tests_as_checks(tmp_path: Path, dataset: str, monkeypatch) -> None:
    destination = LeadPantherDestination(
        destination="postgres", dataset=dataset, credentials=PG_URL, pipelines_dir=str(tmp_path / "pipelines")
    )
    defs = build_definitions(destination, shards=SHARDS)
    Definitions.validate_loadable(defs)  # what `dagster dev` checks when it loads the location
    graph = defs.resolve_asset_graph()

    # Lineage: one graph from the load's specs to the marts.
    raw = defs.resolve_assets_def(raw_key("posts"))
    models = defs.resolve_assets_def(model("fct_post_engagement"))
    assert set(raw.keys) == {raw_key(t) for t in raw_tables()}  # every raw table a spec of one multi-asset
    assert raw.partitions_def.get_partition_keys() == [f"shard-{k}-of-{SHARDS}" for k in range(1, SHARDS + 1)]
    assert all(k.path[:2] == ["leadpanther", "models"] for k in models.keys) and len(models.keys) >= 20
    assert graph.get(model("stg_leadpanther__posts")).parent_keys == {raw_key("posts")}
    assert graph.get(model("stg_leadpanther__lead_magnet_posts")).parent_keys == {
        raw_key("lead_magnets__linked_posts"),
        model("stg_leadpanther__lead_magnets"),
    }
    assert model("stg_leadpanther__posts") in graph.get(model("fct_post_engagement")).parent_keys
    staging_parents = set().union(*(graph.get(k).parent_keys for k in models.keys if "stg_" in k.path[-1]))
    assert {k for k in staging_parents if k.path[1] == "raw"} == set(raw.keys)  # each raw table read by a model
    assert graph.get(model("fct_post_engagement")).group_name == "leadpanther_marts"

    # dbt's tests are checks on the model they test; source freshness a WARN check per raw table.
    checks = {key for key in graph.asset_check_keys}
    assert any(c.asset_key == model("stg_leadpanther__posts") and "lp_primary_key" in c.name for c in checks)
    fresh_specs = [spec for c in defs.asset_checks or [] for spec in c.check_specs]
    unwatched = {raw_key(t) for t, loaded_at in LOADED_AT.items() if loaded_at is None}  # freshness: null
    assert unwatched and {s.asset_key for s in fresh_specs} == set(raw.keys) - unwatched
    sensor = defs.resolve_sensor_def("leadpanther_models_after_shards")

    instance = DagsterInstance.ephemeral()
    with run_emulator(EmulatorConfig(seed=47, preset="tiny", clients=20)) as emu:
        monkeypatch.setenv("SOURCES__LEADPANTHER__API_KEY", emu.keys["full"])
        monkeypatch.setenv("SOURCES__LEADPANTHER__BASE_URL", emu.base_url)
        monkeypatch.setenv("SOURCES__LEADPANTHER__BACKOFF_S", "0.01")
        keys = raw.partitions_def.get_partition_keys()
        loaded_posts = 0
        for n, key in enumerate(keys, start=1):
            result = materialize([raw], partition_key=key, instance=instance)
            assert result.success
            by_key = {m.asset_key: m.metadata for m in result.asset_materializations_for_node("leadpanther_raw")}
            assert set(by_key) == set(raw.keys)
            assert by_key[raw_key("posts")]["shard"].value == f"{n}/{SHARDS}"
            assert by_key[raw_key("posts")]["exit_code"].value == 0
            loaded_posts += by_key[raw_key("posts")]["rows_loaded"].value
            if n < len(keys):  # the models wait for every shard
                tick = sensor(build_sensor_context(instance=instance, definitions=defs))
                assert isinstance(tick, SkipReason) and keys[-1] in tick.skip_message
        tick = sensor(build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(tick, RunRequest)
        fresh = materialize(
            [raw, *defs.asset_checks], selection=AssetSelection.checks(*defs.asset_checks), instance=instance
        )
        evaluations = fresh.get_asset_check_evaluations()
        assert {e.asset_key for e in evaluations} == {s.asset_key for s in fresh_specs}
        assert all(e.passed and e.severity == AssetCheckSeverity.WARN for e in evaluations)  # warn_after 26 hours
        built = materialize([raw, models], selection=list(models.keys), instance=instance)
        assert built.success
        assert {e.asset_key for e in built.get_asset_materialization_events()} == set(models.keys)
        evaluations = check_results(built)
        assert len(evaluations) == len([c for c in checks if c.asset_key in models.keys])
        failed = [k for k, e in evaluations.items() if not e.passed]
        assert not failed, failed
        tick = sensor(build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(tick, SkipReason)  # once per round of shards

        reader = make_pipeline("postgres", dataset, credentials=PG_URL, pipelines_dir=tmp_path / "r", shard="1/4")
        reader.sync_destination()
        assert_matches_truth(reader, emu, tables=ALL_TABLES)

    with reader.sql_client() as sql:
        posts = sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name('posts')}")[0][0]
        in_mart = sql.execute_sql(f'SELECT count(*) FROM "{dataset}_models".fct_post_engagement')[0][0]
        states = sql.execute_sql(
            f"SELECT DISTINCT pipeline_name FROM {sql.make_qualified_table_name('_dlt_pipeline_state')} ORDER BY 1"
        )
    assert posts == in_mart == loaded_posts > 0
    assert [s[0] for s in states] == [f"leadpanther_shard_{k}" for k in range(1, SHARDS + 1)]  # a state per shard

    # A broken row upstream: one model re-run on its own; its error test fails its ERROR check (blocking: the
    # run fails, as the CLI exits 3), its warn test a WARN check with the failing row count.
    con = psycopg2.connect(PG_URL)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f'ALTER TABLE "{dataset}".posts ALTER COLUMN client_id DROP NOT NULL')  # dlt's key constraint
        cur.execute(f"""UPDATE "{dataset}".posts SET client_id = NULL, status = 'bogus'
                        WHERE id = (SELECT min(id) FROM "{dataset}".posts)""")
    con.close()
    stg_posts = model("stg_leadpanther__posts")
    rerun = materialize([raw, models], selection=[stg_posts], instance=instance, raise_on_error=False)
    assert not rerun.success
    failure = next(e for e in rerun.all_events if e.is_step_failure).step_failure_data.error
    assert "blocking asset check failed with ERROR severity" in failure.message and "lp_primary_key" in failure.message
    assert [e.asset_key for e in rerun.get_asset_materialization_events()] == [stg_posts]
    evaluations = check_results(rerun)
    assert {k[0] for k in evaluations} == {"stg_leadpanther__posts"}
    primary_key = next(e for (_, name), e in evaluations.items() if name.startswith("lp_primary_key"))
    assert not primary_key.passed and primary_key.severity == AssetCheckSeverity.ERROR
    status = next(e for (_, name), e in evaluations.items() if name.startswith("accepted_values"))
    assert not status.passed and status.severity == AssetCheckSeverity.WARN
    assert status.metadata["dagster_dbt/failed_row_count"].value == 1


def test_the_hourly_schedule_starts_every_shard() -> None:
    from dagster import AssetSpec

    from orchestration.dagster_location.shards import hourly_schedule, shard_partitions_for, shards_job_for

    partitions = shard_partitions_for(SHARDS)
    schedule = hourly_schedule(shards_job_for([AssetSpec(key=raw_key("posts"))]), partitions)
    when = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    requests = list(schedule(build_schedule_context(scheduled_execution_time=when)))
    assert [r.partition_key for r in requests] == partitions.get_partition_keys()
    assert len({r.run_key for r in requests}) == len(requests)
    assert schedule.cron_schedule == "0 * * * *"
