"""Record conversion: Arrow shapes, quarantine reasons, PII policy and suspected personal data.

In-process on purpose (no HTTP): these are the pure functions every page goes through; the end-to-end
behaviour is covered over HTTP in the other test modules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sources.leadpanther.helpers.pii import PiiPolicy
from sources.leadpanther.helpers.records import TableBuilder

NOW = datetime(2026, 11, 25, tzinfo=UTC)
SALT = "test-salt-0123456789"


def lead(**over):
    base = {
        "id": "l1",
        "lead_magnet_id": "m1",
        "post_id": "p1",
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "linkedin_profile_url": "https://www.linkedin.com/in/ada",
        "headline": "Analyst",
        "company": "Engines Ltd",
        "source": "comments",
        "created_at": "2026-05-25T00:00:00.000Z",
        "updated_at": "2026-05-26T00:00:00.000Z",
    }
    base.update(over)
    return base


def test_only_records_without_a_usable_key_are_quarantined_whole() -> None:
    """A bad value of any other field is NULL in a record that loads, and kept in the quarantine with its field."""
    builder = TableBuilder("leads", PiiPolicy(), NOW)
    page = builder.build(
        [lead(), lead(id="l2", created_at=12345), lead(id=None), "not an object", lead(id="l3", email=["x"])], "c1"
    )
    assert page.table is not None and page.table.column("id").to_pylist() == ["l1", "l2", "l3"]
    rows = {r["id"]: r for r in page.table.to_pylist()}
    assert rows["l2"]["created_at"] is None and rows["l1"]["created_at"] is not None
    assert rows["l3"]["email"] is None and json.loads(rows["l3"]["email__v_json"]) == ["x"]  # type changed
    whole = sorted(q.reason for q in page.quarantined if q.field_name is None)
    assert len(whole) == 2
    assert any("required field 'id'" in r for r in whole) and any("not an object" in r for r in whole)
    values = [q for q in page.quarantined if q.field_name is not None]
    assert [(q.record_id, q.field_name, json.loads(q.raw_record)) for q in values] == [("l2", "created_at", 12345)]
    assert "timestamp" in values[0].reason and "12345" not in values[0].reason


def test_hash_policy_applies_before_arrow_and_in_quarantine() -> None:
    policy = PiiPolicy.from_config({"email": "hash", "name": "redact"}, SALT)
    builder = TableBuilder("leads", policy, NOW)
    page = builder.build([lead(), lead(id=None)], "c1")
    row = page.table.to_pylist()[0]
    assert row["email"] == policy.digest("ada@example.com") and len(row["email"]) == 64
    assert row["full_name"] is None
    raw = json.loads(page.quarantined[0].raw_record)
    assert "ada@example.com" not in page.quarantined[0].raw_record
    assert raw["email"] == policy.digest("ada@example.com") and raw["full_name"] is None


def test_unknown_fields_become_columns_and_email_like_ones_are_suspected() -> None:
    """On a route that carries no people: unknown fields load typed; values that look personal are tagged."""
    policy = PiiPolicy.from_config({"email": "hash"}, SALT)
    builder = TableBuilder("posts", policy, NOW)
    post = {"id": "p1", "created_at": "2026-05-25T00:00:00.000Z", "status": "draft"}
    page = builder.build([post | {"owner_email": "ada@work.example", "score": 7, "tags": ["a"]}], "c1")
    assert page.suspected == {"owner_email": "suspected_email"}
    row = page.table.to_pylist()[0]
    assert row["owner_email"] == policy.digest("ada@work.example")
    assert row["score"] == 7 and json.loads(row["tags"]) == ["a"]


def test_nested_objects_flatten_and_lists_become_json() -> None:
    client = {
        "user_id": "u1",
        "full_name": "Client A",
        "business_name": "A Co",
        "account_status": "active",
        "grant": {
            "id": "g1",
            "label": "A",
            "status": "active",
            "permissions": ["posts:read"],
            "created_at": "2026-05-25T00:00:00.000Z",
            "updated_at": "2026-05-25T00:00:00.000Z",
        },
    }
    table = TableBuilder("clients", PiiPolicy(), NOW).build([client], None).table
    row = table.to_pylist()[0]
    assert row["client_id"] == "u1" and row["grant__status"] == "active"
    assert json.loads(row["grant__permissions"]) == ["posts:read"]
