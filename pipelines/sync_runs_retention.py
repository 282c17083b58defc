"""Keep the connector's own `sync_runs` table bounded: delete its rows older than the retention.

Every run appends one row per client-route (and per analytics route): at 10,000 clients and hourly runs that
is ~1.4M rows a day, and nothing bounds it but this. The rows are history for people (what ran, what was
skipped and why) and input to one post-load step: deletion marking reads the newest *full* scan per
client-route of the loads a run just committed, rows that are never older than the run itself. Rows older
than the retention are deleted for every shard at once (a shard may own other clients after N changed, and
concurrent deletes of the same old rows are harmless: the second finds them gone).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dlt

from sources.leadpanther.settings import SYNC_RUNS_TABLE
from transforms.sql_dialects import existing_tables


def prune_sync_runs(pipeline: dlt.Pipeline, retention_days: int, now: datetime) -> int:
    """Delete `sync_runs` rows synced more than `retention_days` before `now`; return how many."""
    if retention_days < 1:
        raise ValueError("sync_runs_retention_days must be at least 1")
    cutoff = now - timedelta(days=retention_days)
    with pipeline.sql_client() as sql:
        if SYNC_RUNS_TABLE not in existing_tables(sql):
            return 0
        runs = sql.make_qualified_table_name(SYNC_RUNS_TABLE)
        count = sql.execute_sql(f"SELECT count(*) FROM {runs} WHERE synced_at < %s", cutoff)
        n = int(count[0][0]) if count else 0
        if n:
            sql.execute_sql(f"DELETE FROM {runs} WHERE synced_at < %s", cutoff)
        return n
