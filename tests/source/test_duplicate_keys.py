"""The post-load guard behind the list tables' "staged rows are unique" promise to dlt.

The extractor's side of the promise is checked on every test run (`tests.truth.sync` fails when the guard
had to remove anything); here the guard itself meets keys loaded twice, on both SQL destinations."""

from __future__ import annotations

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.duplicate_keys import remove_duplicate_keys
from pipelines.leadpanther_pipeline import SyncResult
from sources.leadpanther import SyncLog
from sources.leadpanther.settings import LIST_RESOURCES
from tests.truth import assert_matches_truth, loaded_rows, sync


@pytest.mark.parametrize("destination", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_keys_loaded_twice_keep_the_newest_row(destination: str, make_duckdb_pipeline, make_pg_pipeline) -> None:
    with run_emulator(EmulatorConfig(seed=21, preset="tiny")) as emu:
        pipeline = make_duckdb_pipeline("dupes") if destination == "duckdb" else make_pg_pipeline("dupes_pg")
        sync(pipeline, emu)
        ids = sorted(r["id"] for r in loaded_rows(pipeline, "posts"))[:3]
        with pipeline.sql_client() as sql:
            posts = sql.make_qualified_table_name("posts")
            good = sql.make_qualified_table_name("_test_good_rows")
            sql.execute_sql(f"CREATE TABLE {good} AS SELECT * FROM {posts} WHERE id IN (%s, %s, %s)", *ids)
            # the rows in place become stale copies (older sync time, other text); the good ones come back
            sql.execute_sql(
                f"UPDATE {posts} SET text = 'stale copy', _lp_synced_at = _lp_synced_at - INTERVAL '1 day' "
                "WHERE id IN (%s, %s, %s)",
                *ids,
            )
            sql.execute_sql(f"INSERT INTO {posts} SELECT * FROM {good}")
            sql.execute_sql(f"DROP TABLE {good}")
        assert len(loaded_rows(pipeline, "posts")) == len({r["id"] for r in loaded_rows(pipeline, "posts")}) + 3

        assert remove_duplicate_keys(pipeline, LIST_RESOURCES) == {"posts": 3}
        assert remove_duplicate_keys(pipeline, LIST_RESOURCES) == {}
        assert_matches_truth(pipeline, emu)


def test_the_summary_reports_repaired_rows() -> None:
    result = SyncResult(SyncLog(), duplicates_removed={"leads": 2})
    assert any("repaired rows loaded twice" in line and "leads 2" in line for line in result.summary_lines())
