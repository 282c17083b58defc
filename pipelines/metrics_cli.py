"""`leadpanther-elt metrics`: ask the metric layer (dbt semantic models + MetricFlow, docs/metrics.md).

    leadpanther-elt metrics engagement_rate --by client__business_name,metric_time__week
    leadpanther-elt metrics --list

Runs on the pipeline's destination (DuckDB file or PostgreSQL) with the semantic manifest dbt wrote for the
pipeline; when there is none yet (models built by another pipeline name, e.g. the demo's), one `dbt parse`
writes it. MetricFlow is an optional extra: without it the command says how to install it and exits 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pipelines.exit_codes import ExitCode
from pipelines.query import format_table as query_table


def add_metrics_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("metrics", nargs="*", help="metric names, e.g. engagement_rate leads (see --list)")
    p.add_argument(
        "--by",
        default="metric_time__week",
        help="comma-separated dimensions or entities, e.g. client,metric_time__week (default: metric_time__week)",
    )
    p.add_argument(
        "--where",
        action="append",
        default=[],
        help="a filter, e.g. \"{{ TimeDimension('metric_time') }} >= '2026-11-01'\"",
    )
    p.add_argument("--order-by", default=None, help="comma-separated; '-name' for descending (default: --by)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--list", action="store_true", help="list the metrics and their definitions")
    p.add_argument("--sql", action="store_true", help="also print the SQL MetricFlow generated")


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date().isoformat()
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else f"{value:.4f}"
    return str(value)


def format_table(columns: list[str], rows: list[tuple]) -> str:
    """An aligned text table: integers as integers, ratios to 4 decimals, NULL as NULL (not 0 or blank)."""
    return query_table(columns, rows, cell=_cell)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def run_metrics(args: argparse.Namespace, pipeline: Any, say: Callable[[str], None]) -> int:
    from transforms import run_dbt
    from transforms.metrics import MetricsUnavailableError, list_metrics, query_metrics, semantic_manifest_path

    try:
        if not semantic_manifest_path(pipeline).is_file():
            say("No semantic manifest for this pipeline yet: dbt parse ...")
            run_dbt(pipeline, "parse", [])
        if args.list or not args.metrics:
            for m in list_metrics(pipeline):
                say(f"{m['name']:<32} {m['type']:<7} {m['description']}")
            return ExitCode.OK if args.list else ExitCode.CONFIG
        by = _split(args.by)
        table = query_metrics(
            pipeline, args.metrics, by, where=args.where, order_by=_split(args.order_by) or by, limit=args.limit
        )
    except MetricsUnavailableError as error:
        say(str(error))
        return ExitCode.CONFIG
    except Exception as error:  # MetricFlow's query errors (unknown metric, dimension) are many classes
        if type(error).__module__.split(".")[0] not in (
            "metricflow",
            "metricflow_semantics",
            "dbt_semantic_interfaces",
        ):
            raise
        say(f"Metric query failed: {type(error).__name__}: {' '.join(str(error).split())[:800]}")
        return ExitCode.CONFIG
    if args.sql:
        say(table.sql)
    say(format_table(table.columns, table.rows))
    return ExitCode.OK
