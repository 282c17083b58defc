"""After a load: no list table may hold two rows for one primary key.

The list resources tell dlt their staged rows are already unique (each scan emits an id once), which spares
every load a dedupe over every column (6.4 of 11 s for a 1.24M-row first load). Two things can still stage
a key twice: a bug in that promise, and a load killed mid-way: on the re-run dlt may repeat a copy into the
staging table that had already committed (the kill tests hit this: 2,800 activity rows staged twice). This
check costs one GROUP BY per table (0.3 s for 1.24M rows on DuckDB); on a hit it keeps the row from the
newest run, and the run summary says how many rows it removed.
"""

from __future__ import annotations

from collections.abc import Iterable

import dlt

from sources.leadpanther.settings import PRIMARY_KEYS, SYNCED_AT

from .deletions import existing_tables

KEEP_TABLE = "_lp_duplicate_keep"


def remove_duplicate_keys(pipeline: dlt.Pipeline, tables: Iterable[str]) -> dict[str, int]:
    """Rows removed per table (only tables that had any)."""
    removed: dict[str, int] = {}
    with pipeline.sql_client() as sql:
        existing = existing_tables(sql)
        for table in tables:
            if table not in existing:
                continue
            target = sql.make_qualified_table_name(table)
            keys = ", ".join(PRIMARY_KEYS[table])
            groups = f"SELECT {keys} FROM {target} GROUP BY {keys} HAVING count(*) > 1"
            rows = sql.execute_sql(
                f"SELECT coalesce(sum(n - 1), 0) FROM "
                f"(SELECT count(*) AS n FROM {target} GROUP BY {keys} HAVING count(*) > 1) AS d"
            )
            extra = int(rows[0][0]) if rows else 0
            if not extra:
                continue
            keep = sql.make_qualified_table_name(KEEP_TABLE)
            with sql.begin_transaction():
                sql.execute_sql(f"DROP TABLE IF EXISTS {keep}")
                sql.execute_sql(
                    f"CREATE TABLE {keep} AS SELECT DISTINCT ON ({keys}) * FROM {target} "
                    f"WHERE ({keys}) IN ({groups}) ORDER BY {keys}, {SYNCED_AT} DESC"
                )
                sql.execute_sql(f"DELETE FROM {target} WHERE ({keys}) IN (SELECT {keys} FROM {keep})")
                sql.execute_sql(f"INSERT INTO {target} SELECT * FROM {keep}")
                sql.execute_sql(f"DROP TABLE {keep}")
            removed[table] = extra
    return removed
