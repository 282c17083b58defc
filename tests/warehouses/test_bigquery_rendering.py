"""BigQuery, compile only, in the warehouse venv (the run on a stand-in, bqemulator, needs its own venv:
tests/bigquery_emulator/, docs/destinations.md): dbt-bigquery compiles every model without a connection (a
made-up service-account key that is never used, no cache population, sources assumed complete), each compiled
model parses in sqlglot's BigQuery dialect, the connector's introspection query for BigQuery
(transforms/sql_dialects.py) parses there too, and json columns map to STRING (pipelines/destination.py)."""

from __future__ import annotations

import json
from pathlib import Path

import sqlglot
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PROJECT = Path(__file__).resolve().parents[2] / "transforms"


def offline_keyfile() -> dict[str, str]:
    """A service-account key made up here: enough for the clients to be built, never sent anywhere."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    keyfile = {
        "type": "service_account",
        "project_id": "lp-offline",
        "private_key_id": "0",
        "private_key": key.decode(),
        "client_email": "offline@lp-offline.iam.gserviceaccount.com",
        "client_id": "0",
        "token_uri": "http://127.0.0.1:9/token",  # never reached: compile opens no connection
    }
    return keyfile


def offline_profile(folder: Path) -> None:
    keyfile = offline_keyfile()
    output = {
        "type": "bigquery",
        "method": "service-account-json",
        "project": "lp-offline",
        "dataset": "leadpanther_models",
        "threads": 1,
        "keyfile_json": keyfile,
    }
    profile = {"bigquery": {"target": "offline", "outputs": {"offline": output}}}
    (folder / "profiles.yml").write_text(yaml.safe_dump(profile))


def test_every_model_compiles_for_bigquery_and_parses(tmp_path: Path, monkeypatch) -> None:
    from dbt.adapters.bigquery import BigQueryAdapter
    from dbt.cli.main import dbtRunner

    # No connection: the models' dataset reads as empty (dbt's is_incremental() asks whether the model's table
    # exists; against the made-up key google-auth would retry for minutes). So each incremental model renders
    # its first-build SQL; the incremental branch is not rendered for BigQuery here (docs/destinations.md).
    monkeypatch.setattr(BigQueryAdapter, "get_relation", lambda self, database, schema, identifier: None)
    offline_profile(tmp_path)
    variables = {
        "source_dataset_name": "leadpanther",
        "destination_dataset_name": "leadpanther_models",
        "leadpanther_assume_sources_complete": True,
    }
    result = dbtRunner().invoke(
        [
            "compile",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(tmp_path),
            "--profile",
            "bigquery",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--no-populate-cache",
            "--select",
            "resource_type:model",
            "--vars",
            json.dumps(variables),
        ]
    )
    assert result.success, result.exception
    compiled = {r.node.name: r.node.compiled_code for r in result.result}
    assert len(compiled) >= 20
    refused = {}
    for name, sql in compiled.items():
        try:
            sqlglot.parse_one(sql, read="bigquery")  # raises on what BigQuery's grammar does not take
        except sqlglot.errors.ParseError as error:
            refused[name] = str(error)
    assert not refused, refused  # e.g. a bare UNION, which BigQuery spells UNION DISTINCT (lp_union)
    assert "union distinct" in compiled["agg_client_daily"].lower()
    assert "date(published_at, 'UTC')" in compiled["stg_leadpanther__posts"]  # bigquery__utc_date, not AT TIME ZONE
    assert "`lp-offline`.`leadpanther`.`posts`" in compiled["stg_leadpanther__posts"]


def test_the_connector_introspection_renders_for_bigquery() -> None:
    from pipelines.leadpanther_pipeline import make_pipeline
    from transforms.sql_dialects import count_query, tables_query

    pipeline = make_pipeline("bigquery", "leadpanther", credentials=offline_keyfile())
    query, params = tables_query(pipeline.sql_client())  # builds names only; opens no connection
    assert params == ()
    tree = sqlglot.parse_one(query, read="bigquery")
    assert "INFORMATION_SCHEMA.TABLES" in tree.find(sqlglot.exp.Table).sql(dialect="bigquery").upper()
    # the dbt step's summary (transforms/runner.py) reads the models' dataset the same way
    with pipeline.sql_client().with_alternative_dataset_name("leadpanther_models") as models:
        listing, _ = tables_query(models)
        counting = count_query(models, "fct_lead_funnel")
    assert "`lp-offline`.`leadpanther_models`.INFORMATION_SCHEMA.TABLES" in listing
    table = sqlglot.parse_one(counting, read="bigquery").find(sqlglot.exp.Table)
    assert (table.catalog, table.db, table.name) == ("lp-offline", "leadpanther_models", "fct_lead_funnel")


def test_json_columns_are_string_columns_on_bigquery_and_load_from_parquet() -> None:
    """pipelines/destination.py: dlt's default BigQuery mapper refuses json from parquet (the format dlt writes
    the source's Arrow tables in); the project's maps json to STRING and changes no other type."""
    import pickle

    import dlt
    import pytest
    from dlt.common.exceptions import TerminalValueError

    from pipelines.leadpanther_pipeline import make_pipeline

    table = {"name": "clients", "columns": {}}
    json_column = {"name": "grant__permissions", "data_type": "json"}
    default = dlt.destinations.bigquery().capabilities().get_type_mapper()
    with pytest.raises(TerminalValueError):
        default.ensure_supported_type(json_column, table, "parquet")
    caps = make_pipeline("bigquery", "leadpanther", credentials=offline_keyfile()).destination.capabilities()
    mapper = caps.get_type_mapper()
    mapper.ensure_supported_type(json_column, table, "parquet")
    assert mapper.to_destination_type(json_column, table) == "STRING"
    assert default.to_destination_type(json_column, table) == "JSON"
    for data_type in ("text", "bigint", "bool", "double", "timestamp", "date"):
        column = {"name": "c", "data_type": data_type}
        assert mapper.to_destination_type(column, table) == default.to_destination_type(column, table), data_type
    assert pickle.loads(pickle.dumps(caps.type_mapper)) is caps.type_mapper  # normalize workers get it by name
