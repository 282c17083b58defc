"""Keep `_dlt_pipeline_state` from growing without end: after a load, drop a pipeline's old state rows.

dlt appends one row per load whose state changed (the whole state, compressed), and a run of this connector
always changes it (cursors, run counters): at 10,000 clients that is ~1.7 MB a run, ~40 GB a year of hourly
runs (dlt#2186: one user's table reached 20 GB). dlt never reads those old rows: it restores a pipeline's
state from the row of its newest *completed* load (`get_stored_state`: state rows joined to `_dlt_loads`
with status 0, highest load id first), and `dlt pipeline sync` uses the same query. So once a newer load
has completed, older rows are history nothing reads. We keep the newest `keep` completed rows per pipeline
(a margin, and something to look at) and every row newer than those (a load still pending may complete
later, and then its row is the one dlt reads; dlt loads pending packages before new ones, so an older
package can never complete after a newer one). Rows of other pipelines (other shards) are untouched.
"""

from __future__ import annotations

import dlt

STATE_TABLE = "_dlt_pipeline_state"
LOADS_TABLE = "_dlt_loads"
KEEP_STATE_ROWS = 3


def prune_state_history(pipeline: dlt.Pipeline, keep: int = KEEP_STATE_ROWS) -> int:
    """Delete this pipeline's state rows older than its `keep`-th newest completed one; return how many."""
    if keep < 1:
        raise ValueError("keep at least the newest state row: dlt restores state from it")
    with pipeline.sql_client() as sql:
        state = sql.make_qualified_table_name(STATE_TABLE)
        loads = sql.make_qualified_table_name(LOADS_TABLE)
        completed = sql.execute_sql(
            f"SELECT s._dlt_load_id FROM {state} AS s JOIN {loads} AS l ON l.load_id = s._dlt_load_id "
            f"WHERE s.pipeline_name = %s AND l.status = 0 ORDER BY s._dlt_load_id DESC",
            pipeline.pipeline_name,
        )
        if not completed or len(completed) <= keep:
            return 0
        oldest_kept = completed[keep - 1][0]
        count = sql.execute_sql(
            f"SELECT count(*) FROM {state} WHERE pipeline_name = %s AND _dlt_load_id < %s",
            pipeline.pipeline_name,
            oldest_kept,
        )
        n = int(count[0][0]) if count else 0
        if n:
            sql.execute_sql(
                f"DELETE FROM {state} WHERE pipeline_name = %s AND _dlt_load_id < %s",
                pipeline.pipeline_name,
                oldest_kept,
            )
        return n
