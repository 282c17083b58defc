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
