"""Each contract written once: the generated pages are current, and what cannot be generated agrees with
its one definition (`.dlt/config.toml` and the dbt profile's fallbacks with the configspecs' defaults)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

from pipelines import configuration_md
from pipelines.destination import DEFAULT_DUCKDB_MEMORY, DuckDbSettings
from pipelines.paths import DEFAULT_DUCKDB_FILE
from sources.leadpanther.configuration import (
    LeadPantherSourceConfiguration,
    PiiPolicyConfiguration,
    SyncRunsRetentionConfiguration,
)

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_page_is_generated_from_the_configspecs() -> None:
    assert configuration_md.CONFIGURATION_MD.read_text(encoding="utf-8") == configuration_md.render(), (
        "run `python -m pipelines.configuration_md`"
    )


def test_every_setting_says_what_it_means() -> None:
    for spec in (LeadPantherSourceConfiguration, SyncRunsRetentionConfiguration, DuckDbSettings):
        docs = configuration_md.field_docs(spec)
        assert set(spec.get_resolvable_fields()) <= set(docs), spec.__name__


def test_config_toml_sets_only_known_keys_to_their_defaults() -> None:
    config = tomllib.loads((ROOT / ".dlt" / "config.toml").read_text(encoding="utf-8"))
    source = dict(config["sources"]["leadpanther"])
    policy = source.pop("pii_policy")
    defaults = {**dict(LeadPantherSourceConfiguration()), **dict(SyncRunsRetentionConfiguration())}
    assert source and {k: defaults[k] for k in source} == source
    assert policy == {k: v for k, v in dict(PiiPolicyConfiguration()).items() if k in policy}
    assert set(policy) <= set(PiiPolicyConfiguration.get_resolvable_fields())
    duckdb = config["destination"]["duckdb"]
    assert duckdb == {k: dict(DuckDbSettings())[k] for k in duckdb}


def test_dbt_profile_falls_back_to_the_same_duckdb_defaults() -> None:
    """transforms/profiles.yml is read by dbt run by hand too; its fallbacks are the connector's defaults."""
    text = (ROOT / "transforms" / "profiles.yml").read_text(encoding="utf-8")
    output = yaml.safe_load(text)["duckdb"]["outputs"]["analytics"]
    assert f"'data/{DEFAULT_DUCKDB_FILE}'" in output["path"]
    assert f"'{DEFAULT_DUCKDB_MEMORY}'" in output["settings"]["memory_limit"]


def test_tables_page_is_generated_from_settings() -> None:
    from transforms import tables_md

    assert tables_md.TABLES_MD.read_text(encoding="utf-8") == tables_md.render(), "run `python -m transforms.tables_md`"


def test_staging_accepted_values_are_the_contracts() -> None:
    """A staging model's accepted_values test lists exactly the values settings.ACCEPTED_VALUES gives its raw
    column (the staging column is the raw one with `__` as `_`)."""
    from sources.leadpanther.settings import ACCEPTED_VALUES

    schema = yaml.safe_load((ROOT / "transforms" / "models" / "staging" / "schema.yml").read_text(encoding="utf-8"))
    checked = 0
    for model in schema["models"]:
        table = model["name"].removeprefix("stg_leadpanther__")
        for column in model.get("columns", []):
            for test in column.get("data_tests", []) or []:
                if not isinstance(test, dict) or "accepted_values" not in test:
                    continue
                values = test["accepted_values"].get("arguments", test["accepted_values"])["values"]
                raw = {c.replace("__", "_"): v for c, v in ACCEPTED_VALUES.get(table, {}).items()}
                assert tuple(values) == raw.get(column["name"]), (model["name"], column["name"])
                checked += 1
    assert checked >= 4
