"""Shared fixtures: emulators, pipelines on a real DuckDB file and on the real PostgreSQL server."""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import file_order
import pytest

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

# tests/warehouses/ run in the warehouse venv (`make setup-warehouses`: fakesnow, dbt-snowflake, dbt-bigquery),
# which `make test` runs after this one; the project's own venv cannot import them.
collect_ignore = [] if importlib.util.find_spec("fakesnow") else ["warehouses"]
# tests/bigquery_emulator/ runs in its own venv (`make setup-bigquery`: bqemulator pins duckdb 1.5).
if not importlib.util.find_spec("bqemulator"):
    collect_ignore.append("bigquery_emulator")

PG_URL = os.environ.get("LEADPANTHER_TEST_PG_URL", "postgresql://postgres:postgres@127.0.0.1:5432/test")


@pytest.fixture
def make_duckdb_pipeline(tmp_path: Path) -> Callable[..., Any]:
    from pipelines.leadpanther_pipeline import make_pipeline

    def make(name: str = "lp_test", dataset: str = "leadpanther") -> Any:
        return make_pipeline(
            "duckdb",
            dataset,
            duckdb_path=tmp_path / f"{name}.duckdb",
            pipelines_dir=tmp_path / "pipelines",
            pipeline_name=name,
        )

    return make


def drop_pg_schemas(dataset: str) -> None:
    import psycopg2

    con = psycopg2.connect(PG_URL)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s", (dataset, f"{dataset}\\_%")
        )
        for (schema,) in cur.fetchall():
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    con.close()


def pg_dataset_fixture(prefix: str) -> Any:
    """A `dataset` fixture for a test module: a fresh PostgreSQL dataset name `<prefix>_<8 hex>`, its schemas
    (staging and models included) dropped after the test, so runs never see each other's tables."""

    @pytest.fixture
    def dataset() -> Iterator[str]:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        yield name
        drop_pg_schemas(name)

    return dataset


@pytest.fixture
def make_pg_pipeline(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    from pipelines.leadpanther_pipeline import make_pipeline

    datasets: list[str] = []

    def make(name: str = "lp_test_pg") -> Any:
        dataset = f"lp_test_{uuid.uuid4().hex[:10]}"
        datasets.append(dataset)
        return make_pipeline(
            "postgres",
            dataset,
            credentials=PG_URL,
            pipelines_dir=tmp_path / "pipelines",
            pipeline_name=name,
        )

    yield make
    for dataset in datasets:
        drop_pg_schemas(dataset)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-file-durations",
        action="store_true",
        help="write each test file's seconds to tests/file_durations.json (the order workers take files in)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--record-file-durations") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(file_order.Recorder(), "file_durations_recorder")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    file_order.heaviest_first(items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    """In CI (LEADPANTHER_REQUIRE_ALL_TESTS=1) a skipped test is a failure, except the tests that need a
    real LeadPanther key (marked real_api), which cannot run without one."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("LEADPANTHER_REQUIRE_ALL_TESTS") == "1"
        and item.get_closest_marker("real_api") is None
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped but required in CI: {report.longrepr}"
