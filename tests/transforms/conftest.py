"""Fixtures: a small raw dataset loaded with dlt (unit tests), and destinations for the end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import dlt
import pyarrow as pa
import pytest

from sources.leadpanther.settings import raw_tables
from tests.conftest import PG_URL, drop_pg_schemas

FIXTURES = Path(__file__).parent / "fixtures"
ARROW_TYPES = {
    "text": pa.string(),
    "json": pa.string(),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "double": pa.float64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def arrow_table(table: str, rows: list[dict]) -> pa.Table:
    spec = raw_tables()[table]
    fields, cols = [], {}
    for col, typ in spec.items():
        values = [r.get(col) for r in rows]
        if typ == "timestamp":
            values = [datetime.fromisoformat(v) if isinstance(v, str) else v for v in values]
        if typ == "date":
            values = [date.fromisoformat(v) if isinstance(v, str) else v for v in values]
        fields.append(pa.field(col, ARROW_TYPES[typ]))
        cols[col] = values
    return pa.Table.from_pydict(cols, schema=pa.schema(fields))


def load_raw(pipeline: dlt.Pipeline, data: dict[str, list[dict]]) -> None:
    """Each table of `data` replaced by its rows, in one load (one extract/normalize/load for all tables)."""
    pipeline.run(
        [
            dlt.resource([arrow_table(table, rows)], name=table, write_disposition="replace")
            for table, rows in data.items()
        ]
    )


def small_raw() -> dict[str, list[dict]]:
    return json.loads((FIXTURES / "raw_small.json").read_text())


pg_drop = drop_pg_schemas  # the transforms tests' name for it: one way to drop a dataset's schemas


DESTINATIONS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def scratch_pipeline_in(destination: str, folder: Path) -> Iterator[dlt.Pipeline]:
    """A dlt pipeline on DuckDB (a file in `folder`) or PostgreSQL (a unique dataset, dropped after)."""
    name = f"tf_{uuid.uuid4().hex[:10]}"
    if destination == "duckdb":
        dest = dlt.destinations.duckdb(str(folder / "scratch.duckdb"))
    else:
        dest = dlt.destinations.postgres(PG_URL)
    p = dlt.pipeline(name, destination=dest, dataset_name=f"{name}_raw", pipelines_dir=str(folder / "pipes"))
    try:
        yield p
    finally:
        if destination == "postgres":
            pg_drop(f"{name}_raw")


@pytest.fixture(params=DESTINATIONS)
def scratch_pipeline(request, tmp_path):
    """A scratch pipeline of the test's own, on each destination (for tests that change the data)."""
    with scratch_pipeline_in(request.param, tmp_path) as p:
        yield p


@pytest.fixture(scope="module", params=DESTINATIONS)
def small_built(request, tmp_path_factory):
    """(pipeline, TransformResult): the small raw dataset loaded and the models built once per module and
    destination, for the tests that only read them."""
    from transforms import run_transforms

    with scratch_pipeline_in(request.param, tmp_path_factory.mktemp(f"small_{request.param}")) as p:
        load_raw(p, small_raw())
        yield p, run_transforms(p)


def history_pipeline(emu, tmp_path: Path, tag: str) -> tuple[dlt.Pipeline, dict, datetime]:
    """For tests that simulate days against the emulator: a DuckDB pipeline of their own, the `run_sync`
    options for the emulator (models left to the test) and the emulator's day 0 as an aware UTC datetime."""
    from datetime import UTC

    from pipelines.leadpanther_pipeline import make_pipeline

    name = f"{tag}_{uuid.uuid4().hex[:8]}"
    pipeline = make_pipeline(
        "duckdb",
        dataset_name=name,
        duckdb_path=tmp_path / f"{tag}.duckdb",
        pipelines_dir=tmp_path / "pipes",
        pipeline_name=name,
    )
    options = {"api_key": emu.keys["full"], "base_url": emu.base_url, "transform": False, "backoff_s": 0.01}
    return pipeline, options, datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
