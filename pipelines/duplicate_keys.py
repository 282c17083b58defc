"""After a load: no list table may hold two rows for one primary key.

The list resources tell dlt their staged rows are already unique (each scan emits an id once), which spares
every load a dedupe over every column (6.4 of 11 s for a 1.24M-row first load). Two things can still stage
a key twice: a bug in that promise, and a load killed mid-way: on the re-run dlt may repeat a copy into the
staging table that had already committed (the kill tests hit this: 2,800 activity rows staged twice). This
check costs one GROUP BY per table (0.3 s for 1.24M rows on DuckDB); on a hit it keeps the row from the
newest run, and the run summary says how many rows it removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dlt

from sources.leadpanther.settings import PRIMARY_KEYS, SYNC_RUNS_TABLE, SYNCED_AT
from transforms.sql_dialects import existing_tables

from .deletions import loaded_clients

KEEP_TABLE = "_lp_duplicate_keep"


def remove_duplicate_keys(
    pipeline: dlt.Pipeline, tables: Iterable[str], load_ids: Sequence[str] | None = None
) -> dict[str, int]:
    """Rows removed per table (only tables that had any). The SQL is the shape dlt's own merge uses on every
    destination (window function, correlated EXISTS, DELETE with an alias); run here on DuckDB and PostgreSQL.

    Given `load_ids`, only the clients whose `sync_runs` rows those loads carried are checked and mended, in a
    work table of those loads' own: shards loading into one dataset at once never touch each other's rows."""
    removed: dict[str, int] = {}
    with pipeline.sql_client() as sql:
        existing = existing_tables(sql)
        scope = loaded_clients(sql, load_ids) if load_ids is not None and SYNC_RUNS_TABLE in existing else None
        for table in tables:
            if table not in existing:
                continue
            target = sql.make_qualified_table_name(table)
            key_list = PRIMARY_KEYS[table]
            keys = ", ".join(key_list)
            rows_of = target
            if scope is not None:
                rows_of = f"(SELECT * FROM {target} WHERE client_id IN ({scope} AND resource = '{table}'))"
            rows = sql.execute_sql(
                f"SELECT coalesce(sum(n - 1), 0) FROM "
                f"(SELECT count(*) AS n FROM {rows_of} AS s GROUP BY {keys} HAVING count(*) > 1) AS d"
            )
            extra = int(rows[0][0]) if rows else 0
            if not extra:
                continue
            columns = ", ".join(sql.escape_column_name(c) for c in _loaded_columns(pipeline, table))
            keep = sql.make_qualified_table_name(KEEP_TABLE + ("_" + load_ids[0].replace(".", "_") if load_ids else ""))
            with sql.begin_transaction():
                sql.execute_sql(f"DROP TABLE IF EXISTS {keep}")
                sql.execute_sql(
                    f"CREATE TABLE {keep} AS SELECT {columns} FROM ("
                    f"SELECT t.*, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {SYNCED_AT} DESC) AS lp_rn "
                    f"FROM {rows_of} AS t WHERE EXISTS (SELECT 1 FROM (SELECT {keys} FROM {rows_of} AS s "
                    f"GROUP BY {keys} HAVING count(*) > 1) AS g WHERE {_same_key(key_list, 'g', 't')})) AS r "
                    "WHERE lp_rn = 1"
                )
                same = _same_key(key_list, "k", "d")
                sql.execute_sql(f"DELETE FROM {target} AS d WHERE EXISTS (SELECT 1 FROM {keep} AS k WHERE {same})")
                sql.execute_sql(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {keep}")
                sql.execute_sql(f"DROP TABLE {keep}")
            removed[table] = extra
    return removed


def _loaded_columns(pipeline: dlt.Pipeline, table: str) -> list[str]:
    for schema in pipeline.schemas.values():
        if table in schema.tables:
            return list(schema.get_table_columns(table))
    raise KeyError(f"table {table!r} is in no schema of pipeline {pipeline.pipeline_name!r}")


def _same_key(keys: Iterable[str], a: str, b: str) -> str:
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in keys)
