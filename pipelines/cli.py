"""`leadpanther-elt`: run, demo, start, check, transform, dbt, report, query, metrics.

A thin layer: argparse, then one call per command into the modules that do the work (`run`, `demo`,
`check`, `transforms`, `query`). Exit codes are `exit_codes.ExitCode` (README "Exit codes" is tested
against it); an exception that escapes a command becomes its code here, with one line to act on.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sources.leadpanther.helpers.errors import LeadPantherError
from sources.leadpanther.settings import DEFAULT_MODE, MODES

from .check import DEFAULT_MAX_CLIENTS
from .console import finish, progress, report_traceback, say, self_command
from .exit_codes import ExitCode, exit_code_for
from .factory import duckdb_file, make_pipeline
from .failures import known_error
from .paths import DEFAULT_DUCKDB_FILE, resolve_duckdb_path
from .run import run_sync
from .tracebacks import one_line

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _locate_project() -> None:
    """dlt reads `.dlt/` from the working directory; run from elsewhere, use this project's folder."""
    if "DLT_PROJECT_DIR" not in os.environ and not Path(".dlt").is_dir() and (PROJECT_ROOT / ".dlt").is_dir():
        os.environ["DLT_PROJECT_DIR"] = str(PROJECT_ROOT)


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _positive_int(value: str) -> int:
    """argparse type: a usage error (exit 2) names the option instead of a traceback."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _pipeline(args: argparse.Namespace) -> Any:
    return make_pipeline(
        args.destination, args.dataset, duckdb_path=args.duckdb_path, shard=getattr(args, "shard", None)
    )


def cmd_run(args: argparse.Namespace) -> int:
    result = run_sync(
        _pipeline(args),
        mode=args.mode,
        full_refresh=args.full_refresh,
        transform=not args.no_transform,
        progress=progress,
        verbose=args.verbose,
        clients=_split(args.clients),
        resources=_split(args.resources),
        shard=args.shard,
    )
    code = finish(result, args.verbose)
    if args.shard and result.error is None:
        say(
            f"shard {args.shard}: models not built (they read every shard's rows); when all shards have finished, "
            f"run: {self_command()} transform"
        )
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.demo import run_demo

    return run_demo(
        dataset=args.dataset,
        duckdb_path=args.duckdb_path,
        seed=args.seed,
        preset=args.preset,
        history_weeks=args.history_weeks,
        verbose=args.verbose,
    )


def cmd_check(args: argparse.Namespace) -> int:
    from pipelines.check import run_check

    return run_check(print_line=say, max_clients=args.max_clients)


def cmd_transform(args: argparse.Namespace) -> int:
    from pipelines.publish import publish_and_say
    from transforms import run_transforms

    pipeline = _pipeline(args)
    result = run_transforms(pipeline, select=args.select, full_refresh=args.full_refresh)
    say(result.summary())
    if not publish_and_say(duckdb_file(pipeline), pipeline.dataset_name, say):
        return ExitCode.PARTIAL
    if result.failed_errors:
        say(f"exit {ExitCode.PARTIAL}: {len(result.failed_errors)} error-severity data test(s) failed (listed above)")
        return ExitCode.PARTIAL
    return ExitCode.OK


def cmd_dbt(args: argparse.Namespace) -> int:
    """Any dbt command on the models, with the pipeline's destination and credentials (dbt's own parser
    reads the command and its arguments)."""
    from transforms import TransformError, run_dbt

    dbt_args = [a for a in args.dbt_args if a != "--"]
    if not dbt_args:
        say("usage: leadpanther-elt dbt [--duckdb-path F] <dbt command> [dbt args], e.g. docs generate")
        return ExitCode.CONFIG
    try:
        target = run_dbt(_pipeline(args), dbt_args)
    except TransformError as error:
        say(error.message)
        return ExitCode.FAILED
    say(f"dbt {' '.join(dbt_args)}: done; artifacts in {target}")
    return ExitCode.OK


def cmd_report(args: argparse.Namespace) -> int:
    from transforms import run_transforms
    from transforms.report import write_report

    pipeline = _pipeline(args)
    tests = run_transforms(pipeline)  # the report reads the models: build them from what is loaded now
    for line in (t.line() for t in (*tests.failed_errors, *tests.warnings)):
        say(line)
    output = Path(args.output) if args.output else Path(pipeline.pipelines_dir).parent / "leadpanther_report.html"
    path = write_report(pipeline, output)
    say(f"Report written to {path}")
    return ExitCode.OK


def cmd_query(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.destination import LOCK_MARKER, locked_error
    from pipelines.query import run_query

    path = resolve_duckdb_path(args.duckdb_path)
    try:
        say(run_query(path, args.sql))
    except FileNotFoundError as error:
        say(str(error))
        return ExitCode.CONFIG
    except duckdb.Error as error:
        if LOCK_MARKER in str(error):
            raise locked_error(path, str(error), 0.0) from error
        say(f"Query failed: {type(error).__name__}: {' '.join(str(error).split())[:500]}")
        return ExitCode.CONFIG
    return ExitCode.OK


def cmd_metrics(args: argparse.Namespace) -> int:
    from pipelines.metrics_cli import run_metrics

    return run_metrics(args, _pipeline(args), say)


def cmd_start(args: argparse.Namespace) -> int:
    """The quick start's main job: the real sync when a key is configured, the demo otherwise."""
    from sources.leadpanther.configuration import resolve_source_config

    if resolve_source_config(accept_partial=True).api_key:
        say("An API key is configured: running the real sync (leadpanther-elt run).")
        return cmd_run(args)
    say("No API key configured ([sources.leadpanther] api_key): running the demo against the emulator.")
    return cmd_demo(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadpanther-elt", description=__doc__.split("\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="a progress line per finished client-route; print the traceback of an unexpected error",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    def destination_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--destination", default="duckdb", help="duckdb (default), postgres, bigquery, snowflake, ...")
        p.add_argument("--dataset", default=None, help="dataset (schema) name; default 'leadpanther'")
        p.add_argument("--duckdb-path", default=None, help=f"DuckDB file; default data/{DEFAULT_DUCKDB_FILE}")

    def run_args(p: argparse.ArgumentParser) -> None:
        destination_args(p)
        p.add_argument("--full-refresh", action="store_true", help="drop this source's tables and state first")
        p.add_argument("--clients", default=None, help="comma-separated client ids (default: every accessible)")
        p.add_argument("--resources", default=None, help="comma-separated subset, e.g. posts,leads")
        p.add_argument("--mode", choices=MODES, default=None, help=f"default from config: {DEFAULT_MODE}")
        p.add_argument("--no-transform", action="store_true", help="load only; skip the SQL models")
        p.add_argument(
            "--shard",
            default=None,
            metavar="K/N",
            help="read only shard K of N (clients by a stable hash of their id), as its own pipeline; implies "
            "--no-transform: run `transform` once after all shards",
        )

    def demo_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--preset", default="demo", help="emulator dataset size: tiny, demo, medium, large")
        p.add_argument("--seed", type=int, default=7)
        p.add_argument(
            "--history-weeks",
            type=int,
            default=6,
            metavar="N",
            help="simulated weeks of history after the first load (0: one run, no weekly gains)",
        )

    p = add("run", help="load from the real API (key from .dlt/secrets.toml or env)")
    run_args(p)
    p.set_defaults(func=cmd_run)
    p = add("demo", help="start the emulator and load it into a local DuckDB file")
    destination_args(p)
    demo_args(p)
    p.set_defaults(func=cmd_demo)
    p = add("start", help="run if an API key is configured, else demo (the quick start)")
    run_args(p)
    demo_args(p)
    p.set_defaults(func=cmd_start)
    p = add("check", help="verify the key, its scopes and grants per client")
    p.add_argument(
        "--max-clients", type=_positive_int, default=DEFAULT_MAX_CLIENTS, help="clients to probe (4 requests each)"
    )
    p.set_defaults(func=cmd_check)
    p = add("transform", help="dbt build: (re)build the models and run their data tests on the loaded data")
    destination_args(p)
    p.add_argument("--select", default=None, help="dbt node selection, e.g. 'fct_post_engagement+' (default: all)")
    p.add_argument(
        "--full-refresh", action="store_true", help="rebuild the incremental models from all history (models changed)"
    )
    p.set_defaults(func=cmd_transform)
    p = add(
        "dbt",
        help="any dbt command on the models with the pipeline's destination, e.g. `dbt docs generate`, "
        "`dbt source freshness`",
    )
    destination_args(p)
    p.add_argument("dbt_args", nargs=argparse.REMAINDER, help="the dbt command and its arguments")
    p.set_defaults(func=cmd_dbt)
    p = add("report", help="write the self-contained HTML report")
    destination_args(p)
    p.add_argument("--output", default=None)
    p.set_defaults(func=cmd_report)
    p = add("query", help="run one SQL statement on the local DuckDB file (read-only)")
    p.add_argument("--duckdb-path", default=None)
    p.add_argument("sql")
    p.set_defaults(func=cmd_query)
    from pipelines.metrics_cli import add_metrics_args

    p = add(
        "metrics",
        help="query the metric layer (MetricFlow), e.g. `metrics engagement_rate --by client,metric_time__week`",
    )
    destination_args(p)
    add_metrics_args(p)
    p.set_defaults(func=cmd_metrics)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _locate_project()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        say("Interrupted; nothing half-written: the next run resumes from the last committed load.")
        return ExitCode.INTERRUPTED
    except LeadPantherError as error:
        return _failed(error)
    except Exception as error:
        known = known_error(error, getattr(args, "destination", None) or "duckdb", None)
        if known is not None:
            return _failed(known)
        say(f"Unexpected error: {one_line(error)}")
        report_traceback(error, getattr(args, "verbose", False))
        return ExitCode.FAILED


def _failed(error: LeadPantherError) -> ExitCode:
    """One line for a known problem, prefixed by its family, and its exit code."""
    code = exit_code_for(error)
    prefix = {ExitCode.CONFIG: "Configuration error", ExitCode.DESTINATION: "Destination unavailable"}
    say(f"{prefix.get(code, 'Failed')}: {error}")
    return code


if __name__ == "__main__":
    sys.exit(main())
