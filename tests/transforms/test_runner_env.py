"""The dbt child's credentials: exactly the variables dlt's own `add_config_to_env` would export, given to the
child only (this process's environment is not touched). No server, no load."""

from __future__ import annotations

import os

from transforms.runner import config_env, dbt_profile


def test_child_env_is_what_dlt_exports_and_leaves_os_environ_alone(make_duckdb_pipeline, monkeypatch) -> None:
    from dlt.common.configuration.utils import add_config_to_env

    pipeline = make_duckdb_pipeline("env_check")
    before = dict(os.environ)
    name, folder, env = dbt_profile(pipeline)
    assert dict(os.environ) == before
    assert name == "duckdb" and folder.endswith("transforms")
    assert env["DLT__CREDENTIALS__DATABASE"].endswith("env_check.duckdb")
    assert env["DLT__CREDENTIALS__GLOBAL_CONFIG__MEMORY_LIMIT"] == "256MB"

    import dlt

    for key in [k for k in os.environ if k.startswith("DLT__")]:
        monkeypatch.delenv(key)
    credentials = dlt.dbt.package(pipeline, ".").credentials
    add_config_to_env(credentials, ("dlt",))  # dlt's own: writes into os.environ
    exported = {k: os.environ.pop(k) for k in [k for k in os.environ if k.startswith("DLT__")]}
    assert config_env(credentials) == exported


def test_the_duckdb_profile_keeps_no_row_order() -> None:
    """At 90 simulated days of the large preset, two models building at once ran out of the 256MB DuckDB cap
    with insertion order kept (reproduced on the benchmark's file: fct_lead_funnel, "failed to pin block");
    without it the same build passed. dbt-duckdb passes `settings` to every connection it opens."""
    import yaml

    from transforms.runner import PROJECT_DIR

    settings = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())["duckdb"]["outputs"]["analytics"]["settings"]
    assert settings["preserve_insertion_order"] is False
    assert "MEMORY_LIMIT" in settings["memory_limit"]  # the loader's cap, not a second figure
