"""`leadpanther-elt query`'s printing, on a real DuckDB file: counts print as integers (not `429.0`)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.query import format_value, run_query


def _db(tmp_path: Path) -> Path:
    path = tmp_path / "q.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table t (client varchar, deliveries bigint, rate double, amount decimal(10, 2), missing integer)"
        )
        con.execute(
            "insert into t values ('a', 400, 0.25, 12.50, null), ('b', 29, null, 0.10, 3), ('c', null, 1.0, null, null)"
        )
    return path


def test_sums_and_counts_print_as_integers_nulls_as_null(tmp_path: Path) -> None:
    out = run_query(
        _db(tmp_path),
        "select sum(deliveries) as deliveries, count(*) as n, sum(missing) as m, max(missing) as mx from t",
    )
    header, row = out.splitlines()
    assert header.split() == ["deliveries", "n", "m", "mx"]
    assert row.split() == ["429", "3", "3", "3"]  # sum(bigint) is a HUGEINT; an int column with NULLs stays int


def test_rows_keep_floats_decimals_and_nulls_readable(tmp_path: Path) -> None:
    db = _db(tmp_path)
    out = run_query(db, "select client, deliveries, rate, amount, missing from t order by client")
    lines = [line.split() for line in out.splitlines()]
    assert lines == [
        ["client", "deliveries", "rate", "amount", "missing"],
        ["a", "400", "0.25", "12.50", "NULL"],
        ["b", "29", "NULL", "0.10", "3"],
        ["c", "NULL", "1.0", "NULL", "NULL"],
    ]
    ratio = run_query(db, "select 1 / 3 as third, 2.0 / 4 as half, 10 // 4 as quot")
    assert ratio.splitlines()[1].split() == ["0.333333333333333", "0.5", "2"]


def test_long_results_are_cut_and_say_so(tmp_path: Path) -> None:
    out = run_query(_db(tmp_path), "select range as i from range(120)", max_rows=50)
    lines = out.splitlines()
    assert lines[1].strip() == "0" and lines[50].strip() == "49" and lines[-1] == "(first 50 rows shown)"


def test_format_value_edge_cases() -> None:
    assert [format_value(v) for v in (0, -7, 10**20, None, True, 3.0, 1e20, 1.5e-9, float("nan"))] == [
        "0",
        "-7",
        "100000000000000000000",
        "NULL",
        "true",
        "3.0",
        "1e+20",
        "1.5e-09",
        "nan",
    ]
