"""The dbt models in Dagster, the dagster-dbt way: every model an asset from the project's manifest.

* `@dbt_assets` over `transforms/` (the same dbt project the CLI runs): one asset per model, each downstream
  of the raw tables it reads. `LeadPantherTranslator` maps the dbt source `leadpanther.<table>` to the raw
  table's asset key (`leadpanther/raw/<table>`, a spec of the load's multi-asset), so the lineage is one
  graph; models are `leadpanther/models/<model>`, grouped by layer (staging, intermediate, marts, governance).
* dbt's data tests are asset checks on the model they test (dagster-dbt's own mapping): a failed
  error-severity test is a failed ERROR check; a failed warn-severity test a failed WARN check carrying
  `dagster_dbt/failed_row_count`. Error checks are blocking (dagster-dbt's default): the run fails after
  dbt finished (the CLI exits 3 then), the models it built stay materialized; warnings never fail it. A model
  that fails to build fails the run too.
* dbt's source freshness (`loaded_at_field` + `warn_after`/`error_after` in sources.yml) becomes a
  last-update freshness check per raw table, WARN or ERROR as dbt would say.
* The manifest is made when the code location loads (`dbt parse`, no connection), again whenever a project
  file changed since, the destination's dbt profile differs from the one it was parsed with, or under
  `dagster dev`; otherwise the existing one is read (each run's process loads the location too).

The dbt invocation is dagster-dbt's `DbtCliResource`; the destination's credentials reach dbt's profile as the
DLT__CREDENTIALS__* variables dlt's own dbt runner uses (transforms/profiles.yml reads them).
"""

import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    SupersessionWarning,
    build_last_update_freshness_checks,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

import transforms
from transforms import models_schema_name
from transforms.runner import DBT_ENV  # no outbound call but to the API and the destination

from .shards import RAW_GROUP, LeadPantherDestination, raw_key

PROJECT_DIR = Path(transforms.__file__).parent
SOURCE_NAME = "leadpanther"
MODELS_PREFIX = ("leadpanther", "models")
MODELS_ASSET_NAME = "leadpanther_dbt"  # the op; "leadpanther_models" is the job
# Destinations whose dbt profile is transforms/profiles.yml; others use the profiles dlt ships (as on the CLI).
OWN_PROFILES = ("duckdb", "postgres")
PREPARED_STAMP = "dagster-prepared.json"
MODEL_FAILED = ("error", "runtime error")


def profiles_dir_for(destination: str) -> Path:
    if destination in OWN_PROFILES:
        return PROJECT_DIR
    import dlt.helpers.dbt

    return Path(dlt.helpers.dbt.__file__).parent


def dbt_vars(dataset: str) -> dict[str, str]:
    """What dlt's dbt runner passes: the raw tables' schema and the models' schema."""
    return {"source_dataset_name": dataset, "destination_dataset_name": models_schema_name(dataset)}


def dbt_project(destination: str, dataset: str) -> DbtProject:
    """The dbt project with a manifest for this destination's profile, parsed now if it is missing or stale."""
    vars_json = json.dumps(dbt_vars(dataset), sort_keys=True)
    project = DbtProject(
        project_dir=PROJECT_DIR,
        profiles_dir=profiles_dir_for(destination),
        profile=destination,
        prepare_project_cli_args=["parse", "--quiet", "--vars", vars_json],
    )
    stamp = project.project_dir / project.target_path / PREPARED_STAMP
    # The profile decides what the manifest holds (materializations differ); the dataset only the sources'
    # schema, which dbt re-reads at run time: a new dataset needs no new parse.
    wanted = {"profile": destination}
    if project.preparer.using_dagster_dev() or _stale(project, stamp, wanted):
        # dagster-dbt's preparer runs `dbt` from PATH: put this interpreter's bin/ (the venv's dbt) first.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        with _environ({**DBT_ENV, "PATH": path}):
            project.preparer.prepare(project)
        stamp.write_text(json.dumps(wanted))
    return project


