"""BigQuery, run on a stand-in: the connector's load through dlt's BigQuery destination and `dbt build` with
dbt-bigquery, both against bqemulator (a BigQuery REST API on DuckDB), started here on a free loopback port.

Its own venv (`make setup-bigquery`, requirements/bigquery.txt): bqemulator pins duckdb 1.5 and a sqlglot the
project's venvs do not take. The stand-in is not BigQuery (it runs DuckDB underneath and accepts SQL BigQuery
refuses), so what this proves and what stays unverified is in docs/destinations.md."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.leadpanther_pipeline import make_pipeline
from sources.leadpanther.settings import SYNC_RUNS_TABLE
from tests.truth import ALL_TABLES, assert_matches_truth, loaded_rows, sync
from transforms.sql_dialects import count_query, existing_tables

PROJECT_ID = "lp-emulator"
DATASET = "lp_bq"
PROJECT = Path(__file__).resolve().parents[2] / "transforms"
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TokenHandler(BaseHTTPRequestHandler):
    """Google's OAuth token endpoint, as far as a service-account client asks it: any assertion gets a token
    (the stand-in checks none). Keeps the clients' real auth flow without reaching Google."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"access_token": "stand-in", "expires_in": 3600, "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def service_account(token_uri: str) -> dict[str, str]:
    """A service-account key made up here; its token endpoint is the loopback one above."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": "0",
        "private_key": key.decode(),
        "client_email": f"stand-in@{PROJECT_ID}.iam.gserviceaccount.com",
        "client_id": "0",
        "token_uri": token_uri,
    }


def install_spatial(home: Path) -> None:
    """bqemulator loads DuckDB's spatial extension at start and downloads it when missing; this machine has
    no network, so the extension comes from its wheel (duckdb-extension-spatial) into a private HOME."""
    import duckdb
    import duckdb_extension_spatial

    found = sorted(Path(duckdb_extension_spatial.__file__).parent.glob("extensions/*/spatial.duckdb_extension"))
    assert found, "the duckdb-extension-spatial wheel ships no extension file"
    connection = duckdb.connect(config={"extension_directory": str(home / ".duckdb" / "extensions")})
    connection.execute(f"INSTALL '{found[-1]}'")
    connection.close()


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bqemulator exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"bqemulator did not answer {url} within {START_TIMEOUT_S:.0f} s")


@pytest.fixture(scope="module")
def bigquery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """bqemulator and a token endpoint on loopback, then one load of a small emulated agency into it."""
    from dlt.common.configuration.specs import GcpServiceAccountCredentials

    tmp = tmp_path_factory.mktemp("bigquery")
    home = tmp / "home"
    install_spatial(home)
    port, grpc_port = free_port(), free_port()
    log = tmp / "bqemulator.log"
    command = [str(Path(sys.executable).parent / "bqemulator"), "start", "--rest-port", str(port)]
    command += ["--grpc-port", str(grpc_port), "--project", PROJECT_ID, "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(home)})
    tokens = ThreadingHTTPServer(("127.0.0.1", 0), TokenHandler)
    threading.Thread(target=tokens.serve_forever, daemon=True).start()
    saved = dict(os.environ)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_until_up(f"{endpoint}/bigquery/v2/projects/{PROJECT_ID}/datasets", process, log)
        # google-cloud-bigquery sends every call there; the stand-in does not unzip uploads.
        os.environ.update({"BIGQUERY_EMULATOR_HOST": endpoint, "NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION": "true"})
        keyfile = service_account(f"http://127.0.0.1:{tokens.server_address[1]}/token")
        # parsed from the key's JSON text, dlt keeps its token_uri (from a dict it would take Google's)
        credentials = GcpServiceAccountCredentials()
        credentials.parse_native_representation(json.dumps(keyfile))
        with run_emulator(EmulatorConfig(seed=53, preset="tiny")) as emu:
            pipeline = make_pipeline("bigquery", DATASET, credentials=credentials, pipelines_dir=tmp / "pipelines")
            first = sync(pipeline, emu)
            yield {
                "pipeline": pipeline,
                "emu": emu,
                "first": first,
                "tmp": tmp,
                "keyfile": keyfile,
                "endpoint": endpoint,
            }
    finally:
        os.environ.clear()
        os.environ.update(saved)
        tokens.shutdown()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_load_equals_the_truth(bigquery: dict[str, Any]) -> None:
    assert bigquery["first"].exit_code == 0
    pipeline = bigquery["pipeline"]
    with pipeline.sql_client() as sql:
        tables = existing_tables(sql)
    assert set(ALL_TABLES) | {SYNC_RUNS_TABLE} <= tables
    assert_matches_truth(pipeline, bigquery["emu"], tables=ALL_TABLES)
    with pipeline.sql_client() as sql:
        counts = {t: sql.execute_sql(count_query(sql, t))[0][0] for t in sorted(tables)}
    print("rows per table:", counts)


def test_json_columns_are_json_text_in_string_columns(bigquery: dict[str, Any]) -> None:
    """pipelines/destination.py: json columns are STRING on BigQuery (JSON cannot be batch-loaded from
    parquet); each value is the JSON text of the API's value."""
    pipeline = bigquery["pipeline"]
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql(
            f"SELECT table_name, column_name, data_type FROM {sql.fully_qualified_dataset_name()}"
            ".INFORMATION_SCHEMA.COLUMNS WHERE column_name IN ('grant__permissions', 'images', 'followups')"
        )
    types = {(str(t), str(c)): str(d).upper() for t, c, d in rows}
    assert types[("clients", "grant__permissions")] == "STRING", types
    assert types[("posts", "images")] == "STRING", types
    permissions = [r["grant__permissions"] for r in loaded_rows(pipeline, "clients")]
    assert permissions and all(isinstance(p, str) for p in permissions if p is not None)
    assert any(isinstance(json.loads(p), list) for p in permissions if p is not None)


