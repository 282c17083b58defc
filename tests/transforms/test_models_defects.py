"""Defects planted in the small dataset (fixtures/raw_small.json) and in the built models, on DuckDB and
PostgreSQL: a failed data test is a result, never an exception; a model that cannot build raises. Its own file
(not test_models_unit.py) so the two run on different workers: this one changes data and rebuilds four times."""

from __future__ import annotations

import copy

import pytest
from conftest import load_raw, small_raw

from transforms import run_transforms


def test_planted_defects_are_reported_not_raised_and_a_broken_build_raises(scratch_pipeline):
    """One dataset, changed step by step (each step's build is tens of seconds): a ratio above one is data, not a
    defect; a defect is a failed test in the result, never an exception; a model that cannot build raises."""
    from transforms import TransformError

    p = scratch_pipeline
    data = small_raw()
    data["post_engagement"] = [  # engagements / impressions = 3: low-impression posts exceed 1, correctly
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
    before = run_transforms(p)
    with p.sql_client() as c:
        rate = c.execute_sql(
            f"select engagement_rate from {before.models_schema}.fct_post_engagement where post_id = 'p1'"
        )
    assert rate == [(3.0,)]
    assert not before.failed_errors, before.summary()
    assert [(t.model, t.test, t.failures) for t in before.warnings] == [
        ("fct_post_engagement", "lp_ratio_above_one(engagement_rate)", 1)
    ], before.summary()
    # defects planted in the built models, found by `dbt test` alone (the next build replaces them)
    ms = before.models_schema
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

    load_raw(p, data)  # the good raw rows again (no build), then a raw column of the wrong type: its cast fails
    with p.sql_client() as c:
        c.execute_sql(f"alter table {p.dataset_name}.posts drop column published_at")
        c.execute_sql(f"alter table {p.dataset_name}.posts add column published_at varchar")
        c.execute_sql(f"update {p.dataset_name}.posts set published_at = 'not a time'")
    with pytest.raises(TransformError) as err:
        run_transforms(p)
    # staging is a view on DuckDB (the cast fails where a table reads it), a table on PostgreSQL
    assert "failed to build" in str(err.value) and "not a time" in str(err.value)