def _stale(project: DbtProject, stamp: Path, wanted: Mapping[str, str]) -> bool:
    manifest = project.manifest_path
    if not manifest.exists() or not stamp.exists() or json.loads(stamp.read_text()) != wanted:
        return True
    parsed_at = manifest.stat().st_mtime
    sources = [project.project_dir / "dbt_project.yml", project.profiles_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        sources.extend((project.project_dir / folder).rglob("*"))
    return any(p.is_file() and p.stat().st_mtime > parsed_at for p in sources)


class LeadPantherTranslator(DagsterDbtTranslator):
    """dbt source `leadpanther.<table>` -> the load's spec `leadpanther/raw/<table>`; models under
    `leadpanther/models/`, grouped by their folder (the layer)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source" and dbt_resource_props["source_name"] == SOURCE_NAME:
            return raw_key(dbt_resource_props["name"])
        return AssetKey([*MODELS_PREFIX, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return RAW_GROUP
        fqn = dbt_resource_props.get("fqn") or []
        return f"leadpanther_{fqn[1]}" if len(fqn) > 2 else "leadpanther_models"


def manifest_sources(project: DbtProject) -> list[dict[str, Any]]:
    """The `leadpanther` source's tables in the manifest, in sources.yml order."""
    manifest = json.loads(project.manifest_path.read_text())
    return [s for s in manifest["sources"].values() if s["source_name"] == SOURCE_NAME]


def raw_table_specs(project: DbtProject) -> list[AssetSpec]:
    """One spec per raw table the models read, described from sources.yml (which settings.py generates)."""
    return [
        AssetSpec(
            key=raw_key(s["name"]),
            group_name=RAW_GROUP,
            description=s.get("description") or None,
            kinds={"dlt"},
            metadata={"dbt_source": f"{SOURCE_NAME}.{s['name']}"},
        )
        for s in manifest_sources(project)
    ]


_PERIOD_HOURS = {"minute": 1 / 60, "hour": 1, "day": 24}


def source_freshness_checks(project: DbtProject) -> list:
    """dbt's source freshness as freshness checks: each raw table with a `loaded_at_field` and a threshold
    gets a last-update check (error_after -> ERROR, else warn_after -> WARN; the stricter one dbt reports)."""
    by_rule: dict[tuple[float, AssetCheckSeverity], list[AssetKey]] = {}
    for source in manifest_sources(project):
        freshness = source.get("freshness") or {}
        if not source.get("loaded_at_field") or not freshness:
            continue
        for level, severity in (("error_after", AssetCheckSeverity.ERROR), ("warn_after", AssetCheckSeverity.WARN)):
            rule = freshness.get(level) or {}
            if rule.get("count") and rule.get("period"):
                hours = float(rule["count"]) * _PERIOD_HOURS[rule["period"]]
                by_rule.setdefault((hours, severity), []).append(raw_key(source["name"]))
                break
    checks: list = []
    # Dagster 1.13 marks these checks superseded by FreshnessPolicy, but a FreshnessPolicy needs a fail window
    # and dbt's threshold here is warn_after alone: only a WARN check says what dbt says.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        for (hours, severity), keys in sorted(by_rule.items(), key=lambda item: (item[0][0], item[0][1].value)):
            checks.extend(
                build_last_update_freshness_checks(
                    assets=keys, lower_bound_delta=timedelta(hours=hours), severity=severity
                )
            )
    return checks


def dbt_resource(project: DbtProject) -> DbtCliResource:
    """dagster-dbt's dbt CLI on this interpreter's dbt (the venv's, also when its bin/ is not on PATH)."""
    beside = Path(sys.executable).parent / "dbt"
    return DbtCliResource(project_dir=project, dbt_executable=str(beside) if beside.exists() else "dbt")


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def destination_environ(pipeline: Any) -> Iterator[None]:
    """The environment dbt's profile reads, for as long as dbt is started: the destination's credentials as
    DLT__CREDENTIALS__* (dlt's `add_config_to_env`, what `dlt.dbt.package` does), telemetry off, and the raw
    columns the source suspects of personal data (for the PII comments hook, as transforms/runner.py sets it)."""
    from dlt.common.configuration.utils import add_config_to_env

    from transforms.pii import suspected_raw_columns

    credentials = pipeline.destination_client().config.credentials
    with _environ({**DBT_ENV, "LEADPANTHER_SUSPECTED_PII": json.dumps(suspected_raw_columns(pipeline))}):
        add_config_to_env(credentials, ("dlt",))
        yield


def models_asset(project: DbtProject, translator: DagsterDbtTranslator | None = None):
    """Every dbt model an asset (`dbt build`: models and their tests in DAG order)."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name=MODELS_ASSET_NAME,
        dagster_dbt_translator=translator or LeadPantherTranslator(),
    )
    def leadpanther_models(
        context: AssetExecutionContext, dbt: DbtCliResource, destination: LeadPantherDestination
    ) -> Iterator:
        pipeline = destination.pipeline()
        args = ["build", "--vars", json.dumps(dbt_vars(pipeline.dataset_name))]
        with destination_environ(pipeline):  # dbt's process starts inside cli(); it keeps this environment
            invocation = dbt.cli(args, context=context, raise_on_error=False)
        yield from invocation.stream()
        failed = model_failures(invocation.get_artifact("run_results.json"))
        if failed:
            raise Failure(description="dbt model(s) failed to build: " + "; ".join(failed))

    return leadpanther_models


def model_failures(run_results: Mapping[str, Any]) -> list[str]:
    """'model.leadpanther.x: message' for every model (not data test) dbt could not build."""
    return [
        f"{r['unique_id']}: {r.get('message')}"
        for r in run_results.get("results", [])
        if r["unique_id"].startswith("model.") and str(r["status"]) in MODEL_FAILED
    ]


def model_keys(assets_def) -> Sequence[AssetKey]:
    return sorted(assets_def.keys, key=lambda k: k.to_user_string())


def freshness_sensor(checks: Sequence):
    """Evaluates the freshness checks (superseded like them, see source_freshness_checks)."""
    from dagster import build_sensor_for_freshness_checks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        return build_sensor_for_freshness_checks(freshness_checks=checks, name="leadpanther_freshness")
