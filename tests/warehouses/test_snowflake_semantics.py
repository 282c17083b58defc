"""Snowflake's semantics, run: the load through dlt's Snowflake destination, the connector's post-load steps and
`dbt build` of every model and data test with dbt-snowflake, all on fakesnow (Snowflake SQL on DuckDB, patched
into the Snowflake connector in this process; fakesnow_harness.py says what it rewrites). Runs in the
warehouse venv (`make setup-warehouses`; `make test` runs it); docs/destinations.md says what stays unverified."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.duplicate_keys import remove_duplicate_keys
from pipelines.leadpanther_pipeline import make_pipeline
from pipelines.state_history import prune_state_history
from pipelines.sync_runs_retention import prune_sync_runs
from sources.leadpanther.settings import LIST_RESOURCES, SYNC_RUNS_TABLE
from tests.truth import ALL_TABLES, assert_matches_truth, loaded_rows, sync
from tests.warehouses.fakesnow_harness import CREDENTIALS, fake_snowflake
from transforms.sql_dialects import existing_tables

DATASET = "h4_snow"


@pytest.fixture(scope="module")
def snowflake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One fakesnow warehouse for the module: an initial load and a reconciliation that sees deletions."""
    tmp = tmp_path_factory.mktemp("snowflake")
    with fake_snowflake(), run_emulator(EmulatorConfig(seed=47, preset="tiny", clients=6)) as emu:
        pipeline = make_pipeline("snowflake", DATASET, credentials=CREDENTIALS, pipelines_dir=tmp / "pipelines")
        first = sync(pipeline, emu)
        client = emu.client_ids("active")[0]
        deleted = {r: emu.delete(r, client, 2) for r in ("leads", "activity")}
        second = sync(pipeline, emu, mode="reconcile")
        yield {"pipeline": pipeline, "emu": emu, "first": first, "second": second, "deleted": deleted, "tmp": tmp}


def test_the_load_equals_the_truth(snowflake: dict[str, Any]) -> None:
    assert snowflake["first"].exit_code == 0 and snowflake["second"].exit_code == 0
    pipeline = snowflake["pipeline"]
    with pipeline.sql_client() as sql:
        tables = existing_tables(sql)  # Snowflake stores them folded to upper case
    assert set(ALL_TABLES) | {SYNC_RUNS_TABLE} <= tables
    assert_matches_truth(pipeline, snowflake["emu"], tables=ALL_TABLES)


def test_the_reconciliation_marks_deletions(snowflake: dict[str, Any]) -> None:
    result = snowflake["second"]
    for resource, ids in snowflake["deleted"].items():
        marked = {
            r["id"]
            for r in loaded_rows(snowflake["pipeline"], resource, include_deleted=True)
            if r["_lp_deleted_at"] is not None
        }
        assert marked == set(ids), resource
        assert result.deleted_marked[resource] == len(ids)


def test_duplicate_keys_state_and_sync_runs_pruning(snowflake: dict[str, Any]) -> None:
    pipeline = snowflake["pipeline"]
    with pipeline.sql_client() as sql:
        posts = sql.make_qualified_table_name("posts")
        before = sql.execute_sql(f"SELECT count(*) FROM {posts}")[0][0]
        sql.execute_sql(f"INSERT INTO {posts} SELECT * FROM {posts} WHERE id = (SELECT min(id) FROM {posts})")
    assert remove_duplicate_keys(pipeline, LIST_RESOURCES) == {"posts": 1}
    with pipeline.sql_client() as sql:
        assert sql.execute_sql(f"SELECT count(*) FROM {posts}")[0][0] == before
    assert prune_state_history(pipeline, keep=1) >= 1  # two runs wrote two state rows
    assert prune_state_history(pipeline, keep=1) == 0
    with pipeline.sql_client() as sql:
        runs = sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name(SYNC_RUNS_TABLE)}")[0][0]
    later = snowflake["second"].log.synced_at + timedelta(days=3)
    assert prune_sync_runs(pipeline, 30, later) == 0
    assert prune_sync_runs(pipeline, 1, later) == runs > 0


def test_dbt_build_of_every_model_and_test(snowflake: dict[str, Any]) -> None:
    """dbt-snowflake in this process (fakesnow patches only this process), with the profile dlt ships and
    the destination's credentials as dlt's dbt runner passes them."""
    import dlt.helpers.dbt
    from dbt.cli.main import dbtRunner
    from dlt.common.configuration.utils import add_config_to_env

    pipeline, tmp = snowflake["pipeline"], snowflake["tmp"]
    saved = dict(os.environ)
    try:
        add_config_to_env(pipeline.destination_client().config.credentials, ("dlt",))
        os.environ.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"})
        project = Path(__file__).resolve().parents[2] / "transforms"
        result = dbtRunner().invoke(
            [
                "build",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(Path(dlt.helpers.dbt.__file__).parent),
                "--profile",
                "snowflake",
                "--threads",
                "1",
                "--target-path",
                str(tmp / "target"),
                "--log-path",
                str(tmp / "logs"),
                "--vars",
                json.dumps({"source_dataset_name": DATASET, "destination_dataset_name": f"{DATASET}_models"}),
            ]
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    statuses = {r.node.unique_id: str(r.status) for r in result.result or []}
    models = [u for u in statuses if u.startswith("model.")]
    tests = [u for u in statuses if u.startswith("test.")]
    assert len(models) >= 20 and len(tests) >= 60
    # An exposure (the report) has nothing to build: dbt says no-op for it.
    bad = {u: s for u, s in statuses.items() if s not in ("success", "pass") and not u.startswith("exposure.")}
    assert not bad, bad
    assert result.success
    with pipeline.sql_client() as sql:
        posts = sql.execute_sql(
            f"SELECT count(*) FROM {sql.make_qualified_table_name('posts')} WHERE _lp_deleted_at IS NULL"
        )[0][0]
        mart = sql.execute_sql(f"SELECT count(*) FROM {DATASET}_models.fct_post_engagement")[0][0]
    assert mart == posts > 0
