"""`leadpanther-elt query`: run one SQL statement on the local DuckDB file and print the result.

For users without the DuckDB CLI. Read-only, so it never changes the data; DuckDB still lets no other process
open the file while a load writes it, and vice versa: a query is best run between loads.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def run_query(path: Path, sql: str, max_rows: int = 50) -> str:
    if not path.exists():
        raise FileNotFoundError(f"no DuckDB file at {path}: run `leadpanther-elt demo` or `run` first")
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute(sql).fetch_df()
    return frame.head(max_rows).to_string(index=False)
