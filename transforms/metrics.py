"""The metric layer (models/metrics/*.yml) queried with MetricFlow on the pipeline's own destination.

Why not the `mf` CLI: it reads `target/` under the project folder (ours lives in the pipeline's working folder,
see runner.py), asks PyPI for a newer version on every call (an outbound call beside the API and the
destination) and starts dbt's adapter machinery in-process. Here MetricFlow's public engine
(`MetricFlowEngine`) reads the semantic manifest dbt wrote for this pipeline and runs its SQL through
`DestinationSqlClient`, an implementation of MetricFlow's `SqlClient` protocol over dlt's SQL client: the same
connection and credentials as the load. MetricFlow's telemetry only logs locally; nothing is sent.

MetricFlow is an optional extra (`pip install -e ".[metrics]"`): the import happens in `metric_engine`, and
`MetricsUnavailableError` says how to install it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transforms.runner import dbt_work_dir

INSTALL_HINT = 'pip install -e ".[metrics]"  (dbt-metricflow 0.15.0, metricflow 0.213.0)'
ENGINES = {"duckdb": "DUCKDB", "postgres": "POSTGRES"}  # destinations whose SQL this client runs


class MetricsUnavailableError(RuntimeError):
    """MetricFlow is not installed, the destination is not supported, or the models were never built."""


@dataclass(frozen=True)
class MetricTable:
    """A metric query's answer: its column names, rows and the SQL MetricFlow generated."""

    columns: list[str]
    rows: list[tuple]
    sql: str

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def semantic_manifest_path(pipeline: Any) -> Path:
    """Where dbt wrote this pipeline's semantic manifest (written by every parse or build of the models)."""
    return dbt_work_dir(pipeline) / "target" / "semantic_manifest.json"


def _manifest_text(pipeline: Any) -> str:
    path = semantic_manifest_path(pipeline)
    if not path.is_file():
        raise MetricsUnavailableError(f"no semantic manifest at {path}: build the models (leadpanther-elt transform)")
    return path.read_text(encoding="utf-8")


def _require_metricflow() -> None:
    try:
        import metricflow  # noqa: F401
    except ImportError as error:
        raise MetricsUnavailableError(
            f"MetricFlow is not installed. Install the metrics extra: {INSTALL_HINT}"
        ) from error


class DestinationSqlClient:
    """MetricFlow's SqlClient protocol over a dlt pipeline's SQL client (DuckDB or PostgreSQL), one connection for
    the client's lifetime. MetricFlow passes no bind parameters for metric queries; any it passes are refused."""

    def __init__(self, sql_client: Any, destination_type: str) -> None:
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
        from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer

        self._sql = sql_client
        self._engine = SqlEngine[ENGINES[destination_type]]
        self._renderer = DuckDbSqlPlanRenderer() if destination_type == "duckdb" else PostgresSQLSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> Any:
        return self._engine

    @property
    def sql_plan_renderer(self) -> Any:
        return self._renderer

    @staticmethod
    def _no_parameters(parameters: Any) -> None:
        if parameters is not None and parameters.param_dict:
            raise ValueError(f"bind parameters are not supported here: {sorted(parameters.param_dict)}")

    def query(self, stmt: str, sql_bind_parameter_set: Any = None) -> Any:
        from metricflow.data_table.mf_table import MetricFlowDataTable

        self._no_parameters(sql_bind_parameter_set)
        with self._sql.execute_query(stmt) as cursor:
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        return MetricFlowDataTable.create_from_rows(column_names=columns, rows=rows)

    def execute(self, stmt: str, sql_bind_parameter_set: Any = None) -> None:
        self._no_parameters(sql_bind_parameter_set)
        self._sql.execute_sql(stmt)

    def dry_run(self, stmt: str, sql_bind_parameter_set: Any = None) -> None:
        self._no_parameters(sql_bind_parameter_set)
        self._sql.execute_sql(f"EXPLAIN {stmt}")

    def close(self) -> None:
        """The connection is closed by `metric_engine`'s context."""

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}" if self._engine.name == "DUCKDB" else f"%({bind_parameter_key})s"


@contextmanager
def metric_engine(pipeline: Any) -> Iterator[Any]:
    """A MetricFlowEngine over the pipeline's destination, from the semantic manifest of its last dbt parse or
    build. Raises MetricsUnavailableError when MetricFlow is missing, the destination is not DuckDB or
    PostgreSQL, or the models were never built for this pipeline."""
    _require_metricflow()
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    destination = pipeline.destination.destination_type.rsplit(".", 1)[-1]
    if destination not in ENGINES:
        raise MetricsUnavailableError(f"metrics run on DuckDB or PostgreSQL here, not on {destination}")
    manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=_manifest_text(pipeline))
    with pipeline.sql_client() as sql:
        yield MetricFlowEngine(SemanticManifestLookup(manifest), DestinationSqlClient(sql, destination))


def query_metrics(
    pipeline: Any,
    metrics: Sequence[str],
    group_by: Sequence[str] = (),
    *,
    where: Sequence[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> MetricTable:
    """Metrics by the given dimensions, e.g. query_metrics(p, ["engagement_rate"], ["client", "metric_time__week"])."""
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    with metric_engine(pipeline) as engine:
        request = MetricFlowQueryRequest.create(
            metric_names=list(metrics),
            group_by_names=list(group_by) or None,
            where_constraints=list(where) or None,
            order_by_names=list(order_by) or None,
            limit=limit,
        )
        result = engine.query(request)
    table = result.result_df
    return MetricTable(list(table.column_names), [tuple(r) for r in table.rows], result.sql)


def list_metrics(pipeline: Any) -> list[dict[str, str]]:
    """Every metric of the semantic manifest: name, type and description (no MetricFlow needed)."""
    manifest = json.loads(_manifest_text(pipeline))
    return [
        {"name": m["name"], "type": m["type"], "description": " ".join((m.get("description") or "").split())}
        for m in sorted(manifest["metrics"], key=lambda m: m["name"])
    ]
