"""SQL models over the raw LeadPanther tables, their data tests, PII tags and the HTML report.

``run_transforms(pipeline)`` builds the staging/intermediate views and mart tables in
``<dataset>_models`` (next to the raw dataset, same database), runs the data tests, comments every PII
column (raw and model) and rewrites ``<dataset>_models.pii_columns``. See transforms/README.md.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from transforms.data_tests import DataTest, build_tests
from transforms.pii import PiiColumn, model_pii, output_columns, raw_pii_from_schema
from transforms.results import DataTestResult, TransformError, TransformResult
from transforms.sql import (
    SOURCE_DIALECT,
    load_models,
    models_schema_name,
    render,
    transpile_models,
)

__all__ = [
    "DataTestResult",
    "TransformError",
    "TransformResult",
    "destination_dialect",
    "run_data_tests_only",
    "run_transforms",
    "transpile_models",
]

log = logging.getLogger(__name__)
PII_COLUMNS_TABLE = "pii_columns"
SUPPORTED_DIALECTS = ("duckdb", "postgres")


def destination_dialect(pipeline: Any) -> str:
    name = str(pipeline.destination.destination_name).lower()
    for d in SUPPORTED_DIALECTS:
        if d in name:
            return d
    raise NotImplementedError(
        f"models run on {SUPPORTED_DIALECTS}; for {name} use transforms.sql.transpile_models(dialect)"
    )


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return "'" + str(value).replace("'", "''") + "'"


def _rows(client: Any, sql: str) -> list[tuple]:
    return list(client.execute_sql(sql) or [])


def _columns_in(client: Any, schema: str) -> dict[str, set[str]]:
    rows = _rows(
        client,
        "select table_name, column_name from information_schema.columns "
        f"where table_schema = {_lit(schema)}",
    )
    out: dict[str, set[str]] = {}
    for table, col in rows:
        out.setdefault(table, set()).add(col)
    return out


def _relations(client: Any, schema: str) -> dict[str, str]:
    rows = _rows(
        client,
        f"select table_name, table_type from information_schema.tables where table_schema = {_lit(schema)}",
    )
    return {t: ("view" if "VIEW" in str(kind).upper() else "table") for t, kind in rows}


def run_data_tests(client: Any, dialect: str, models_schema: str, tests: list[DataTest]) -> list[DataTestResult]:
    """Run the tests on an open sql_client: one result per test, passing or not."""
    import sqlglot
    from sqlglot import exp

    results: list[DataTestResult] = []
    for t in tests:
        tree = sqlglot.parse_one(t.sql, read=SOURCE_DIALECT)
        for tbl in tree.find_all(exp.Table):
            if not tbl.db:
                tbl.set("db", exp.to_identifier(models_schema, quoted=True))
        failures = int(_rows(client, tree.sql(dialect=dialect))[0][0])
        results.append(DataTestResult.from_count(t.model, t.test, t.severity, failures, t.message if failures else ""))
    return results


def run_transforms(pipeline: Any, run_tests: bool = True) -> TransformResult:
    """Build the models on the pipeline's destination, test them, tag PII.

    Failing data tests are reported in the result, never raised: the load they test is committed. A model
    that cannot be built raises TransformError."""
    t0 = time.monotonic()
    dialect = destination_dialect(pipeline)
    models = load_models()
    columns = output_columns(models)
    with pipeline.sql_client() as client:
        dataset = client.dataset_name
        mschema = models_schema_name(dataset)
        result = TransformResult(dataset_name=dataset, models_schema=mschema, dialect=dialect)
        client.execute_sql("SET TimeZone = 'UTC'" if dialect == "duckdb" else "SET TIME ZONE 'UTC'")
        raw_cols = _columns_in(client, dataset)
        needed = sorted({t for m in models.values() for t in m.raw_tables})
        result.missing_raw_tables = [t for t in needed if t not in raw_cols]
        raw_arg = {t: raw_cols.get(t) for t in needed}
        cascade = " CASCADE" if dialect == "postgres" else ""

        client.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {q(mschema)}")
        existing = _relations(client, mschema)
        for name in reversed([*models, PII_COLUMNS_TABLE]):
            if name in existing:
                kind = "VIEW" if existing[name] == "view" else "TABLE"
                client.execute_sql(f"DROP {kind} IF EXISTS {q(mschema)}.{q(name)}{cascade}")
        for name, m in models.items():
            body = render(m, dialect, dataset, mschema, raw_arg)
            # PostgreSQL: views would block dlt from dropping/replacing a raw table (refresh), so every
            # model is a table there; DuckDB does not track view dependencies.
            kind = "VIEW" if m.materialization == "view" and dialect == "duckdb" else "TABLE"
            _build(client, name, f"CREATE {kind} {q(mschema)}.{q(name)} AS {body}")
            result.models_built.append(name)
        for name in models:
            result.row_counts[name] = int(_rows(client, f"select count(*) from {q(mschema)}.{q(name)}")[0][0])

        # PII: raw columns from the catalog + dlt schema hints, model columns from lineage
        schema = getattr(pipeline, "default_schema", None) if pipeline.default_schema_name else None
        raw_pii = raw_pii_from_schema(schema)
        tags: list[tuple[str, PiiColumn]] = []
        for (table, col), (cat, suspected) in sorted(raw_pii.items()):
            if col in raw_cols.get(table, set()):
                tags.append((dataset, PiiColumn("raw", table, col, cat, table, col, suspected)))
        tags += [(mschema, p) for p in model_pii(models, raw_pii)]
        comments: dict[tuple[str, str, str], list[str]] = {}
        for sch, p in tags:
            comments.setdefault((sch, p.table, p.column), []).append(p.comment())
        for (sch, table, col), texts in comments.items():
            client.execute_sql(
                f"COMMENT ON COLUMN {q(sch)}.{q(table)}.{q(col)} IS {_lit('; '.join(dict.fromkeys(texts)))}"
            )
        client.execute_sql(
            f"CREATE TABLE {q(mschema)}.{q(PII_COLUMNS_TABLE)} (table_schema VARCHAR, table_name VARCHAR, "
            "column_name VARCHAR, category VARCHAR, layer VARCHAR, source_table VARCHAR, "
            "source_column VARCHAR, suspected BOOLEAN, comment VARCHAR)"
        )
        if tags:
            values = ", ".join(
                "(" + ", ".join(_lit(v) for v in (sch, p.table, p.column, p.category, p.layer,
                                                   p.source_table, p.source_column, p.suspected,
                                                   p.comment())) + ")"
                for sch, p in tags
            )
            client.execute_sql(f"INSERT INTO {q(mschema)}.{q(PII_COLUMNS_TABLE)} VALUES {values}")
        result.pii_columns = [p for _, p in tags]
        result.suspected_pii = [p for _, p in tags if p.suspected and p.layer == "raw"]

        if run_tests:
            tests = build_tests(models, columns)
            result.tests = run_data_tests(client, dialect, mschema, tests)
    result.duration_s = time.monotonic() - t0
    log.info("transforms done\n%s", result.summary())
    return result


def _build(client: Any, model: str, statement: str) -> None:
    from dlt.destinations.exceptions import DatabaseException

    try:
        client.execute_sql(statement)
    except DatabaseException as error:
        cause = error.__cause__ or error
        raise TransformError(f"model {model} could not be built: {type(cause).__name__}: {str(cause)[:300]}") from error


def run_data_tests_only(pipeline: Any) -> list[DataTestResult]:
    """Re-run the data tests on already built models."""
    dialect = destination_dialect(pipeline)
    models = load_models()
    tests = build_tests(models, output_columns(models))
    with pipeline.sql_client() as client:
        return run_data_tests(client, dialect, models_schema_name(client.dataset_name), tests)
