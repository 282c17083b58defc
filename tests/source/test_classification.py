"""Fields the contract does not know, record by record (in-process: the pure functions every page goes through;
the end-to-end behaviour over HTTP is in test_drift.py): classification, lossless conversions, set-aside values,
variant columns, the strictest action in force, and the model step's failures."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest

from sources.leadpanther.configuration import resolve_source_config
from sources.leadpanther.helpers.coercion import coerce_column
from sources.leadpanther.helpers.drift import DriftLog, SchemaFrozenError
from sources.leadpanther.helpers.errors import ConfigError
from sources.leadpanther.helpers.pii import PiiPolicy, suspect_category
from sources.leadpanther.helpers.records import TableBuilder
from transforms.errors import TransformError

NOW = datetime(2026, 11, 25, tzinfo=UTC)
SALT = "classify-salt-0123456789"


def lead(**extra):
    return {"id": "l1", "full_name": "Ada", "created_at": "2026-05-25T00:00:00.000Z", **extra}


def test_lossless_conversions_and_what_is_set_aside() -> None:
    figures = coerce_column(["2743", "12.0", 5, " 7 ", "n/a", 12.5, True, {"n": 1}, None], "bigint")
    assert figures.values == [2743, 12, 5, 7, None, None, None, None, None]
    assert (
        figures.converted == 3
        and [i for i, _, _ in figures.problems] == [4, 5, 6]
        and figures.variants == {7: {"n": 1}}
    )
    stamps = coerce_column(["2026-01-01T00:00:00+00:00", "20260101T000000Z", "2026-01-01T02:00:00+02:00"], "timestamp")
    assert len(set(stamps.values)) == 1 and not stamps.problems
    assert coerce_column([404, 1.5, False], "text").values == ["404", "1.5", None]


@pytest.mark.parametrize(
    ("policies", "expected"),
    [({}, "keep"), ({"email": "hash"}, "hash"), ({"email": "hash", "free_text": "redact"}, "redact")],
)
def test_unknown_field_on_a_people_route_gets_the_strictest_action_in_force(policies, expected) -> None:
    policy = PiiPolicy.from_config(policies, SALT if "hash" in policies.values() else None)
    page = TableBuilder("leads", policy, NOW).build([lead(phone_number="+1 555 0100 1234", seats=3)], "c1")
    row = page.table.to_pylist()[0]
    assert page.suspected == {"phone_number": "unclassified", "seats": "unclassified"}
    if expected == "keep":
        assert row["phone_number"] == "+1 555 0100 1234" and row["seats"] == 3
    elif expected == "hash":
        assert row["phone_number"] == policy.digest("+1 555 0100 1234") and row["seats"] == policy.digest("3")
    else:
        assert row["phone_number"] is None and row["seats"] is None


def test_classification_overrides_and_unknown_keys_inside_known_objects() -> None:
    policy = PiiPolicy.from_config(
        {"phone": "hash", "email": "hash"}, SALT, {"leads.seats": "not_personal", "leads.phone_number": "phone"}
    )
    drift = DriftLog()
    page = TableBuilder("leads", policy, NOW, drift).build([lead(phone_number="+1 555 0100 1234", seats=3)], "c1")
    row = page.table.to_pylist()[0]
    assert row["seats"] == 3 and row["phone_number"] == policy.digest("+1 555 0100 1234")
    assert page.suspected == {"phone_number": "phone"}
    assert not [line for line in drift.summary_lines() if "UNCLASSIFIED" in line]
    client = {"user_id": "u1", "grant": {"id": "g", "status": "active", "region": "eu"}, "contact": {"name": "Bo"}}
    page = TableBuilder("clients", PiiPolicy.from_config({"name": "redact"}, None), NOW).build([client], None)
    row = page.table.to_pylist()[0]
    assert row["grant__status"] == "active" and row["grant__region"] is None and row["contact"] is None  # redacted
    assert page.suspected == {"grant__region": "unclassified", "contact": "unclassified"}


def test_a_type_change_goes_to_a_variant_column_and_a_bad_object_to_the_quarantine() -> None:
    policy = PiiPolicy.from_config({"name": "hash"}, SALT)
    builder = TableBuilder("post_engagement", policy, NOW)
    page = builder.build([{"post_id": "p1", "reposts": {"count": 3}, "impressions": "n/a"}], "c1")
    row = page.table.to_pylist()[0]
    assert row["reposts"] is None and json.loads(row["reposts__v_json"]) == {"count": 3}
    assert page.hints["reposts__v_json"]["data_type"] == "json"
    assert [(q.field_name, json.loads(q.raw_record)) for q in page.quarantined] == [("impressions", "n/a")]
    page = TableBuilder("clients", policy, NOW).build([{"user_id": "u1", "grant": "Ada Lovelace"}], None)
    assert page.table.num_rows == 1 and page.quarantined[0].field_name == "grant"
    assert "Ada" not in page.quarantined[0].raw_record + page.quarantined[0].reason  # a people route: hashed


def test_the_same_unknown_field_keeps_its_first_type_for_the_run() -> None:
    drift = DriftLog()
    builder = TableBuilder("posts", PiiPolicy(), NOW, drift)
    first = builder.build([{"id": "p1", "reach": 10}], "c1").table
    second = TableBuilder("posts", PiiPolicy(), NOW, drift).build(
        [{"id": "p2", "reach": "11"}, {"id": "p3", "reach": {"a": 1}}], "c2"
    )
    assert first.schema.field("reach").type == second.table.schema.field("reach").type
    assert second.table.column("reach").to_pylist() == [11, None]
    assert json.loads(second.table.column("reach__v_json").to_pylist()[1]) == {"a": 1}


def test_freeze_names_table_and_column_and_discard_value_drops_it() -> None:
    with pytest.raises(SchemaFrozenError, match="table 'leads', column 'phone_number'"):
        TableBuilder("leads", PiiPolicy(), NOW, DriftLog(contract="freeze")).build([lead(phone_number="+1")], "c1")
    drift = DriftLog(contract="discard_value")
    page = TableBuilder("leads", PiiPolicy(), NOW, drift).build([lead(phone_number="+1")], "c1")
    assert "phone_number" not in page.table.column_names and drift.by_kind("discarded")


@pytest.mark.parametrize(
    ("values", "category"),
    [
        (["+44 20 7946 0958", "(030) 1234-5678"], "suspected_phone"),
        (["https://x.com/ada", "https://www.linkedin.com/in/bo"], "suspected_profile_url"),
        ([{"name": "Ada", "title": "CTO"}], "suspected_name"),
        ([["ada@example.org"]], "suspected_email"),
        (["2743", "1234567", "2026-01-01T00:00:00Z", "#growth"], None),
    ],
)
def test_values_are_checked_not_only_names(values, category) -> None:
    assert suspect_category(values) == category


def test_field_classification_resolves_from_env_and_is_checked(monkeypatch) -> None:
    monkeypatch.setenv("SOURCES__LEADPANTHER__API_KEY", "lp_live_" + "0" * 32)
    monkeypatch.setenv("SOURCES__LEADPANTHER__FIELD_CLASSIFICATION", '{"leads.phone_number": "phone"}')
    monkeypatch.setenv("SOURCES__LEADPANTHER__SCHEMA_CONTRACT", "discard_row")
    config = resolve_source_config()
    assert config.pii().classification == {"leads.phone_number": "phone"} and config.schema_contract == "discard_row"
    monkeypatch.setenv("SOURCES__LEADPANTHER__FIELD_CLASSIFICATION", '{"leads.phone_number": "telephone"}')
    with pytest.raises(Exception) as caught:
        resolve_source_config()
    assert "telephone" in str(caught.value) and "is not a category" in str(caught.value)


def test_a_models_import_failure_is_an_error_not_a_silent_skip(monkeypatch) -> None:
    from pipelines.post_load import build_models

    monkeypatch.setitem(sys.modules, "transforms", None)  # `import transforms` now raises ImportError
    with pytest.raises(TransformError, match="the models could not be imported"):
        build_models(object(), "run")
    assert issubclass(TransformError, Exception) and not issubclass(TransformError, ConfigError)


def test_dlt_applies_schema_contracts_to_arrow_tables_and_a_refusal_is_a_config_error(tmp_path) -> None:
    """What the connector relies on when it passes schema_contract to dlt: on Arrow items dlt's extractor
    refuses a new column under freeze (after a table's first load: dlt evolves a new table once, which is why
    the connector checks first) and removes it under discard_value; a refusal maps to exit 2 naming both."""
    import dlt
    import pyarrow as pa
    from dlt.pipeline.exceptions import PipelineStepFailed

    from sources.leadpanther.helpers.drift import contract_error

    pipeline = dlt.pipeline(
        "h1_contract",
        destination=dlt.destinations.duckdb(str(tmp_path / "contract.duckdb")),
        pipelines_dir=str(tmp_path / "p"),
        dataset_name="c",
    )

    def rows(table: pa.Table, mode: str) -> object:
        return dlt.resource([table], name="leads", schema_contract={"columns": mode})

    pipeline.run(rows(pa.table({"id": ["a"]}), "freeze"))  # first load of the table: evolves once
    with pytest.raises(PipelineStepFailed) as caught:
        pipeline.run(rows(pa.table({"id": ["b"], "phone_number": ["+1 555 0100 0000"]}), "freeze"))
    error = contract_error(caught.value)
    assert isinstance(error, ConfigError) and "'leads'" in str(error) and "'phone_number'" in str(error)
    assert "+1 555" not in str(error)
    pipeline.run(rows(pa.table({"id": ["c"], "phone_number": ["+1 555 0100 0000"]}), "discard_value"))
    assert "phone_number" not in pipeline.default_schema.get_table_columns("leads")
    with pipeline.sql_client() as sql:
        assert sorted(r[0] for r in sql.execute_sql("select id from leads")) == ["a", "c"]
