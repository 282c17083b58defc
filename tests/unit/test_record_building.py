"""Record building (helpers/records.py) as a property, in memory: for any page of broken records, every record
becomes a row or a quarantined record with its reason (none lost, none twice; a bad value of a record that
loads is set aside alone), and a hashed category never
shows its raw value in either. The same records over HTTP into DuckDB, with fewer examples (each is a whole
run): tests/faults/test_bad_input.py; fixed cases of each rule: tests/source/test_records.py. Records reach
the builder as the client decodes them (orjson), so only values a JSON page can carry are generated."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sources.leadpanther.helpers.pii import PiiPolicy
from sources.leadpanther.helpers.records import TableBuilder
from sources.leadpanther.settings import PII_CATALOG
from tests.faults.bad_records import apply_mutations, base_record, examples, page_strategy

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SALT = "unit-salt-0123456789abcdef"
POLICY = PiiPolicy.from_config({"email": "hash", "name": "hash"}, SALT)
TABLES = ("posts", "leads", "activity")
HASHED = {"email", "name"}


@settings(
    max_examples=examples(ci=100),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(table=st.sampled_from(TABLES), mutations=page_strategy, junk=st.lists(st.none() | st.integers(), max_size=2))
def test_every_record_is_a_row_or_quarantined_and_hashed_values_never_show(
    table: str, mutations: list[Any], junk: list[Any]
) -> None:
    served = [apply_mutations(base_record(table, i), m) for i, m in enumerate(mutations)] + junk
    records: list[Any] = orjson.loads(json.dumps(served))  # as the client decodes a page (big ints: floats)
    page = TableBuilder(table, POLICY, NOW).build(records, "c1")
    rows = page.table.num_rows if page.table is not None else 0
    whole = [q for q in page.quarantined if q.field_name is None]  # the rest: values set aside in loaded rows
    assert rows + len(whole) == len(records), [q.reason for q in page.quarantined]
    assert all(q.reason and q.table_name == table and q.client_id == "c1" for q in page.quarantined)
    raw = {
        value
        for record in records
        if isinstance(record, dict)
        for column, category in PII_CATALOG[table].items()
        if category in HASHED and isinstance(value := record.get(column), str) and len(value) >= 4
    }
    shown = orjson.dumps(page.table.to_pylist() if page.table is not None else [], default=str).decode()
    shown += "".join(q.raw_record for q in page.quarantined)
    assert not [v for v in raw if v in shown]
