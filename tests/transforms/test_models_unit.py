"""The dbt project on a small hand-made raw dataset (fixtures/raw_small.json), on DuckDB and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from transforms.runner import dbt_work_dir

DEFAULT_CONTRACT_TYPES = {"varchar", "bigint", "boolean", "date", "double precision", "timestamp with time zone"}
MODEL_FILES = sorted(Path(__file__).resolve().parents[2].joinpath("transforms", "models").rglob("*.sql"))


def _comments(pipeline) -> dict[tuple[str, str, str], str]:
    with pipeline.sql_client() as c:
        if "duckdb" in pipeline.destination.destination_name:
            rows = c.execute_sql(
                "select schema_name, table_name, column_name, comment from duckdb_columns() where comment is not null"
            )
        else:
            rows = c.execute_sql(
                "select n.nspname, cl.relname, a.attname, d.description from pg_description d "
                "join pg_class cl on cl.oid = d.objoid join pg_namespace n on n.oid = cl.relnamespace "
                "join pg_attribute a on a.attrelid = cl.oid and a.attnum = d.objsubid"
            )
    return {(s, t, c): d for s, t, c, d in rows}


def test_small_dataset_numbers_tags_and_missing_tables(small_built):
    p, r = small_built
    assert not r.failed_errors and not r.warnings and len(r.tests) > 40
    assert not r.models_skipped and sorted(r.models_built) == sorted(f.stem for f in MODEL_FILES)
    assert set(r.model_seconds) == set(r.models_built) and 0 < sum(r.model_seconds.values()) < r.duration_s
    assert set(r.missing_raw_tables) == {
        "post_engagement",
        "lead_magnet_analytics",
        "post_engagement_daily",
        "lead_magnet_analytics_daily",
        "_lp_quarantine",
        "_lp_drift",
    }
    ds, ms = r.dataset_name, r.models_schema
    with p.sql_client() as c:
        post = c.execute_sql(
            f"select comments, messages, people_engaging, keyword_matched_comments, leads_attributed, "
            f"leads_with_email, comment_to_lead_rate, engagement_rate, impressions "
            f"from {ms}.fct_post_engagement where post_id = 'p1'"
        )
        assert post == [(2, 1, 3, 1, 2, 1, 0.5, None, None)]
        assert c.execute_sql(f"select count(*) from {ms}.stg_leadpanther__posts")[0][0] == 2  # deleted out
        funnel = c.execute_sql(
            f"select day, linked_posts_published, comments, keyword_matches, leads, leads_with_email "
            f"from {ms}.fct_lead_funnel order by day"
        )
        assert [tuple(row[1:]) for row in funnel] == [(1, 0, 0, 0, 0), (0, 2, 1, 2, 1)]
        assert str(funnel[0][0]) == "2025-01-05"  # 23:30 UTC stays on its UTC day
        dim = c.execute_sql(
            f"select client_id, is_grant_active, can_read_posts from {ms}.dim_clients order by client_id"
        )
        assert dim == [("u1", True, True), ("u2", False, False)]
        pii = c.execute_sql(f"select table_schema, table_name, column_name, category from {ms}.pii_columns")
        stored = c.execute_sql(f"select count(*), count(distinct run_id) from {ms}.data_test_results")[0]
    assert stored == (len(r.tests), 1)
    pii = {(s, t, col): cat for s, t, col, cat in pii}
    assert pii[(ds, "leads", "email")] == "email"
    assert pii[(ms, "dim_clients", "full_name")] == "name"
    assert pii[(ms, "stg_leadpanther__activity", "author_platform_id")] == "platform_id"
    assert (ds, "post_engagement", "impressions") not in pii  # absent tables are not listed
    comments = _comments(p)
    for (s, t, col), cat in pii.items():
        assert f"PII (personal data): {cat}" in comments[(s, t, col)], (s, t, col)
    assert {(t.model, t.test) for t in r.tests} >= {
        ("fct_lead_funnel", "lp_stages_never_increase(upper=comments, lower=keyword_matches)"),
        ("fct_post_engagement", "relationships(client_id)"),
        ("fct_lead_funnel", "lp_accepted_range(keyword_match_rate)"),
    }


def test_dbt_artifacts_live_in_the_pipeline_folder(small_built):
    p, _ = small_built
    target = dbt_work_dir(p) / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    assert (target / "partial_parse.msgpack").exists()
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert {m["fqn"][1] for m in models} == {"staging", "intermediate", "marts", "governance"}
    for m in models:
        assert m["description"].startswith("One row per"), m["name"]  # the grain comes first
        if m["fqn"][1] == "marts":
            assert m["contract"]["enforced"] and all(c["data_type"] for c in m["columns"].values())
            # the names DuckDB and PostgreSQL have always read (schema.yml's non-BigQuery branch)
            assert {c["data_type"] for c in m["columns"].values()} <= DEFAULT_CONTRACT_TYPES, m["name"]
        if m["fqn"][1] != "staging":  # only staging reads the raw tables (every ASSUMED field in one place)
            assert not [d for d in m["depends_on"]["nodes"] if d.startswith("source.")], m["name"]
    _assert_rates_classified(manifest)
    _assert_report_exposure(manifest)
    read = {d for m in models for d in m["depends_on"]["nodes"] if d.startswith("source.")}
    assert {s.rsplit(".", 1)[1] for s in read} == {s["name"] for s in manifest["sources"].values()}


def _assert_report_exposure(manifest: dict) -> None:
    """The report is a dbt exposure that depends on exactly the models its SQL reads (transforms/report.py), and
    the semantic layer defines the metrics docs/metrics.md lists over a time spine."""
    import re

    import transforms.report as report

    read = set(re.findall(r"\{s\}\.(\w+)", Path(report.__file__).read_text()))
    (exposure,) = [e for e in manifest["exposures"].values() if e["name"] == "leadpanther_report"]
    assert {n.rsplit(".", 1)[1] for n in exposure["depends_on"]["nodes"]} == read
    spine = [m for m in manifest["nodes"].values() if (m.get("time_spine") or {}).get("standard_granularity_column")]
    assert [m["name"] for m in spine] == ["metricflow_time_spine"]
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    for name in ("engagement_rate", "email_capture_rate", "deliveries_per_lead_with_email", "keyword_match_rate"):
        assert metrics[name]["type"] == "ratio" and "NULL when" in metrics[name]["description"], name


def _assert_rates_classified(manifest: dict) -> None:
    """Every mart rate says in its schema.yml whether it is a proportion (a true subset over its superset:
    tested within [0, 1], warn) or a ratio (engagement_rate: can exceed 1; only tested non-negative)."""
    ranges: dict[tuple[str, str], dict] = {}
    for t in manifest["nodes"].values():
        if t["resource_type"] == "test" and (t.get("test_metadata") or {}).get("name") == "lp_accepted_range":
            ranges[(t["attached_node"].rsplit(".", 1)[1], t["column_name"])] = t
    kinds = {}
    for m in manifest["nodes"].values():
        if m["resource_type"] == "model" and m["fqn"][1] == "marts":
            for col, info in m["columns"].items():
                if col.endswith("_rate") or (info.get("meta") or {}).get("rate"):
                    kind = (info.get("meta") or {}).get("rate")
                    kinds[(m["name"], col)] = kind
                    test = ranges[(m["name"], col)]
                    assert test["config"]["severity"] == "warn"
                    bound = test["test_metadata"]["kwargs"].get("max_value")
                    assert (bound == 1) if kind == "proportion" else (kind == "ratio" and bound is None), (m, col)
    assert kinds[("fct_post_engagement", "engagement_rate")] == "ratio"
    assert {k for k, v in kinds.items() if v == "proportion"} == {
        ("fct_post_engagement", "comment_to_lead_rate"),
        ("fct_lead_funnel", "keyword_match_rate"),
        ("fct_lead_funnel", "email_capture_rate"),
        ("fct_lead_magnets", "keyword_match_rate"),
        ("fct_lead_magnets", "email_capture_rate"),
        ("agg_client_totals", "email_capture_rate"),
    }
