"""Runs the dbt project in this folder on a dlt pipeline's destination, with dbt's programmatic `dbtRunner`.

`dlt.dbt.package(pipeline, ...)` (dlt's documented dbt helper) says which dbt profile the pipeline's
destination takes and holds its credentials; those reach dbt as DLT__CREDENTIALS__* variables of the child
process that runs dbt (`dbt_child.py`, which says why a child), never through this process's environment.
The models go to `<dataset>_models`. dbt runs in this interpreter's environment (nothing is installed or
downloaded). One `dbt build` (models and their tests in DAG order) with partial parsing: its target folder
lives in the pipeline's working folder, so repeated runs of one pipeline reuse the parse and concurrent
pipelines never share one. Results are what `dbtRunner.invoke` returned, per node.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transforms.dbt_processes import SERVER
from transforms.errors import TransformError
from transforms.pii import suspected_raw_columns
from transforms.results import DataTestResult, PiiColumn, TransformResult
from transforms.sql_dialects import count_query, existing_tables

PROJECT_DIR = Path(__file__).parent
MODELS_SCHEMA_SUFFIX = "_models"
# destinations with a profile in transforms/profiles.yml; others use the profiles dlt ships
OWN_PROFILES = ("duckdb", "postgres")
DATA_TEST_RESULTS_TABLE = "data_test_results"
PII_COLUMNS_TABLE = "pii_columns"
# No outbound call but to the API and the destination: dbt's anonymous usage events and version check off.
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", "DBT_VERSION_CHECK": "false"}
# dbt prints warnings and errors only (what dlt's runner asked for at its default log level WARNING)
DBT_GLOBAL_ARGS = ("--quiet", "--no-print")
MODEL_STATUSES_FAILED = ("error", "runtime error")


def models_schema_name(dataset_name: str) -> str:
    return f"{dataset_name}{MODELS_SCHEMA_SUFFIX}"


def dbt_work_dir(pipeline: Any) -> Path:
    return Path(pipeline.working_dir) / "dbt"


def config_env(config: Any, sections: tuple[str, ...] = ("dlt",)) -> dict[str, str]:
    """A dlt configuration as the environment variables dlt's EnvironProvider reads (what dlt's
    `add_config_to_env` writes into os.environ), as a dict for the child instead."""
    from dlt.common.configuration.providers import EnvironProvider
    from dlt.common.configuration.specs import BaseConfiguration
    from dlt.common.configuration.utils import serialize_value

    if getattr(config, "__section__", None):
        sections = (*sections, config.__section__)
    env: dict[str, str] = {}

    def add(values: Mapping[str, Any], where: tuple[str, ...]) -> None:
        for key, value in values.items():
            if isinstance(value, BaseConfiguration):
                inner = where if value.__section__ else (*where, key)
                env.update(config_env(value, inner))
            elif isinstance(value, Mapping):
                add(value, (*where, key))
            elif value is not None:
                try:
                    env[EnvironProvider.get_key_name(key, *where)] = serialize_value(value)
                except TypeError:  # not serializable (a live connection): dlt skips it too
                    continue

    add(dict(config), sections)
    return env


def dbt_profile(pipeline: Any) -> tuple[str, str, dict[str, str]]:
    """(profile name, profiles folder, credentials as env vars) for the pipeline's destination."""
    import dlt

    package = dlt.dbt.package(pipeline, str(PROJECT_DIR))
    name = package.config.package_profile_name
    folder = str(PROJECT_DIR) if name in OWN_PROFILES else package.config.package_profiles_dir
    return name, folder, config_env(package.credentials) if package.credentials else {}


def run_dbt(
    pipeline: Any,
    command: str | Sequence[str],
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    extra_vars: dict[str, Any] | None = None,
    project_dir: Path = PROJECT_DIR,
) -> Path:
    """Run one dbt command (e.g. "build", "docs generate", "source freshness") on the pipeline's destination;
    returns its target folder (manifest.json, catalog.json, ...). Raises TransformError when dbt reports a
    failure (a failed data test included)."""
    outcome = invoke_dbt(pipeline, command, args, env, extra_vars, project_dir)
    if not outcome["success"]:
        raise TransformError(f"dbt {_words(command)} failed: {_failure_text(outcome)}")
    return dbt_work_dir(pipeline) / "target"


def invoke_dbt(
    pipeline: Any,
    command: str | Sequence[str],
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    extra_vars: dict[str, Any] | None = None,
    project_dir: Path = PROJECT_DIR,
) -> dict[str, Any]:
    """Run one dbt command in a child process; return what dbt returned: success, exception, per-node results."""
    profile, profiles_dir, credentials = dbt_profile(pipeline)
    work = dbt_work_dir(pipeline)
    target = work / "target"
    target.mkdir(parents=True, exist_ok=True)
    package_vars = {
        "source_dataset_name": pipeline.dataset_name,
        "destination_dataset_name": models_schema_name(pipeline.dataset_name),
        **(extra_vars or {}),
    }
    words = command.split() if isinstance(command, str) else list(command)
    dbt_args = [
        *DBT_GLOBAL_ARGS,
        *words,
        *args,
        "--project-dir", str(project_dir),
        "--profiles-dir", profiles_dir,
        "--profile", profile,
        "--vars", json.dumps(package_vars),
        "--target-path", str(target),
        "--log-path", str(work / "logs"),
        "--log-level-file", "info",
    ]  # fmt: skip
    outcome_path = work / "dbt_outcome.json"
    outcome_path.unlink(missing_ok=True)
    request = {
        "project_dir": str(project_dir),
        "args": dbt_args,
        "outcome_path": str(outcome_path),
        "output_path": str(work / "dbt_output.txt"),
    }
    exit_code = run_child(request, {**os.environ, **DBT_ENV, **credentials, **(env or {})})
    if not outcome_path.exists():
        return {"success": False, "exception": f"dbt's process ended with code {exit_code}", "nodes": []}
    return json.loads(outcome_path.read_text(encoding="utf-8"))


