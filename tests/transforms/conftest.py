"""Fixtures: a small raw dataset loaded with dlt (unit tests), and destinations for the end-to-end tests."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from pathlib import Path

import dlt
import pyarrow as pa
import pytest

from sources.leadpanther.settings import raw_tables

FIXTURES = Path(__file__).parent / "fixtures"
PG_URL = "postgresql://postgres:postgres@127.0.0.1:5432/test"
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
    for table, rows in data.items():
        pipeline.run([arrow_table(table, rows)], table_name=table, write_disposition="replace")


def small_raw() -> dict[str, list[dict]]:
    return json.loads((FIXTURES / "raw_small.json").read_text())


def pg_drop(dataset: str) -> None:
    import psycopg2

    con = psycopg2.connect(PG_URL)
    con.autocommit = True
    with con.cursor() as cur:
        for sch in (dataset, f"{dataset}_models", f"{dataset}_staging"):
            cur.execute(f'DROP SCHEMA IF EXISTS "{sch}" CASCADE')
    con.close()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_pipeline(request, tmp_path):
    """A dlt pipeline on DuckDB (file in tmp_path) or PostgreSQL (unique dataset, dropped after)."""
    name = f"tf_{uuid.uuid4().hex[:10]}"
    if request.param == "duckdb":
        dest = dlt.destinations.duckdb(str(tmp_path / "scratch.duckdb"))
    else:
        dest = dlt.destinations.postgres(PG_URL)
    p = dlt.pipeline(name, destination=dest, dataset_name=f"{name}_raw", pipelines_dir=str(tmp_path / "pipes"))
    yield p
    if request.param == "postgres":
        pg_drop(f"{name}_raw")


def history_pipeline(emu, tmp_path: Path, tag: str) -> tuple[dlt.Pipeline, dict, datetime]:
    """For tests that simulate days against the emulator: a DuckDB pipeline of their own, the `run_sync`
    options for the emulator (models left to the test) and the emulator's day 0 as an aware UTC datetime."""
    from datetime import UTC

    from pipelines.leadpanther_pipeline import make_pipeline

    name = f"{tag}_{uuid.uuid4().hex[:8]}"
    pipeline = make_pipeline("duckdb", dataset_name=name, duckdb_path=tmp_path / f"{tag}.duckdb",
                             pipelines_dir=tmp_path / "pipes", pipeline_name=name)
    options = {"api_key": emu.keys["full"], "base_url": emu.base_url, "transform": False, "backoff_s": 0.01}
    return pipeline, options, datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
