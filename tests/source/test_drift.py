"""Drift end to end (issue: data the vendor does not document), over HTTP into a real DuckDB file and the real
PostgreSQL: the emulator serves every kind of drift (leadpanther_emulator/drift.py) and the tests compare with
what it served. One run per PII policy, shared by the tests of that policy.

* hash (DuckDB, with the models): unknown fields on people routes hashed before anything is written, tagged
  unclassified (dlt hints, column comments, pii_columns); figures sent as strings converted; "n/a" nulled and
  quarantined with its record loaded; a figure that became an object in a variant column; exit 3; `_lp_drift`.
* redact (PostgreSQL): the same fields NULL, nowhere in the destination or the pipeline folder.
* keep (DuckDB): loaded as served (the canary grep finds them: the grep works) and still tagged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leadpanther_emulator import Drift, EmulatorConfig, run_emulator
from pipelines.leadpanther_pipeline import ExitCode, make_pipeline
from sources.leadpanther.configuration import PiiPolicyConfiguration
from sources.leadpanther.settings import (
    DRIFT_TABLE,
    ENGAGED_POST_STATUSES,
    PII_CATEGORIES,
    PII_CATEGORY_HINT,
    PII_HINT,
    QUARANTINE_TABLE,
)
from tests.canary import in_destination, in_files, new_personal_values
from tests.conftest import PG_URL, drop_pg_schemas
from tests.truth import loaded_rows, sync

SALT = "drift-test-salt-0123456789"
FIGURES = ("impressions", "reactions", "comments", "clicks")


def policy(action: str) -> PiiPolicyConfiguration:
    return PiiPolicyConfiguration(**dict.fromkeys(PII_CATEGORIES, action))


@pytest.fixture(scope="module")
def emu():
    with run_emulator(EmulatorConfig(seed=5, preset="tiny", drift=Drift.everything())) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def hashed(emu, tmp_path_factory) -> tuple[Any, Any]:
    tmp = tmp_path_factory.mktemp("drift_hash")
    pipeline = make_pipeline(
        "duckdb", "lp_drift", duckdb_path=tmp / "drift.duckdb", pipelines_dir=tmp / "pipelines", pipeline_name="h"
    )
    return pipeline, sync(pipeline, emu, pii_policy=policy("hash"), pii_salt=SALT, transform=True)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def canaries(emu: Any) -> set[str]:
    values = set().union(*new_personal_values(emu).values())
    assert len(values) > 100, "the emulator must serve new personal fields for the canary to mean anything"
    return values


def test_hash_run_is_exit_3_and_says_what_drifted(hashed) -> None:
    _, result = hashed
    assert result.error is None and result.transform_error is None, result.summary_lines()
    assert result.exit_code == ExitCode.PARTIAL  # values were quarantined: data is missing from the models
    text = "\n".join(result.summary_lines())
    assert "UNCLASSIFIED PERSONAL DATA: leads.phone_number" in text
    assert '"leads.phone_number" = "<' in text and "not_personal" in text  # the one line on how to classify
    for kind in ("new fields", "converted", "could not be converted", "type changed", "absent"):
        assert f"drift: {kind}" in text or kind in text, kind
    assert "post_engagement.impressions" in text and "leads.headline" in text
    assert "quarantined" in result.exit_reason()
    warned = [t for t in result.transform.warnings if t.test.startswith("lp_quarantined_in_run")]
    assert warned and warned[0].failures == len(result.log.quarantine)


def test_hash_run_no_raw_value_of_a_new_personal_field_anywhere(emu, hashed) -> None:
    pipeline, _ = hashed
    values = canaries(emu)
    assert in_destination(pipeline, values) == []
    assert in_files(Path(pipeline.working_dir), values) == []
    leads = loaded_rows(pipeline, "leads")
    assert leads and all(len(r["phone_number"]) == 64 and len(r["location"]) == 64 for r in leads)


def test_hash_run_tags_new_fields_as_unclassified_personal_data(hashed) -> None:
    pipeline, _ = hashed
    columns = pipeline.default_schema.get_table_columns("leads")
    for name in ("phone_number", "job_title", "location", "lead_score"):
        assert columns[name][PII_HINT] and columns[name][PII_CATEGORY_HINT] == "unclassified", name
    posts = pipeline.default_schema.get_table_columns("posts")
    assert posts["owner_email"][PII_CATEGORY_HINT] == "suspected_email"  # by value, on a route without people
    assert posts["author"][PII_CATEGORY_HINT] == "suspected_name"  # a person-like object
    assert PII_HINT not in posts["hashtags"] and PII_HINT not in posts["reach_estimate"]
    with pipeline.sql_client() as sql:
        comment = sql.execute_sql(
            "select comment from duckdb_columns() where schema_name = 'lp_drift' and table_name = 'leads' "
            "and column_name = 'phone_number'"
        )[0][0]
        tagged = sql.execute_sql(
            "select category, suspected from lp_drift_models.pii_columns "
            "where table_name = 'leads' and column_name = 'phone_number'"
        )
    assert "unclassified personal data" in comment and "field_classification" in comment
    assert tagged == [("unclassified", True)]


def test_hash_run_figures_equal_truth_and_odd_values_are_set_aside(emu, hashed) -> None:
    pipeline, result = hashed
    published = {
        (c, p["id"])
        for c in emu.client_ids("active")
        for p in emu.truth("posts", c)
        if p["status"] in ENGAGED_POST_STATUSES
    }
    truth = {
        (c, r["post_id"]): r
        for c in emu.client_ids("active")
        for r in emu.truth("post_engagement", c)
        if (c, r["post_id"]) in published
    }
    loaded = {(r["client_id"], r["post_id"]): r for r in loaded_rows(pipeline, "post_engagement")}
    assert loaded.keys() == truth.keys()  # every record loaded, none lost for one bad field
    set_aside = {(q.client_id, q.record_id, q.field_name) for q in result.log.quarantine if q.field_name}
    converted = 0
    for key, record in truth.items():
        row = loaded[key]
        for name in FIGURES:
            served = record.get(name)
            if served == "n/a":
                assert row[name] is None and (key[0], key[1], name) in set_aside
            elif served is not None:
                converted += isinstance(served, str)
                assert row[name] == int(float(served)), (key, name, served, row[name])
        assert _json(row["reposts__v_json"]) == record["reposts"] and row["reposts"] is None  # type changed
        assert row["reach"] == record["reach"]
    assert converted > 0 and set_aside
    with pipeline.sql_client() as sql:
        drift = sql.execute_sql(f"select table_name, field_name, kind, records, category, action from {DRIFT_TABLE}")
        stored = sql.execute_sql(f"select count(*) from {QUARANTINE_TABLE} where field_name is not null")[0][0]
    by_key = {(t, f, k): (n, c, a) for t, f, k, n, c, a in drift}
    assert by_key[("leads", "phone_number", "new_field")][1:] == ("unclassified", "hash")
    assert by_key[("post_engagement", "reposts", "variant")][0] == len(truth)
    assert by_key[("leads", "headline", "absent")][0] == len(loaded_rows(pipeline, "leads"))
    strings = sum(isinstance(r.get(n), str) and r[n] != "n/a" for r in truth.values() for n in FIGURES)
    assert (
        by_key[("post_engagement", "impressions", "converted")][0]
        + sum(by_key.get(("post_engagement", n, "converted"), (0,))[0] for n in FIGURES[1:])
        == strings
    )
    assert stored == len(set_aside)


@pytest.mark.postgres
def test_redact_on_postgres_loads_nothing_of_new_personal_fields(emu, tmp_path) -> None:
    dataset = "h1_drift_redact"
    drop_pg_schemas(dataset)
    pipeline = make_pipeline(
        "postgres", dataset, credentials=PG_URL, pipelines_dir=tmp_path / "pipelines", pipeline_name="h1_redact"
    )
    try:
        result = sync(pipeline, emu, pii_policy=policy("redact"))
        assert result.error is None and result.exit_code == ExitCode.PARTIAL, result.summary_lines()
        values = canaries(emu)
        assert in_destination(pipeline, values) == []
        assert in_files(Path(pipeline.working_dir), values) == []
        leads = loaded_rows(pipeline, "leads")
        assert leads and all(r["phone_number"] is None and r["full_name"] is None for r in leads)
        columns = pipeline.default_schema.get_table_columns("leads")
        assert columns["phone_number"][PII_CATEGORY_HINT] == "unclassified"
        engagement = loaded_rows(pipeline, "post_engagement")
        assert engagement and all(_json(r["reposts__v_json"])["count"] >= 0 for r in engagement)  # jsonb here
    finally:
        drop_pg_schemas(dataset)


def test_keep_loads_new_fields_as_served_and_still_tags_them(emu, make_duckdb_pipeline) -> None:
    """Under keep the values are there (so the canary grep above finds what it looks for) and still tagged."""
    pipeline = make_duckdb_pipeline("drift_keep")
    result = sync(pipeline, emu, resources=["clients", "leads", "activity"])
    assert result.error is None, result.summary_lines()
    values = canaries(emu)
    assert in_destination(pipeline, values)
    assert in_files(Path(pipeline.working_dir), values)
    leads = {r["id"]: r for r in loaded_rows(pipeline, "leads")}
    client = emu.client_ids("active")[0]
    for record in emu.truth("leads", client):
        row = leads[record["id"]]
        assert row["phone_number"] == record["phone_number"] and json.loads(row["location"]) == record["location"]
    assert pipeline.default_schema.get_table_columns("leads")["phone_number"][PII_CATEGORY_HINT] == "unclassified"
    assert "UNCLASSIFIED PERSONAL DATA: leads.phone_number" in "\n".join(result.summary_lines())


def test_freeze_refuses_a_new_column_before_anything_is_loaded_then_discard_modes(make_duckdb_pipeline) -> None:
    with run_emulator(EmulatorConfig(seed=6, preset="tiny", clients=2)) as plain:
        pipeline = make_duckdb_pipeline("drift_contract")
        assert sync(pipeline, plain, resources=["clients", "leads"], schema_contract="freeze").exit_code == 0
        before = len(loaded_rows(pipeline, "leads"))
        plain.set_drift(Drift(extra_fields=True))
        plain.insert("leads", plain.client_ids("active")[0], 3)
        frozen = sync(pipeline, plain, resources=["clients", "leads"], schema_contract="freeze")
        assert frozen.exit_code == ExitCode.CONFIG, frozen.summary_lines()
        message = str(frozen.error)
        assert "freeze" in message and "table 'clients'" in message and "column 'account_manager_email'" in message
        assert "+1 555" not in message  # names, never values
        assert len(loaded_rows(pipeline, "leads")) == before
        assert "phone_number" not in pipeline.default_schema.get_table_columns("leads")
        assert [r for r in loaded_rows(pipeline, "sync_runs") if r["run_id"] == frozen.log.run_id]  # recorded
        dropped = sync(pipeline, plain, resources=["clients", "leads"], schema_contract="discard_value")
        assert dropped.exit_code == 0 and len(loaded_rows(pipeline, "leads")) == before + 3
        assert "phone_number" not in pipeline.default_schema.get_table_columns("leads")
        assert "dropped by schema_contract 'discard_value'" in "\n".join(dropped.summary_lines())
        plain.insert("leads", plain.client_ids("active")[0], 2)
        rows = sync(pipeline, plain, resources=["clients", "leads"], schema_contract="discard_row", mode="quick")
        assert rows.exit_code == 0 and len(loaded_rows(pipeline, "leads")) == before + 3  # new rows had new fields


def test_classification_config_is_checked_exit_2(make_duckdb_pipeline) -> None:
    pipeline = make_duckdb_pipeline("drift_config")
    for bad, expected in (
        ({"leads.phone_number": "secret"}, "is not a category"),
        ({"phone_number": "phone"}, 'not "table.field"'),
        ({"leads.email": "not_personal"}, "PII catalog"),
    ):
        result = sync(pipeline, _NoServer(), field_classification=bad)
        assert result.exit_code == ExitCode.CONFIG and expected in str(result.error), (bad, result.error)
    result = sync(pipeline, _NoServer(), schema_contract="strict")
    assert result.exit_code == ExitCode.CONFIG and "schema_contract" in str(result.error)


class _NoServer:
    """Config errors stop the run before any request: no emulator needed."""

    keys: dict[str, str] = {}
    base_url = "http://127.0.0.1:9/api/v1"

    def __init__(self) -> None:
        self.keys = {"full": "lp_live_" + "0" * 32}
