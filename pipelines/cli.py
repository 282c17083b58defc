"""`leadpanther-elt`: run, demo, check, transform, dbt, report.

Exit codes (README "Exit codes"): 0 loaded (data test warnings allowed); 1 failed, nothing of the run
loaded (rejected key, API down, an unexpected error: one line + the file holding its traceback); 2 bad
configuration or usage; 3 loaded and committed, but a client-route was skipped or failed, an error-severity
data test failed or the models could not be built; 4 the destination refused or its DuckDB file stayed
locked, nothing of the run loaded.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _locate_project() -> None:
    """dlt reads `.dlt/` from the working directory; run from elsewhere, use this project's folder."""
    if "DLT_PROJECT_DIR" not in os.environ and not Path(".dlt").is_dir() and (PROJECT_ROOT / ".dlt").is_dir():
        os.environ["DLT_PROJECT_DIR"] = str(PROJECT_ROOT)


def _say(line: str = "") -> None:
    print(line, flush=True)


_PROGRESS_LOCK = threading.Lock()


def _progress(line: str) -> None:
    """Progress comes from several scan threads: one write per line, under a lock, so lines never interleave."""
    with _PROGRESS_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _self_command() -> str:
    """How the user can call this CLI again (the venv's script when run as `make run`)."""
    argv0 = Path(sys.argv[0])
    return str(argv0) if argv0.name == "leadpanther-elt" else "leadpanther-elt"


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


def _pipeline(args: argparse.Namespace, *, pipeline_name: str | None = None):
    from pipelines.leadpanther_pipeline import PIPELINE_NAME, make_pipeline

    return make_pipeline(
        args.destination,
        args.dataset,
        duckdb_path=args.duckdb_path,
        pipeline_name=pipeline_name or PIPELINE_NAME,
        shard=getattr(args, "shard", None),
    )


def _finish(result, args: argparse.Namespace) -> int:
    for line in result.summary_lines():
        _say(line)
    if result.transform is not None:
        _say(result.transform.summary())
    from sources.leadpanther.helpers.errors import StepFailedError

    if isinstance(result.error, StepFailedError) and result.error.__cause__ is not None:
        _report_traceback(result.error.__cause__, args)
    _say(result.exit_reason())
    return result.exit_code


def _report_traceback(error: BaseException, args: argparse.Namespace) -> None:
    """The full traceback of an unexpected error goes to a file (and to stderr with -v); one line here."""
    from pipelines.leadpanther_pipeline import project_dir
    from pipelines.tracebacks import save_traceback, traceback_text

    path = save_traceback(error, project_dir() / "data" / "logs")
    if getattr(args, "verbose", False):
        sys.stderr.write(traceback_text(error))
    _say(f"  full traceback: {path}" + ("" if getattr(args, "verbose", False) else " (-v prints it)"))


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.leadpanther_pipeline import run_sync

    pipeline = _pipeline(args)
    result = run_sync(
        pipeline,
        mode=args.mode,
        full_refresh=args.full_refresh,
        transform=not args.no_transform,
        progress=_progress,
        verbose=args.verbose,
        clients=_split(args.clients),
        resources=_split(args.resources),
        shard=args.shard,
    )
    code = _finish(result, args)
    if args.shard and result.error is None:
        _say(
            f"shard {args.shard}: models not built (they read every shard's rows); when all shards have finished, "
            f"run: {_self_command()} transform"
        )
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    from leadpanther_emulator import EmulatorConfig, run_emulator
    from pipelines.leadpanther_pipeline import make_pipeline, project_dir, run_sync

    path = Path(args.duckdb_path) if args.duckdb_path else project_dir() / "data" / "leadpanther_demo.duckdb"
    config = EmulatorConfig(seed=args.seed, preset=args.preset)
    with run_emulator(config) as emu:
        _say(f"LeadPanther emulator on {emu.base_url} (seed {args.seed}, preset {args.preset})")
        pipeline = make_pipeline("duckdb", args.dataset, duckdb_path=path, pipeline_name="leadpanther_demo")
        result = run_sync(
            pipeline,
            api_key=emu.keys["full"],
            base_url=emu.base_url,
            progress=_progress,
            full_refresh=True,
            max_retries=3,
        )
    code = _finish(result, args)
    if code not in (0, 3):
        return code
    report_path = path.with_suffix(".html")
    try:
        from transforms.report import write_report

        write_report(pipeline, report_path)
        _say(f"\nReport: {report_path}")
    except ImportError:
        report_path = None
    dataset = pipeline.dataset_name
    models = result.transform.models_schema if result.transform is not None else f"{dataset}_models"
    _say(f"\nLoaded into the DuckDB file {path}: raw tables in schema '{dataset}', models in '{models}'. Try:")
    for query in (
        f"SELECT resource, status, count(*) AS client_routes, sum(rows) AS rows FROM {dataset}.sync_runs "
        "GROUP BY ALL ORDER BY resource",
        f"SELECT client_id, count(*) AS leads, count(email) AS with_email FROM {dataset}.leads GROUP BY client_id",
        f"SELECT * FROM {models}.fct_post_engagement ORDER BY leads_attributed DESC LIMIT 5",
    ):
        _say(f'  {_self_command()} query --duckdb-path {path} "{query}"')
    return code


def cmd_check(args: argparse.Namespace) -> int:
    from pipelines.check import run_check

    return run_check(print_line=_say, max_clients=args.max_clients)


