"""Mark rows that a completed full scan no longer found upstream (deleted posts, vanished records).

A full scan (the initial load or a reconciliation) re-emits every row it reads with the run's
`_lp_synced_at`. So after such a scan completed for a client-route, a row of that client still carrying
an older `_lp_synced_at` was not served any more: it gets `_lp_deleted_at`. The statement is derived from
`sync_runs` alone, so it is idempotent and also heals a run that was killed after its load.
"""

from __future__ import annotations

from collections.abc import Iterable

import dlt

from sources.leadpanther.settings import DELETED_AT, SYNC_RUNS_TABLE, SYNCED_AT

FULL_SCAN_MODES = ("initial", "reconcile")


def mark_deleted(pipeline: dlt.Pipeline, tables: Iterable[str]) -> dict[str, int]:
    marked: dict[str, int] = {}
    with pipeline.sql_client() as sql:
        existing = existing_tables(sql)
        if SYNC_RUNS_TABLE not in existing:
            return marked
        runs = sql.make_qualified_table_name(SYNC_RUNS_TABLE)
        for table in tables:
            if table not in existing:
                continue
            target = sql.make_qualified_table_name(table)
            modes = ", ".join(f"'{m}'" for m in FULL_SCAN_MODES)
            last_full = (
                f"SELECT client_id, max(synced_at) AS full_at FROM {runs} "
                f"WHERE resource = '{table}' AND status = 'ok' AND run_mode IN ({modes}) GROUP BY client_id"
            )
            condition = f"t.client_id = f.client_id AND t.{SYNCED_AT} < f.full_at AND t.{DELETED_AT} IS NULL"
            count_rows = sql.execute_sql(f"SELECT count(*) FROM {target} AS t JOIN ({last_full}) f ON {condition}")
            count = int(count_rows[0][0]) if count_rows else 0
            if count:
                sql.execute_sql(
                    f"UPDATE {target} AS t SET {DELETED_AT} = f.full_at FROM ({last_full}) f WHERE {condition}"
                )
            marked[table] = count
    return marked


def existing_tables(sql) -> set[str]:
    rows = sql.execute_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
        sql.dataset_name,
    )
    return {r[0] for r in rows or []}
