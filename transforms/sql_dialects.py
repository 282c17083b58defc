"""Where the connector's own SQL differs between warehouses: the one place that knows. Used by the post-load
steps (pipelines/) and by the dbt step's summary (transforms/runner.py), so it lives here: transforms/ does not
import pipelines/.

The post-load steps (deletions.py, duplicate_keys.py, sync_runs_retention.py, state_history.py) are written
in SQL every supported warehouse reads alike: `UPDATE ... FROM (subquery)`, `DELETE ... WHERE EXISTS` with
an alias, `CREATE TABLE ... AS SELECT`, window functions, `%s` parameters (checked by tests on DuckDB and
PostgreSQL, run on Snowflake's semantics through fakesnow, and parsed in BigQuery's dialect:
docs/destinations.md). What does differ is here:

* **Introspection**: which tables a dataset has. Snowflake folds unquoted names to upper case, so its
  `information_schema` holds `POSTS` in schema `LEADPANTHER`; asking for `leadpanther` finds nothing and
  every post-load step would silently skip. BigQuery has no database-wide `information_schema.tables`:
  each dataset has its own `<project>.<dataset>.INFORMATION_SCHEMA.TABLES`.

Column comments are not written here: dbt writes them (persist_docs for the models, the on-run-end hook
`comment_source_pii_columns` in transforms/macros/pii.sql for the raw tables), both through dbt's
per-adapter `alter_column_comment`: `COMMENT ON COLUMN` on DuckDB and PostgreSQL, `ALTER TABLE ... ALTER
COLUMN ... COMMENT` on Snowflake, `ALTER TABLE ... ALTER COLUMN ... SET OPTIONS (description=...)` on BigQuery.
"""

from __future__ import annotations

from typing import Any

# dlt's sqlglot dialect names (DestinationCapabilitiesContext.sqlglot_dialect).
BIGQUERY = "bigquery"
SNOWFLAKE = "snowflake"


def dialect(sql: Any) -> str:
    """The sqlglot dialect of a dlt sql client's destination ("duckdb", "postgres", "snowflake", "bigquery")."""
    return str(sql.capabilities.sqlglot_dialect or "")


def dataset_schema_name(sql: Any) -> str:
    """The dataset's schema name as the warehouse stores it (case-folded: upper case on Snowflake)."""
    return sql.make_qualified_table_name_path(None, quote=False)[-1]


def tables_query(sql: Any) -> tuple[str, tuple[Any, ...]]:
    """The statement (and its parameters) listing the dataset's tables, one `table_name` per row."""
    if dialect(sql) == BIGQUERY:
        return f"SELECT table_name FROM {sql.fully_qualified_dataset_name()}.INFORMATION_SCHEMA.TABLES", ()
    return "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (dataset_schema_name(sql),)


def existing_tables(sql: Any) -> set[str]:
    """The dataset's tables, as dlt names them (lower case: dlt's naming convention makes every name snake
    case, and Snowflake reports them folded to upper case)."""
    query, params = tables_query(sql)
    rows = sql.execute_sql(query, *params)
    return {str(r[0]).lower() for r in rows or []}


def count_query(sql: Any, table: str) -> str:
    """`select count(*)` of a table of the client's dataset, named as its warehouse spells it (BigQuery's
    backticked `project.dataset.table`, Snowflake's upper case, "schema"."table" elsewhere)."""
    return f"select count(*) from {sql.make_qualified_table_name(table)}"
