"""Values in another type than the contract declares (helpers/coercion.py): converted when nothing is lost, else
set aside with a reason that names the type, never the value. Pure logic: no server, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sources.leadpanther.helpers.coercion import coerce_column, is_canonical_timestamp, parse_timestamp

CONVERTS = [
    ("bigint", "2743", 2743),
    ("bigint", " 12 ", 12),
    ("bigint", "12.0", 12),
    ("bigint", 12.0, 12),
    ("bigint", "-9223372036854775808", -(2**63)),
    ("double", 1, 1.0),
    ("double", "0.1", 0.1),
    ("double", "1e3", 1000.0),
    ("text", 5, "5"),
    ("text", 1.5, "1.5"),
    ("bool", "TRUE ", True),
    ("bool", "false", False),
    ("timestamp", "2026-01-02T03:04:05+02:00", datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)),
    ("timestamp", "2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("timestamp", "20260102T030405Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("timestamp", datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("date", "2026-01-02", date(2026, 1, 2)),
]

KEPT = [("bigint", 5), ("double", 2.5), ("text", "x"), ("bool", True), ("date", date(2026, 1, 2))]

REFUSED = [
    ("bigint", "12.5", "not a whole number"),
    ("bigint", True, "got bool"),
    ("bigint", 2**63, "out of the 64-bit range"),
    ("bigint", "9223372036854775808", "out of the 64-bit range"),
    ("bigint", float("nan"), "got float"),
    ("bigint", float("inf"), "got float"),
    ("bigint", "inf", "a string that does not convert"),
    ("bigint", "twelve", "a string that does not convert"),
    ("bigint", "  ", "an empty string"),
    ("double", "0.12345678901234567890123", "would lose digits"),
    ("double", False, "got bool"),
    ("double", "n/a", "a string that does not convert"),
    ("text", True, "got bool"),
    ("bool", 1, "got int"),
    ("bool", "yes", "a string that does not convert"),
    ("timestamp", "last tuesday", "ISO 8601 timestamp"),
    ("timestamp", 1767322800, "got int"),
    ("date", "2026-13-01", "ISO 8601 date"),
    ("date", 20260102, "got int"),
]


@pytest.mark.parametrize(("data_type", "raw", "expected"), CONVERTS)
def test_lossless_values_convert_and_are_counted(data_type: str, raw: object, expected: object) -> None:
    out = coerce_column([raw, None], data_type)
    assert out.values == [expected, None] and type(out.values[0]) is type(expected)
    assert out.converted == 1 and out.problems == [] and out.variants == {}


@pytest.mark.parametrize(("data_type", "raw"), KEPT)
def test_values_of_the_declared_type_are_kept_uncounted(data_type: str, raw: object) -> None:
    out = coerce_column([raw], data_type)
    assert out.values == [raw] and out.converted == 0 and out.problems == []


@pytest.mark.parametrize(("data_type", "raw", "reason"), REFUSED)
def test_lossy_values_are_nulled_with_a_reason_that_hides_the_value(data_type: str, raw: object, reason: str) -> None:
    out = coerce_column([None, raw], data_type)
    assert out.values == [None, None] and out.converted == 0
    [(index, kept, why)] = out.problems
    assert index == 1 and kept is raw and reason in why
    if isinstance(raw, str) and raw.strip():
        assert raw.strip() not in why  # the reason goes to logs and summaries; the value may be personal


@pytest.mark.parametrize("value", [{"amount": 3}, [1, 2]])
def test_an_object_where_a_scalar_was_declared_goes_to_the_variant(value: object) -> None:
    out = coerce_column([7, value], "bigint")
    assert out.values == [7, None] and out.variants == {1: value} and out.problems == []


def test_json_and_unchecked_types_pass_through() -> None:
    values = [{"a": 1}, [2], "3"]
    for data_type in ("json", "wei"):
        out = coerce_column(values, data_type)
        assert out.values == values and out.variants == {} and out.converted == 0


def test_timestamp_spellings() -> None:
    assert is_canonical_timestamp("2026-01-02T03:04:05.000Z")
    assert not is_canonical_timestamp("2026-01-02T03:04:05Z") and not is_canonical_timestamp(5)
    assert parse_timestamp("") is None and parse_timestamp(None) is None and parse_timestamp("soon") is None
    assert parse_timestamp(" 2026-01-02T03:04:05.123456-05:00 ") == datetime(2026, 1, 2, 8, 4, 5, 123456, tzinfo=UTC)
