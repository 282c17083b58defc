"""The Dagster code location, run in-process (`dagster.materialize`): four shard partitions into one
PostgreSQL dataset equal the emulator's truth, the models are built once after them, the schedule starts
every shard and the sensor waits for all of them. Needs the `dagster` extra, which `make test` installs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from leadpanther_emulator import EmulatorConfig, run_emulator
from orchestration.dagster_location.definitions import (
    LeadPantherDestination,
    defs,
    leadpanther_hourly,
    leadpanther_models,
    leadpanther_models_after_shards,
    leadpanther_raw,
    shard_partitions,
)
from pipelines.leadpanther_pipeline import make_pipeline
from tests.conftest import PG_URL, pg_dataset_fixture
from tests.truth import ALL_TABLES, assert_matches_truth

dataset = pg_dataset_fixture("lp_dagster")


@pytest.mark.postgres
@pytest.mark.slow
def test_four_shard_partitions_then_the_models_equal_the_truth(tmp_path: Path, dataset: str, monkeypatch) -> None:
    keys = shard_partitions.get_partition_keys()
    assert keys == [f"shard-{k}-of-4" for k in range(1, 5)]
    destination = LeadPantherDestination(
        destination="postgres", dataset=dataset, credentials=PG_URL, pipelines_dir=str(tmp_path / "pipelines")
    )
    resources = {"destination": destination}
    instance = DagsterInstance.ephemeral()
    with run_emulator(EmulatorConfig(seed=47, preset="tiny", clients=20)) as emu:
        monkeypatch.setenv("SOURCES__LEADPANTHER__API_KEY", emu.keys["full"])
        monkeypatch.setenv("SOURCES__LEADPANTHER__BASE_URL", emu.base_url)
        monkeypatch.setenv("SOURCES__LEADPANTHER__BACKOFF_S", "0.01")
        for n, key in enumerate(keys, start=1):
            result = materialize([leadpanther_raw], partition_key=key, resources=resources, instance=instance)
            assert result.success
            meta = result.asset_materializations_for_node("leadpanther__raw")[0].metadata
            assert meta["shard"].value == f"{n}/4" and meta["exit_code"].value == 0
            if n < len(keys):  # the models wait for every shard
                tick = leadpanther_models_after_shards(build_sensor_context(instance=instance, definitions=defs))
                assert isinstance(tick, SkipReason) and keys[-1] in tick.skip_message
        tick = leadpanther_models_after_shards(build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(tick, RunRequest)
        models = materialize([leadpanther_models], resources=resources, instance=instance)
        assert models.success
        tick = leadpanther_models_after_shards(build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(tick, SkipReason)  # once per round of shards

        reader = make_pipeline("postgres", dataset, credentials=PG_URL, pipelines_dir=tmp_path / "r", shard="1/4")
        reader.sync_destination()
        assert_matches_truth(reader, emu, tables=ALL_TABLES)
    with reader.sql_client() as sql:
        posts = sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name('posts')}")[0][0]
        built = sql.execute_sql(f'SELECT count(*) FROM "{dataset}_models".fct_post_engagement')[0][0]
        states = sql.execute_sql(
            f"SELECT DISTINCT pipeline_name FROM {sql.make_qualified_table_name('_dlt_pipeline_state')} ORDER BY 1"
        )
    assert posts == built > 0
    assert [s[0] for s in states] == [f"leadpanther_shard_{k}" for k in range(1, 5)]  # a state per shard


def test_the_hourly_schedule_starts_every_shard() -> None:
    when = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    requests = list(leadpanther_hourly(build_schedule_context(scheduled_execution_time=when)))
    assert [r.partition_key for r in requests] == shard_partitions.get_partition_keys()
    assert len({r.run_key for r in requests}) == len(requests)
    assert leadpanther_hourly.cron_schedule == "0 * * * *"
