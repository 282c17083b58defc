"""A dashboard stand-in, run as its own process: holds the published DuckDB file open read-only and, until
told to stop (then one round more), checks what it sees: on the connection it holds, and on a fresh one each round.

Usage: python held_reader.py <published file> <models schema> <stop file>. Prints one JSON line per
observation: {"conn": "held"|"fresh", "id": publication id, "ok": the whole publication was seen}, after a
first line "holding" once the file is open (the test waits for it before starting the runs).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb


def observe(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> dict:
    """One publication, checked whole: one publication id, and every table it lists holds its row count."""
    listed = con.execute(
        f'SELECT publication_id, table_name, row_count FROM "{catalog}"."{schema}"._lp_publication'
    ).fetchall()
    ids = {row[0] for row in listed}
    counts_match = all(
        con.execute(f'SELECT count(*) FROM "{catalog}".{table}').fetchall()[0][0] == rows for _, table, rows in listed
    )
    return {"id": ids.pop() if len(ids) == 1 else sorted(ids), "ok": len(ids) == 0 and counts_match and bool(listed)}


def main() -> None:
    path, schema, stop = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    held = duckdb.connect(str(path), read_only=True)
    held_catalog = held.execute("SELECT current_database()").fetchall()[0][0]
    print("holding", flush=True)
    while True:
        stopping = stop.exists()  # one last round after the stop file appears: it sees the last publication
        print(json.dumps({"conn": "held", **observe(held, held_catalog, schema)}), flush=True)
        # A fresh connection in this process would reuse the held database instance (DuckDB caches instances by
        # path): attach the file into a new in-memory instance instead, as a new dashboard query would.
        fresh = duckdb.connect(":memory:")
        try:
            fresh.execute(f"ATTACH '{path}' AS published (READ_ONLY)")
            print(json.dumps({"conn": "fresh", **observe(fresh, "published", schema)}), flush=True)
        finally:
            fresh.close()
        if stopping:
            break
        time.sleep(0.2)
    held.close()


if __name__ == "__main__":
    main()
