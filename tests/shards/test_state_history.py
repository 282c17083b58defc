"""`_dlt_pipeline_state` stays bounded: old state rows are pruned, and dlt still restores the newest state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.leadpanther_pipeline import make_pipeline
from pipelines.state_history import KEEP_STATE_ROWS
from tests.conftest import PG_URL
from tests.truth import sync

RESOURCES = ["clients", "posts", "leads"]


def state_rows(pipeline) -> dict[str, int]:
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql(
            f"SELECT pipeline_name, count(*) FROM {sql.make_qualified_table_name('_dlt_pipeline_state')} "
            "GROUP BY pipeline_name"
        )
    return {name: int(n) for name, n in rows}


def cursors(pipeline) -> dict:
    return pipeline.state["sources"]["leadpanther"]["resources"]["posts"]["clients"]


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_state_rows_stay_bounded_and_the_newest_state_is_restored(tmp_path: Path, destination, make_pg_pipeline):
    dataset = make_pg_pipeline().dataset_name if destination == "postgres" else "leadpanther"

    def pipeline(shard: str):
        if destination == "postgres":
            return make_pipeline("postgres", dataset, credentials=PG_URL, pipelines_dir=tmp_path / "p", shard=shard)
        return make_pipeline("duckdb", dataset, duckdb_path=tmp_path / "s.duckdb", pipelines_dir=tmp_path / "p",
                             shard=shard)

    with run_emulator(EmulatorConfig(seed=46, preset="tiny", clients=6)) as emu:
        for run in range(KEEP_STATE_ROWS + 4):
            for shard in ("1/2", "2/2"):
                result = sync(pipeline(shard), emu, shard=shard, resources=RESOURCES, mode="quick")
                assert result.exit_code == 0, result.summary_lines()
            emu.insert("posts", emu.client_ids("active")[run % 2], 1)  # something new now and then
        counts = state_rows(pipeline("1/2"))
        assert counts == {"leadpanther_shard_1": KEEP_STATE_ROWS, "leadpanther_shard_2": KEEP_STATE_ROWS}
        # A machine without the local pipeline folder restores the newest state from the destination.
        expected = {shard: cursors(pipeline(shard)) for shard in ("1/2", "2/2")}
        shutil.rmtree(tmp_path / "p")
        for shard in ("1/2", "2/2"):
            fresh = pipeline(shard)
            fresh.sync_destination()
            assert cursors(fresh) == expected[shard] and expected[shard]
