"""`leadpanther-elt transform` and `leadpanther-elt dbt ...` (docs generate, source freshness) on a DuckDB file.
`transform` runs as a user runs it (a subprocess); the dbt commands after it in this process (`cli_here`: the
same `main`, env and folder; a child would only import dlt and dbt again). DuckDB allows one writer: the file
is free as soon as each returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dlt
import duckdb
from conftest import load_raw, small_raw

from tests.cli.runner import cli_here

BIN = Path(sys.executable).parent / "leadpanther-elt"
NOW = datetime.now(UTC).isoformat()


def cli(*args: str, project: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env["DLT_PROJECT_DIR"] = str(project)
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, cwd=project, timeout=300,
                          check=False)


def test_transform_docs_and_freshness_on_a_duckdb_file(tmp_path):
    db = tmp_path / "lp.duckdb"
    data = small_raw()
    data["clients"] = [{**c, "_lp_synced_at": NOW} for c in data["clients"]]  # clients fresh, the rest stale
    data["post_engagement"] = [{"client_id": "u1", "_lp_synced_at": NOW, "post_id": "p1", "impressions": 10,
                                "reactions": 1, "comments": 1, "reposts": 0, "clicks": 0, "captured_at": NOW}]
    data["lead_magnet_analytics"] = [{"client_id": "u1", "_lp_synced_at": NOW, "lead_magnet_id": "m1", "views": 5,
                                      "requests": 2, "deliveries": 1, "captured_at": NOW}]
    day = {"snapshot_date": NOW[:10]}
    data["post_engagement_daily"] = [{**r, **day} for r in data["post_engagement"]]
    data["lead_magnet_analytics_daily"] = [{**r, **day} for r in data["lead_magnet_analytics"]]
    pipe = dlt.pipeline("fixture", destination=dlt.destinations.duckdb(str(db)), dataset_name="leadpanther",
                        pipelines_dir=str(tmp_path / "fixture_pipes"))
    load_raw(pipe, data)

    built = cli("transform", "--duckdb-path", str(db), project=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "data tests:" in built.stdout and "0 failed (error)" in built.stdout
    with duckdb.connect(str(db)) as con:  # read-write: nobody holds the file any more
        assert con.execute("select count(*) from leadpanther_models.fct_post_engagement").fetchone()[0] == 2

    target = tmp_path / "data" / "pipelines" / "leadpanther" / "dbt" / "target"
    docs = cli_here("dbt", "--duckdb-path", str(db), "docs", "generate", env={"DLT_PROJECT_DIR": str(tmp_path)},
                    cwd=tmp_path)
    assert docs.returncode == 0, docs.stdout + docs.stderr
    catalog = json.loads((target / "catalog.json").read_text())
    email = catalog["nodes"]["model.leadpanther.stg_leadpanther__leads"]["columns"]["email"]
    assert email["comment"].startswith("PII (personal data): email.")
    assert "source.leadpanther.leadpanther.leads" in catalog["sources"]

    fresh = cli_here("dbt", "--duckdb-path", str(db), "source", "freshness", env={"DLT_PROJECT_DIR": str(tmp_path)},
                     cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr  # stale tables warn, they do not fail
    status = {r["unique_id"].rsplit(".", 1)[1]: r["status"]
              for r in json.loads((target / "sources.json").read_text())["results"]}
    assert status["clients"] == "pass" and status["post_engagement"] == "pass"
    assert status["posts"] == "warn" and status["leads"] == "warn"
    assert "_lp_quarantine" not in status  # no freshness expectation on the quarantine
    with duckdb.connect(str(db)) as con:
        con.execute("select 1")