def dbt_build(bigquery: dict[str, Any], project: Path, name: str, *args: str) -> Any:
    """`dbt build` (and `args`) with dbt-bigquery in this process, pointed at the stand-in by the profile's
    `api_endpoint`."""
    from dbt.cli.main import dbtRunner

    tmp = bigquery["tmp"]
    output = {
        "type": "bigquery",
        "method": "service-account-json",
        "project": PROJECT_ID,
        "dataset": f"{DATASET}_models",
        "threads": 1,
        "keyfile_json": bigquery["keyfile"],
        "api_endpoint": bigquery["endpoint"],
        "job_retries": 0,
    }
    profiles = tmp / f"profiles_{name}"
    profiles.mkdir(exist_ok=True)
    (profiles / "profiles.yml").write_text(
        yaml.safe_dump({"bigquery": {"target": "stand_in", "outputs": {"stand_in": output}}})
    )
    saved = dict(os.environ)
    try:
        os.environ.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"})
        variables = {"source_dataset_name": DATASET, "destination_dataset_name": f"{DATASET}_models"}
        return dbtRunner().invoke(
            ["build", "--project-dir", str(project), "--profiles-dir", str(profiles), "--profile", "bigquery"]
            + ["--target-path", str(tmp / f"target_{name}"), "--log-path", str(tmp / f"logs_{name}")]
            + ["--vars", json.dumps(variables), *args]
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)


def statuses(result: Any) -> dict[str, str]:
    return {r.node.unique_id: str(r.status) for r in result.result or []}


def marts_contract_types() -> dict[str, dict[str, str]]:
    """{mart: {column: contract type}} as rendered for BigQuery (the schema.yml anchors' BigQuery branch)."""
    marts = yaml.safe_load((PROJECT / "models" / "marts" / "schema.yml").read_text())["models"]
    rendered = {}
    for model in marts:
        columns = {}
        for column in model["columns"]:
            branch = column["data_type"].split("'")[1]  # "{{ 'STRING' if target.type == 'bigquery' else ... }}"
            columns[column["name"]] = branch
        rendered[model["name"]] = columns
    return rendered