def run_child(request: dict[str, Any], env: dict[str, str]) -> int | None:
    """One dbt command in a fork of the dbt server (dbt_child says why); what it printed goes to this
    process's stderr when it is done."""
    try:
        return SERVER.run(request, env)
    finally:
        output = Path(request["output_path"])
        if output.exists():
            sys.stderr.write(output.read_text(encoding="utf-8", errors="replace"))
            sys.stderr.flush()
            output.unlink()


def _words(command: str | Sequence[str]) -> str:
    return command if isinstance(command, str) else " ".join(command)


def _failure_text(outcome: dict[str, Any]) -> str:
    failed = [
        f"{n['name']}: {n['message']}" for n in outcome["nodes"] if n["status"] in (*MODEL_STATUSES_FAILED, "fail")
    ]
    return "; ".join(failed) or outcome.get("exception") or "see dbt's messages above"


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
    try:
        outcome = invoke_dbt(pipeline, command, args, env)
    except OSError as error:  # the child could not be started at all
        raise TransformError(f"dbt could not run: {type(error).__name__}: {error}") from error
    _read_results(outcome, result)
    _read_destination(pipeline, result)
    result.duration_s = time.monotonic() - t0
    return result


def _read_results(outcome: dict[str, Any], result: TransformResult) -> None:
    """Fill the result from dbt's per-node results; raise TransformError on a model error."""
    errors: list[str] = []
    for node in outcome["nodes"]:
        kind = node["resource_type"]
        status = node["status"]
        if kind == "model":
            if status in MODEL_STATUSES_FAILED:
                errors.append(f"{node['name']}: {node['message']}")
            elif status == "skipped":
                result.models_skipped.append(node["name"])
            else:
                result.models_built.append(node["name"])
                result.model_seconds[node["name"]] = node.get("execution_time", 0.0)
        elif kind == "test" and status != "skipped":
            result.tests.append(_test_result(node))
    if errors:
        raise TransformError("model(s) failed to build: " + "; ".join(errors))
    if not outcome["success"] and not result.tests and not result.models_built:
        raise TransformError(f"dbt build failed: {_failure_text(outcome)}")


def _test_result(node: dict[str, Any]) -> DataTestResult:
    attached = node.get("attached_node") or ""
    status = node["status"]
    return DataTestResult(
        model=attached.rsplit(".", 1)[-1],
        test=_test_label(node),
        severity="warn" if node["severity"].lower() == "warn" else "error",
        status="pass" if status == "pass" else ("warn" if status == "warn" else "fail"),
        failures=int(node.get("failures") or 0),
        message=str(node.get("message") or ""),
    )


def _test_label(node: dict[str, Any]) -> str:
    """`not_null(email)`, `lp_primary_key(client_id, post_id)`, `lp_stages_never_increase(upper=a, lower=b)`."""
    if not node.get("test_name"):
        return node["name"]  # a singular test
    if node.get("column_name"):
        return f"{node['test_name']}({node['column_name']})"
    parts = []
    for key, value in node["test_kwargs"].items():
        if key == "model":
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(text if key == "columns" else f"{key}={text}")
    return f"{node['test_name']}({', '.join(parts)})"


def _read_destination(pipeline: Any, result: TransformResult) -> None:
    """Row counts of the marts, the PII columns table, raw tables absent: what the summary shows. Tables are
    listed per dialect (sql_dialects) and named through dlt's client, which quotes as its warehouse does."""
    with pipeline.sql_client() as raw:
        raw_tables_found = existing_tables(raw)
        with raw.with_alternative_dataset_name(result.models_schema) as models:
            found = existing_tables(models)
            for name in result.models_built:
                if name.startswith(("fct_", "dim_", "agg_")) and name in found:
                    result.row_counts[name] = int(models.execute_sql(count_query(models, name))[0][0])
            if PII_COLUMNS_TABLE in found:
                rows = models.execute_sql(
                    "select table_schema, table_name, column_name, category, layer, suspected "
                    f"from {models.make_qualified_table_name(PII_COLUMNS_TABLE)} order by 1, 2, 3"
                )
                result.pii_columns = [PiiColumn(s, t, c, cat, layer, bool(sus)) for s, t, c, cat, layer, sus in rows]
    from sources.leadpanther.settings import raw_tables

    result.missing_raw_tables = sorted(t for t in raw_tables() if t not in raw_tables_found)
