"""Canary greps: where do raw values of the fields the contract does not know end up?

The canaries come from the emulator's truth (what it served), not from the connector: every string value (and
every string inside an object) of a field that the contract does not list, on the routes that carry people.
They are then searched in the destination (the dataset, its `_staging` dataset, the models schema: every row of
every table, as text) and in the pipeline's folder (every file's bytes, and parquet files read as tables, since
compression can hide a literal; gzipped load files decompressed).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sources.leadpanther.settings import PEOPLE_TABLES, TABLE_COLUMNS

MIN_CANARY = 6  # shorter strings ("US", "DE") occur by chance


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def new_personal_values(emu: Any, tables: Iterable[str] = PEOPLE_TABLES) -> dict[str, set[str]]:
    """ "table.field" -> raw string values the emulator served for fields the contract does not list, and for
    unknown keys inside the documented nested objects (grant, hosted_page)."""
    found: dict[str, set[str]] = {}
    for table in tables:
        known = {path[0] for _, _, path in TABLE_COLUMNS[table]}
        nested = {
            path[0]: {p[1] for _, _, p in TABLE_COLUMNS[table] if len(p) > 1 and p[0] == path[0]}
            for _, _, path in TABLE_COLUMNS[table]
            if len(path) > 1
        }
        clients = [None] if table == "clients" else emu.client_ids("active")
        for client in clients:
            records = emu.truth("clients") if client is None else emu.truth(table, client)
            for record in records:
                for key, value in record.items():
                    if key not in known:
                        found.setdefault(f"{table}.{key}", set()).update(_strings(value))
                    elif key in nested and isinstance(value, dict):
                        for inner, item in value.items():
                            if inner not in nested[key]:
                                found.setdefault(f"{table}.{key}.{inner}", set()).update(_strings(item))
    return {k: {v for v in vs if len(v) >= MIN_CANARY} for k, vs in found.items() if vs}


def in_destination(pipeline: Any, canaries: set[str]) -> list[str]:
    """'schema.table' for every table of the pipeline's schemas (dataset, staging, models) holding a canary."""
    hits: list[str] = []
    dataset = pipeline.dataset_name
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema = '{dataset}' or table_schema like '{dataset}\\_%' escape '\\'"
        )
        for schema, table in rows:
            with sql.execute_query(f'select * from "{schema}"."{table}"') as cursor:
                text = "\n".join(map(repr, cursor.fetchall()))
            found = sorted(c for c in canaries if c in text)
            if found:
                hits.append(f"{schema}.{table} ({len(found)} values)")
    return hits


def in_files(folder: Path, canaries: set[str]) -> list[str]:
    """Files under `folder` (load packages, state, schemas, traces) holding a canary, raw or in parquet."""
    hits: list[str] = []
    encoded = [(c, c.encode()) for c in canaries]
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":  # dlt gzips load files (insert_values, csv, jsonl)
            data = gzip.decompress(data)
        found = {c for c, raw in encoded if raw in data}
        if path.suffix == ".parquet" or data[:4] == b"PAR1":
            text = repr(pq.read_table(path).to_pylist())
            found |= {c for c in canaries if c in text}
        if found:
            hits.append(f"{path.relative_to(folder)} ({len(found)} values)")
    return hits
