"""The dbt project on a small hand-made raw dataset (fixtures/raw_small.json), on DuckDB and PostgreSQL."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import load_raw, small_raw

from transforms import run_transforms
from transforms.runner import dbt_work_dir

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


def test_engagement_rate_is_a_ratio_not_a_proportion(scratch_pipeline):
    """engagements / impressions above 1 (low-impression posts) is correct data: nothing fails, and the only
    warning is the notice that counts such posts (no range test bounds a ratio)."""
    p = scratch_pipeline
    data = small_raw()
    data["post_engagement"] = [
        {
            "client_id": "u1",
            "_lp_synced_at": "2025-01-10T00:00:00+00:00",
            "post_id": "p1",
            "impressions": 3,
            "reactions": 4,
            "comments": 2,
            "reposts": 1,
            "clicks": 2,
            "captured_at": "2025-01-09T00:00:00+00:00",
        }
    ]
    load_raw(p, data)
    r = run_transforms(p)
    with p.sql_client() as c:
        rate = c.execute_sql(f"select engagement_rate from {r.models_schema}.fct_post_engagement where post_id = 'p1'")
    assert rate == [(3.0,)]
    assert not r.failed_errors, r.summary()
    assert [(t.model, t.test, t.failures) for t in r.warnings] == [
        ("fct_post_engagement", "lp_ratio_above_one(engagement_rate)", 1)
    ], r.summary()


def test_planted_defects_are_reported_not_raised(scratch_pipeline):
    p = scratch_pipeline
    data = small_raw()
    load_raw(p, data)
    before = run_transforms(p)
    bad = copy.deepcopy(data)
    bad["posts"][0]["id"] = None  # a post without id reaches staging: its key test fails (error)
    load_raw(p, bad)
    r = run_transforms(p, run_id="planted-1")
    failed = {(t.model, t.test): t for t in r.failed_errors}
    assert ("stg_leadpanther__posts", "lp_primary_key(client_id, post_id)") in failed
    assert failed[("stg_leadpanther__posts", "lp_primary_key(client_id, post_id)")].failures == 1
    # dbt skips what is built on a model that failed an error test: the previous version stays readable
    assert "fct_post_engagement" in r.models_skipped and "stg_leadpanther__posts" in r.models_built
    assert "ERROR lp_primary_key(client_id, post_id) on stg_leadpanther__posts: 1 failing row(s)" in r.summary()
    ms = r.models_schema
    with p.sql_client() as c:
        assert (
            c.execute_sql(f"select count(*) from {ms}.fct_post_engagement")[0][0]
            == before.row_counts["fct_post_engagement"]
        )
        stored = c.execute_sql(
            f"select model, test, severity, status, failures from {ms}.data_test_results "
            f"where run_id = 'planted-1' and status <> 'pass'"
        )
    assert ("stg_leadpanther__posts", "lp_primary_key", "error", "fail", 1) in stored

    load_raw(p, data)
    assert not run_transforms(p).failed_errors
    with p.sql_client() as c:
        c.execute_sql(
            f"update {ms}.fct_lead_funnel set keyword_matches = comments + 1, "
            f"keyword_match_rate = 1.5 where comments > 0"
        )
        c.execute_sql(f"update {ms}.fct_post_engagement set impressions = 1, engagement_rate = 6.0")  # a ratio
        c.execute_sql(f"insert into {ms}.agg_client_daily (client_id, day) values ('nobody', date '2025-01-01')")
        c.execute_sql(f"insert into {ms}.dim_clients (client_id) values ('u1')")
    r = run_transforms(p, command="test")
    warned = {(t.model, t.test) for t in r.warnings}
    errors = {(t.model, t.test) for t in r.failed_errors}
    assert ("fct_lead_funnel", "lp_stages_never_increase(upper=comments, lower=keyword_matches)") in warned
    assert ("fct_lead_funnel", "lp_accepted_range(keyword_match_rate)") in warned
    assert ("agg_client_daily", "relationships(client_id)") in errors
    assert ("dim_clients", "lp_primary_key(client_id)") in errors
    assert all(t.severity == "warn" for t in r.warnings) and all(t.severity == "error" for t in r.failed_errors)
    assert "WARN  lp_accepted_range(keyword_match_rate) on fct_lead_funnel" in r.summary()
    not_passed = {t.test for t in r.tests if t.model == "fct_post_engagement" and t.status != "pass"}
    assert not_passed == {"lp_ratio_above_one(engagement_rate)"}  # the notice only: no bound on a ratio


def test_model_build_failure_raises_transform_error(scratch_pipeline):
    from transforms import TransformError

    p = scratch_pipeline
    load_raw(p, small_raw())
    with p.sql_client() as c:  # a raw column of the wrong type: casting it in staging fails
        c.execute_sql(f"alter table {p.dataset_name}.posts drop column published_at")
        c.execute_sql(f"alter table {p.dataset_name}.posts add column published_at varchar")
        c.execute_sql(f"update {p.dataset_name}.posts set published_at = 'not a time'")
    with pytest.raises(TransformError) as err:
        run_transforms(p)
    # staging is a view on DuckDB (the cast fails where a table reads it), a table on PostgreSQL
    assert "failed to build" in str(err.value) and "not a time" in str(err.value)


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