def cmd_transform(args: argparse.Namespace) -> int:
    from pipelines.leadpanther_pipeline import EXIT_OK, EXIT_PARTIAL, duckdb_file
    from pipelines.publish import publish_and_say
    from transforms import run_transforms

    pipeline = _pipeline(args)
    result = run_transforms(pipeline, select=args.select, full_refresh=args.full_refresh)
    _say(result.summary())
    if not publish_and_say(duckdb_file(pipeline), pipeline.dataset_name, _say):
        return EXIT_PARTIAL
    if result.failed_errors:
        _say(f"exit 3: {len(result.failed_errors)} error-severity data test(s) failed (listed above)")
        return EXIT_PARTIAL
    return EXIT_OK


def cmd_dbt(args: argparse.Namespace) -> int:
    """Any dbt command on the models, with the pipeline's destination and credentials (dlt's dbt runner)."""
    from dlt.helpers.dbt.exceptions import DBTProcessingError

    from transforms import run_dbt

    dbt_args = [a for a in args.dbt_args if a != "--"]
    if not dbt_args:
        _say("usage: leadpanther-elt dbt [--duckdb-path F] <dbt command> [dbt args], e.g. docs generate")
        return 2
    words = 2 if dbt_args[0] in ("docs", "source") and len(dbt_args) > 1 else 1  # dbt's command groups
    pipeline = _pipeline(args)
    try:
        target = run_dbt(pipeline, " ".join(dbt_args[:words]), dbt_args[words:])
    except DBTProcessingError as error:
        _say(f"dbt {' '.join(dbt_args)} failed: {error}")
        return 1
    _say(f"dbt {' '.join(dbt_args)}: done; artifacts in {target}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from transforms import run_transforms
    from transforms.report import write_report

    pipeline = _pipeline(args)
    tests = run_transforms(pipeline)  # the report reads the models: build them from what is loaded now
    for line in (t.line() for t in (*tests.failed_errors, *tests.warnings)):
        _say(line)
    output = Path(args.output) if args.output else Path(pipeline.pipelines_dir).parent / "leadpanther_report.html"
    path = write_report(pipeline, output)
    _say(f"Report written to {path}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.destination import LOCK_MARKER, locked_error
    from pipelines.leadpanther_pipeline import resolve_duckdb_path
    from pipelines.query import run_query

    path = resolve_duckdb_path(args.duckdb_path)
    try:
        _say(run_query(path, args.sql))
    except FileNotFoundError as error:
        _say(str(error))
        return 2
    except duckdb.Error as error:
        if LOCK_MARKER in str(error):
            raise locked_error(path, str(error), 0.0) from error
        _say(f"Query failed: {type(error).__name__}: {' '.join(str(error).split())[:500]}")
        return 2
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    """The quick start's main job: the real sync when a key is configured, the demo otherwise."""
    from sources.leadpanther.configuration import resolve_source_config

    if resolve_source_config(accept_partial=True).api_key:
        _say("An API key is configured: running the real sync (leadpanther-elt run).")
        return cmd_run(args)
    _say("No API key configured ([sources.leadpanther] api_key): running the demo against the emulator.")
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
        p.add_argument("--duckdb-path", default=None, help="DuckDB file; default data/leadpanther_elt.duckdb")

    def run_args(p: argparse.ArgumentParser) -> None:
        destination_args(p)
        p.add_argument("--full-refresh", action="store_true", help="drop this source's tables and state first")
        p.add_argument("--clients", default=None, help="comma-separated client ids (default: every accessible)")
        p.add_argument("--resources", default=None, help="comma-separated subset, e.g. posts,leads")
        p.add_argument("--mode", choices=("auto", "quick", "reconcile"), default=None, help="default from config: auto")
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
    p.add_argument("--max-clients", type=_positive_int, default=50, help="clients to probe (4 requests each)")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _locate_project()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    from sources.leadpanther.helpers.errors import ConfigError, DestinationUnavailableError, LeadPantherError

    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        _say(f"Configuration error: {error}")
        return 2
    except DestinationUnavailableError as error:
        _say(f"Destination unavailable: {error}")
        return 4
    except LeadPantherError as error:
        _say(f"Failed: {error}")
        return 1
    except KeyboardInterrupt:
        _say("Interrupted; nothing half-written: the next run resumes from the last committed load.")
        return 130
    except Exception as error:
        return _unexpected(error, args)


def _unexpected(error: Exception, args: argparse.Namespace) -> int:
    """Known problems in dlt's clothing (config, destination) get their own line; the rest one line + a file."""
    from pipelines.destination import destination_config_error, destination_error
    from pipelines.leadpanther_pipeline import EXIT_CONFIG, EXIT_DESTINATION, EXIT_FAILED
    from pipelines.tracebacks import one_line
    from sources.leadpanther.configuration import config_error

    name = getattr(args, "destination", None) or "duckdb"
    problem = config_error(error) or destination_config_error(error, name)
    if problem is not None:
        _say(f"Configuration error: {problem}")
        return EXIT_CONFIG
    destination = destination_error(error, name, None)
    if destination is not None:
        _say(f"Destination unavailable: {destination}")
        return EXIT_DESTINATION
    _say(f"Unexpected error: {one_line(error)}")
    _report_traceback(error, args)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
