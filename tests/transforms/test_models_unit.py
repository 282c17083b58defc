"""Models on a small hand-made raw dataset (fixtures/raw_small.json), on DuckDB and PostgreSQL."""

from __future__ import annotations

import copy

import pytest
import sqlglot
from conftest import load_raw, small_raw

from transforms import run_data_tests_only, run_transforms
from transforms.data_tests import build_tests, unclassified_rates
from transforms.pii import model_pii, output_columns, raw_pii_from_schema
from transforms.sql import load_models, transpile_models


def test_models_state_grain_and_key_and_order_comes_from_sql():
    models = load_models()
    names = list(models)
    assert {"dim_clients", "fct_post_engagement", "fct_lead_funnel", "agg_client_daily"} <= set(names)
    for name, m in models.items():
        assert m.grain and m.key
        for dep in m.depends_on:
            assert names.index(dep) < names.index(name), (dep, name)
        # raw tables (and so every assumed API field) are read in staging only
        if m.layer != "staging":
            assert not m.raw_tables, name
    assert "stg_leadpanther__posts" in models["fct_post_engagement"].depends_on or any(
        "stg_leadpanther__posts" in models[d].depends_on for d in models["fct_post_engagement"].depends_on
    )
    for table in ("clients", "posts", "lead_magnets", "leads", "activity", "post_engagement",
                  "lead_magnet_analytics", "sync_runs", "_lp_quarantine"):
        assert any(table in m.raw_tables for m in models.values()), table


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "postgres", "duckdb"])
def test_models_transpile_and_parse_back(dialect):
    out = transpile_models(dialect)
    assert set(out) == set(load_models())
    for name, sql in out.items():
        tree = sqlglot.parse_one(sql, read=dialect)
        assert tree.find(sqlglot.exp.Select) is not None, name


def test_lineage_tags_pass_through_not_counts():
    tags = {(p.table, p.column): p for p in model_pii(load_models(), raw_pii_from_schema())}
    assert tags[("dim_clients", "full_name")].category == "name"
    assert tags[("stg_leadpanther__leads", "email")].source_column == "email"
    assert tags[("stg_leadpanther__posts", "post_text")].source_column == "text"
    assert ("fct_post_engagement", "people_engaging") not in tags  # a count is not personal data
    assert ("stg_leadpanther__leads", "has_email") not in tags  # a flag is not either


def _comments(pipeline) -> dict[tuple[str, str, str], str]:
    with pipeline.sql_client() as c:
        if "duckdb" in pipeline.destination.destination_name:
            rows = c.execute_sql(
                "select schema_name, table_name, column_name, comment from duckdb_columns() "
                "where comment is not null")
        else:
            rows = c.execute_sql(
                "select n.nspname, cl.relname, a.attname, d.description from pg_description d "
                "join pg_class cl on cl.oid = d.objoid join pg_namespace n on n.oid = cl.relnamespace "
                "join pg_attribute a on a.attrelid = cl.oid and a.attnum = d.objsubid")
    return {(s, t, c): d for s, t, c, d in rows}


