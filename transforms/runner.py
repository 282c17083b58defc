"""Runs the dbt project in this folder on a dlt pipeline's destination, through dlt's dbt runner.

`dlt.dbt.package(pipeline, ...)` builds the dbt profile from the pipeline: its destination picks the profile,
its credentials reach dbt as DLT__CREDENTIALS__* environment variables, its dataset is the source schema.
The models go to `<dataset>_models`. dbt runs in the current virtualenv (nothing is installed or
downloaded), in a child process that exits before this returns: DuckDB allows one writer, so the file is
free again for the report or any later step. One `dbt build` (models and their tests in DAG order) with
partial parsing: its target folder lives in the pipeline's working folder, so repeated runs of one pipeline
reuse the parse and concurrent pipelines never share one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from transforms.errors import TransformError
from transforms.pii import suspected_raw_columns
from transforms.results import DataTestResult, PiiColumn, TransformResult

PROJECT_DIR = Path(__file__).parent
MODELS_SCHEMA_SUFFIX = "_models"
# destinations with a profile in transforms/profiles.yml; others use the profiles dlt ships
OWN_PROFILES = ("duckdb", "postgres")
DATA_TEST_RESULTS_TABLE = "data_test_results"
PII_COLUMNS_TABLE = "pii_columns"
# No outbound call but to the API and the destination: dbt's anonymous usage events and version check off.
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", "DBT_VERSION_CHECK": "false"}
MODEL_STATUSES_FAILED = ("error", "runtime error")


def models_schema_name(dataset_name: str) -> str:
    return f"{dataset_name}{MODELS_SCHEMA_SUFFIX}"


def current_venv() -> Any:
    """The interpreter running this code, as a dlt Venv (dlt.dbt.get_venv with no path = Venv.restore_current).

    Venv.restore_current trusts $VIRTUAL_ENV, which is unset when .venv/bin/leadpanther-elt is run directly
    and may name another env; the child must be this interpreter, which has dbt installed."""
    from dlt.common.runners import Venv

    venv = Venv.restore_current()
    if Path(venv.context.env_exe).resolve() != Path(sys.executable).resolve() or not venv.context.bin_path:
        venv = Venv(types.SimpleNamespace(bin_path=str(Path(sys.executable).parent), env_exe=sys.executable), True)
    return venv


def dbt_runner(pipeline: Any, project_dir: Path = PROJECT_DIR) -> Any:
    import dlt

    runner = dlt.dbt.package(pipeline, str(project_dir), venv=current_venv())
    if runner.config.package_profile_name in OWN_PROFILES:
        runner.config.package_profiles_dir = str(PROJECT_DIR)
    return runner


def dbt_work_dir(pipeline: Any) -> Path:
    return Path(pipeline.working_dir) / "dbt"


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_dbt(
    pipeline: Any,
    command: str,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    extra_vars: dict[str, Any] | None = None,
    project_dir: Path = PROJECT_DIR,
) -> Path:
    """Run one dbt command (e.g. "build", "docs generate", "source freshness") on the pipeline's destination;
    returns its target folder (run_results.json, manifest.json, catalog.json, sources.json). Raises dlt's
    DBTProcessingError when dbt reports a failure (a failed data test included)."""
    from dlt.helpers.dbt.exceptions import DBTProcessingError

    runner = dbt_runner(pipeline, project_dir)
    work = dbt_work_dir(pipeline)
    target = work / "target"
    (target / "run_results.json").unlink(missing_ok=True)
    package_vars = runner._get_package_vars(extra_vars, models_schema_name(pipeline.dataset_name))
    paths = ["--target-path", str(target), "--log-path", str(work / "logs"), "--log-level-file", "info"]
    with _environ({**DBT_ENV, **(env or {})}):
        if " " not in command:
            # DBTPackageRunner has run()/test() but no build(): `_run_dbt_command` is the method both call.
            runner._run_dbt_command(command, [*args, *paths], package_vars)
            return target
        # Two-word commands (dlt's runner puts its options between the words): the same venv, profile,
        # credentials and vars, through dbt's CLI.
        import subprocess

        from dlt.common.configuration.utils import add_config_to_env

        saved = dict(os.environ)
        try:
            add_config_to_env(runner.credentials, ("dlt",))
            cli = [*command.split(), "--project-dir", str(project_dir),
                   "--profiles-dir", runner.config.package_profiles_dir,
                   "--profile", runner.config.package_profile_name,
                   "--vars", json.dumps(package_vars), *args, *paths]
            sys.stdout.write(runner.venv.run_command("dbt", *cli))
        except subprocess.CalledProcessError as error:
            sys.stdout.write(error.output or "")
            raise DBTProcessingError(command, None, error.output) from error
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return target


def run_transforms(
    pipeline: Any,
    *,
    run_id: str | None = None,
    select: str | None = None,
    command: str = "build",
    full_refresh: bool = False,
) -> TransformResult:
    """`dbt build` the models on the pipeline's destination and report. Never raises because a data test
    failed (see TransformResult.failed_errors / .warnings); raises TransformError when a model fails to build.
    command="test" re-runs the data tests on the models as they are. `full_refresh`: rebuild the incremental
    models from all of history (dbt's --full-refresh), for when their SQL changed (transforms/DECISIONLOG.md)."""
    from dlt.helpers.dbt.exceptions import DBTProcessingError

    t0 = time.monotonic()
    dataset = pipeline.dataset_name
    result = TransformResult(
        dataset_name=dataset,
        models_schema=models_schema_name(dataset),
        dialect=str(pipeline.destination.destination_type).rsplit(".", 1)[-1],
        run_id=run_id,
    )
    env = {"LEADPANTHER_SUSPECTED_PII": json.dumps(suspected_raw_columns(pipeline))}
    if run_id:
        env["LEADPANTHER_RUN_ID"] = run_id
    args = ["--select", select] if select else []
    if full_refresh:
        args.append("--full-refresh")
    failure: BaseException | None = None
    try:
        target = run_dbt(pipeline, command, args, env)
    except DBTProcessingError as error:
        failure = error
        target = dbt_work_dir(pipeline) / "target"
    except Exception as error:  # the child could not start dbt at all
        raise TransformError(f"dbt could not run: {type(error).__name__}: {error}") from error
    _read_results(target, result, failure)
    _read_destination(pipeline, result)
    result.duration_s = time.monotonic() - t0
    return result


def _read_results(target: Path, result: TransformResult, failure: BaseException | None) -> None:
    """Fill the result from dbt's run_results.json and manifest.json; raise TransformError on a model error."""
    run_results_path = target / "run_results.json"
    if not run_results_path.exists():
        raise TransformError(f"dbt build did not run: {_dbt_message(failure)}")
    run_results = json.loads(run_results_path.read_text())
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    errors: list[str] = []
    for r in run_results["results"]:
        node = nodes.get(r["unique_id"], {})
        kind = node.get("resource_type")
        status = str(r["status"])
        if kind == "model":
            if status in MODEL_STATUSES_FAILED:
                errors.append(f"{node['name']}: {r.get('message')}")
            elif status == "skipped":
                result.models_skipped.append(node["name"])
            else:
                result.models_built.append(node["name"])
        elif kind == "test" and status != "skipped":
            result.tests.append(_test_result(node, r, nodes))
    if errors:
        raise TransformError("model(s) failed to build: " + "; ".join(errors))
    if failure is not None and not result.tests and not result.models_built:
        raise TransformError(f"dbt build failed: {_dbt_message(failure)}")


def _test_result(node: dict[str, Any], r: dict[str, Any], nodes: dict[str, Any]) -> DataTestResult:
    attached = node.get("attached_node") or next(iter(node.get("depends_on", {}).get("nodes", [])), "")
    model = nodes.get(attached, {}).get("name") or attached.rsplit(".", 1)[-1]
    status = str(r["status"])
    return DataTestResult(
        model=model,
        test=_test_label(node),
        severity="warn" if str(node.get("config", {}).get("severity", "error")).lower() == "warn" else "error",
        status="pass" if status == "pass" else ("warn" if status == "warn" else "fail"),
        failures=int(r.get("failures") or 0),
        message=str(r.get("message") or ""),
    )


def _test_label(node: dict[str, Any]) -> str:
    """`not_null(email)`, `lp_primary_key(client_id, post_id)`, `lp_stages_never_increase(upper=a, lower=b)`."""
    meta = node.get("test_metadata") or {}
    if not meta:
        return node["name"]  # a singular test
    if node.get("column_name"):
        return f"{meta['name']}({node['column_name']})"
    parts = []
    for key, value in (meta.get("kwargs") or {}).items():
        if key == "model":
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(text if key == "columns" else f"{key}={text}")
    return f"{meta['name']}({', '.join(parts)})"


def _dbt_message(failure: BaseException | None) -> str:
    if failure is None:
        return "no run_results.json written"
    inner = getattr(failure, "dbt_results", None)
    return f"{failure} ({inner})" if inner is not None else str(failure)


def _read_destination(pipeline: Any, result: TransformResult) -> None:
    """Row counts of the marts, the PII columns table, raw tables absent: what the summary shows."""
    schema = result.models_schema
    with pipeline.sql_client() as client:
        tables = {
            (s, t)
            for s, t in client.execute_sql(
                "select table_schema, table_name from information_schema.tables "
                f"where table_schema in ('{result.dataset_name}', '{schema}')"
            )
        }
        for name in result.models_built:
            if name.startswith(("fct_", "dim_", "agg_")) and (schema, name) in tables:
                result.row_counts[name] = int(client.execute_sql(f'select count(*) from "{schema}"."{name}"')[0][0])
        if (schema, PII_COLUMNS_TABLE) in tables:
            rows = client.execute_sql(
                "select table_schema, table_name, column_name, category, layer, suspected "
                f'from "{schema}"."{PII_COLUMNS_TABLE}" order by 1, 2, 3'
            )
            result.pii_columns = [PiiColumn(s, t, c, cat, layer, bool(sus)) for s, t, c, cat, layer, sus in rows]
    from sources.leadpanther.settings import raw_tables

    result.missing_raw_tables = sorted(t for t in raw_tables() if (result.dataset_name, t) not in tables)