@pytest.fixture(scope="module")
def without_contracts(bigquery: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """(project, result): a copy of the project with contracts off (only that line differs), built once on the
    stand-in: every model and data test; the tests below build on what it made."""
    project = tmp_path_factory.mktemp("no_contracts") / "transforms"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__"))
    settings = (project / "dbt_project.yml").read_text()
    assert settings.count("enforced: true") == 1
    (project / "dbt_project.yml").write_text(settings.replace("enforced: true", "enforced: false"))
    return project, dbt_build(bigquery, project, "no_contracts_first")


def test_dbt_build_with_contracts_stops_only_at_the_stand_ins_contract_ddl(
    bigquery: dict[str, Any], without_contracts: tuple[Path, Any]
) -> None:
    """The project as it is, its marts rebuilt (`--full-refresh`) on the models the build without contracts
    made: contracts are the marts' alone, so everything upstream is that build's SQL. dbt-bigquery builds an
    enforced contract as `create or replace table t (col type, ...) as (select ...)`, valid BigQuery DDL that the
    stand-in cannot parse; dbt runs that DDL only after its contract check (the declared types against the
    query's), so each mart that reaches it has passed the type check (the marts downstream of one are skipped).
    Anything else failing, or a contract error, fails this test."""
    result = dbt_build(bigquery, PROJECT, "contracts", "--select", "path:models/marts", "--full-refresh")
    status = statuses(result)
    errors = sorted(u for u, s in status.items() if s == "error")
    assert errors and all(u.startswith("model.leadpanther.") for u in errors), errors
    messages = {r.node.name: str(r.message) for r in result.result if str(r.status) == "error"}
    for name, message in messages.items():
        assert name in marts_contract_types(), (name, message)
        assert 'syntax error at or near "AS"' in message, (name, message)  # the stand-in's parser, not dbt's check
        ddl = (
            bigquery["tmp"] / "target_contracts" / "run" / "leadpanther" / "models" / "marts" / f"{name}.sql"
        ).read_text()
        for column, data_type in marts_contract_types()[name].items():
            assert f"{column} {data_type}" in ddl, (name, column)
    assert not [u for u, s in status.items() if s not in ("success", "pass", "error", "skipped")], status
    assert {u.split(".")[-1] for u in status if u.startswith("model.")} == set(marts_contract_types())


def test_dbt_build_without_contracts_twice(bigquery: dict[str, Any], without_contracts: tuple[Path, Any]) -> None:
    """Without contracts every model and data test passes; so does a second build of the marts over the tables
    the first made (on BigQuery the per-day marts are tables, rebuilt whole: `lp_incremental_materialization`).
    Every mart's columns have the types its contract declares for BigQuery."""
    project, first = without_contracts
    second = dbt_build(bigquery, project, "no_contracts_second", "--select", "path:models/marts")
    for build, result in (("first", first), ("second", second)):
        status = statuses(result)
        bad = {u: s for u, s in status.items() if s not in ("success", "pass") and not u.startswith("exposure.")}
        assert not bad, (build, bad)
        assert result.success, result.exception
    assert len([u for u in statuses(first) if u.startswith("model.")]) >= 20
    assert len([u for u in statuses(first) if u.startswith("test.")]) >= 60
    rebuilt = {u.split(".")[-1] for u in statuses(second) if u.startswith("model.")}
    assert rebuilt == set(marts_contract_types()), rebuilt
    pipeline = bigquery["pipeline"]
    declared = marts_contract_types()
    with pipeline.sql_client() as sql, sql.with_alternative_dataset_name(f"{DATASET}_models") as models:
        rows = models.execute_sql(
            f"SELECT table_name, column_name, data_type FROM {models.fully_qualified_dataset_name()}"
            ".INFORMATION_SCHEMA.COLUMNS"
        )
        mart = models.execute_sql(f"SELECT count(*) FROM {models.make_qualified_table_name('fct_post_engagement')}")
    actual: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        actual.setdefault(str(table), {})[str(column)] = str(data_type).upper()
    mismatched = {
        (table, column): (data_type, actual.get(table, {}).get(column))
        for table, columns in declared.items()
        for column, data_type in columns.items()
        if actual.get(table, {}).get(column) != data_type
    }
    assert not mismatched, mismatched
    posts = [r for r in loaded_rows(pipeline, "posts")]
    assert mart[0][0] == len(posts) > 0