def test_small_dataset_numbers_tags_and_missing_tables(scratch_pipeline):
    p = scratch_pipeline
    load_raw(p, small_raw())
    r = run_transforms(p)
    assert r.failed_errors == [] and r.warnings == [] and len(r.tests) > 40
    assert all(t.status == "pass" for t in r.tests)
    assert set(r.missing_raw_tables) == {"post_engagement", "lead_magnet_analytics", "_lp_quarantine"}
    ds, ms = r.dataset_name, r.models_schema
    with p.sql_client() as c:
        post = c.execute_sql(
            f"select comments, messages, people_engaging, keyword_matched_comments, leads_attributed, "
            f"leads_with_email, comment_to_lead_rate, engagement_rate, impressions "
            f"from {ms}.fct_post_engagement where post_id = 'p1'")
        assert post == [(2, 1, 3, 1, 2, 1, 0.5, None, None)]
        assert c.execute_sql(f"select count(*) from {ms}.stg_leadpanther__posts")[0][0] == 2  # deleted out
        funnel = c.execute_sql(
            f"select day, linked_posts_published, comments, keyword_matches, leads, leads_with_email "
            f"from {ms}.fct_lead_funnel order by day")
        assert [tuple(row[1:]) for row in funnel] == [(1, 0, 0, 0, 0), (0, 2, 1, 2, 1)]
        assert str(funnel[0][0]) == "2025-01-05"  # 23:30 UTC stays on its UTC day
        dim = c.execute_sql(
            f"select client_id, is_grant_active, can_read_posts from {ms}.dim_clients order by client_id")
        assert dim == [("u1", True, True), ("u2", False, False)]
        pii = c.execute_sql(f"select table_schema, table_name, column_name, category from {ms}.pii_columns")
    pii = {(s, t, col): cat for s, t, col, cat in pii}
    assert pii[(ds, "leads", "email")] == "email"
    assert pii[(ms, "dim_clients", "full_name")] == "name"
    assert pii[(ms, "stg_leadpanther__activity", "author_platform_id")] == "platform_id"
    comments = _comments(p)
    for (s, t, col), cat in pii.items():
        assert cat in comments[(s, t, col)], (s, t, col)


def test_every_mart_rate_is_classified_and_only_proportions_are_bounded():
    models = load_models()
    columns = output_columns(models)
    assert unclassified_rates(models, columns) == []
    tests = {(t.model, t.test): t for t in build_tests(models, columns)}
    assert ("fct_post_engagement", "proportion_in_0_1(engagement_rate)") not in tests  # a ratio: may exceed 1
    assert tests[("fct_post_engagement", "proportion_in_0_1(comment_to_lead_rate)")].severity == "warn"
    assert tests[("fct_lead_funnel", "proportion_in_0_1(keyword_match_rate)")].severity == "warn"
    assert tests[("dim_clients", "unique(client_id)")].severity == "error"
    assert tests[("agg_client_daily", "relationship(client_id -> dim_clients)")].severity == "error"
    assert all(t.severity == "warn" for t in tests.values() if t.test.startswith("funnel_not_increasing"))


def test_planted_defects_are_reported_with_their_severity_never_raised(scratch_pipeline):
    p = scratch_pipeline
    data = small_raw()
    bad = copy.deepcopy(data)
    bad["posts"][0]["id"] = None  # a post without id reaches staging
    load_raw(p, bad)
    r = run_transforms(p)  # reports, does not raise
    failed = {(t.model, t.test) for t in r.failed_errors}
    assert ("stg_leadpanther__posts", "not_null(client_id, post_id)") in failed
    assert "ERROR not_null(client_id, post_id) on stg_leadpanther__posts" in r.summary()
    load_raw(p, data)
    r = run_transforms(p)
    assert not r.failed_errors and not r.warnings
    ms = r.models_schema
    with p.sql_client() as c:
        c.execute_sql(f"update {ms}.fct_lead_funnel set keyword_matches = comments + 1, "
                      f"keyword_match_rate = 1.5 where comments > 0")
        c.execute_sql(f"update {ms}.fct_post_engagement set impressions = 1, engagement_rate = 6.0")
        c.execute_sql(f"insert into {ms}.agg_client_daily (client_id, day) values ('nobody', date '2025-01-01')")
        c.execute_sql(f"insert into {ms}.dim_clients (client_id) values ('u1')")
    results = {(t.model, t.test): t for t in run_data_tests_only(p)}
    funnel = results[("fct_lead_funnel", "funnel_not_increasing(comments >= keyword_matches)")]
    assert funnel.status == "warn" and funnel.severity == "warn" and funnel.failures > 0
    assert results[("fct_lead_funnel", "proportion_in_0_1(keyword_match_rate)")].status == "warn"
    assert results[("agg_client_daily", "relationship(client_id -> dim_clients)")].status == "fail"
    assert results[("dim_clients", "unique(client_id)")].status == "fail"
    assert all(t.status == "pass" for (m, _), t in results.items() if m == "fct_post_engagement")
