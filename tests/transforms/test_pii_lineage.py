"""Personal data in dbt's metadata, checked against sqlglot's column lineage on dbt's compiled SQL: a model
column derived from a personal-data column without `meta: {pii: ...}` fails here. Also: BigQuery and
Snowflake accept the compiled models (sqlglot transpiles DuckDB's SQL and parses it back)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dlt
import pytest
import sqlglot

from transforms.pii import lineage_pii, pii_tag_problems
from transforms.runner import PROJECT_DIR, dbt_work_dir, run_dbt

COMPLETE = {"leadpanther_assume_sources_complete": True}  # compile without asking which raw tables exist


def _compile(tmp: Path, project_dir: Path = PROJECT_DIR) -> dict:
    p = dlt.pipeline(f"lineage_{tmp.name}", destination=dlt.destinations.duckdb(str(tmp / "empty.duckdb")),
                     dataset_name="lineage_raw", pipelines_dir=str(tmp / "pipes"))
    run_dbt(p, "compile", extra_vars=COMPLETE, project_dir=project_dir)
    return json.loads((dbt_work_dir(p) / "target" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    return _compile(tmp_path_factory.mktemp("compiled"))


def test_every_column_derived_from_personal_data_is_tagged(manifest):
    assert pii_tag_problems(manifest, "duckdb") == []
    derived = lineage_pii(manifest, "duckdb")
    assert derived[("dim_clients", "full_name")] == {"name"}
    assert derived[("int_leadpanther__leads_attributed", "email")] == {"email"}
    assert derived[("stg_leadpanther__posts", "post_text")] == {"authored_text"}
    assert derived[("fct_post_engagement", "people_engaging")] == set()  # a count is not personal data
    assert derived[("stg_leadpanther__leads", "has_email")] == set()  # a flag is not either
    assert sum(bool(c) for c in derived.values()) >= 15


def test_an_untagged_personal_data_column_fails(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "__pycache__", "*.py"))
    (project / "models" / "intermediate" / "int_leaky.sql").write_text(
        "select client_id, lower(email) as contact, count(*) over (partition by full_name) as namesakes\n"
        "from {{ ref('stg_leadpanther__leads') }}\n"
    )
    problems = pii_tag_problems(_compile(tmp_path, project), "duckdb")
    assert problems == [
        "int_leaky.contact derives from personal data (email) but has no `meta: {pii: <category>}` in its schema.yml"
    ]


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "postgres", "duckdb"])
def test_compiled_models_parse_in_each_warehouse_dialect(manifest, dialect):
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert {n["name"] for n in models} == {f.stem for f in (PROJECT_DIR / "models").rglob("*.sql")}
    for node in models:
        sql = sqlglot.transpile(node["compiled_code"], read="duckdb", write=dialect)[0]
        tree = sqlglot.parse_one(sql, read=dialect)
        assert tree.find(sqlglot.exp.Select) is not None, node["name"]
