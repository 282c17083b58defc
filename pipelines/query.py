"""`leadpanther-elt query`: run one SQL statement on the local DuckDB file and print the result.

For users without the DuckDB CLI. Read-only, so it never changes the data; DuckDB still lets no other process
open the file while a load writes it, and vice versa: a query is best run between loads (or on the file
published for dashboards, docs/dashboards.md).

Values are formatted from DuckDB's own Python values, not through a pandas frame: pandas turns an integer
column holding a NULL, and DuckDB's HUGEINT (what `sum(bigint)` returns), into float64, which printed a count
of 429 as `429.0`.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

NULL = "NULL"


def run_query(path: Path, sql: str, max_rows: int = 50) -> str:
    if not path.exists():
        raise FileNotFoundError(f"no DuckDB file at {path}: run `leadpanther-elt demo` or `run` first")
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        if cursor.description is None:  # a statement without a result (e.g. SET)
            return "(no result)"
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(max_rows + 1)
        cursor.fetchall()  # finish the result (DuckDB 2.0 refuses the next statement on an unfinished one)
    more = len(rows) > max_rows
    table = format_table(columns, rows[:max_rows])
    return table + (f"\n(first {max_rows} rows shown)" if more else "")


def format_value(value: Any) -> str:
    """One cell: integers as integers, NULL as NULL, floats as the shortest repr that round-trips (no
    scientific notation for ordinary magnitudes), decimals with their scale, everything else as str()."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value != 0 and not 1e-6 <= abs(value) < 1e16:
            return repr(value)
        text = f"{value:.15g}"
        return text if ("." in text or "e" in text) else f"{text}.0"
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def format_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], cell: Callable[[Any], str] = format_value
) -> str:
    """Columns aligned like a terminal table: numbers right-aligned, everything else left-aligned; each value
    spelled by `cell` (`query` and `metrics` differ only in how they spell a value)."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(name), *(len(r[i]) for r in cells)]) for i, name in enumerate(columns)]
    numeric = [all(_is_number(row[i]) or row[i] is None for row in rows) and bool(rows) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(columns), *(line(r) for r in cells)])
