"""A user's own dbt project adds this one as a local package (README, "Use the models in your own dbt project")
and builds its models and theirs in one DAG, with plain `dbt` and a profile of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dlt
import duckdb
from conftest import load_raw, small_raw

from transforms.runner import DBT_ENV, PROJECT_DIR

DBT = Path(sys.executable).parent / "dbt"


def test_local_package_in_a_users_dbt_project(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    load_raw(dlt.pipeline("fixture", destination=dlt.destinations.duckdb(str(db)), dataset_name="leadpanther",
                          pipelines_dir=str(tmp_path / "pipes")), small_raw())
    project = tmp_path / "agency_analytics"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: agency_analytics\nversion: '1.0.0'\nconfig-version: 2\nprofile: agency\n"
        "vars:\n  source_dataset_name: leadpanther\n"
    )
    (project / "packages.yml").write_text(f"packages:\n  - local: {PROJECT_DIR}\n")
    (project / "profiles.yml").write_text(
        f"agency:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {db}\n"
        "      schema: analytics\n      threads: 2\n"
    )
    (project / "models" / "posts_per_client.sql").write_text(
        "select client_id, count(*) as posts from {{ ref('leadpanther', 'fct_post_engagement') }} group by 1\n"
    )
    env = {**os.environ, **DBT_ENV}
    for command in (["deps"], ["build"]):
        done = subprocess.run([str(DBT), *command, "--profiles-dir", str(project)], cwd=project, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select sum(posts) from analytics.posts_per_client").fetchone()[0] == 2
        assert con.execute("select count(*) from analytics.data_test_results where status = 'fail'").fetchone() == (0,)
        assert con.execute(
            "select category from analytics.pii_columns where table_name = 'leads' and column_name = 'email'"
        ).fetchall() == [("email",)]
