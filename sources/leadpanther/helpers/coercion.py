"""Values the API sends in another type than the contract declares: converted when no information is lost,
otherwise set aside with a reason. Pure functions, no I/O.

Why: the vendor's examples are a floor (docs/api-contract.md, "Fields nobody listed"); a figure may arrive as
`"2743"` and a timestamp in any ISO 8601 spelling. A record must never be lost for one odd field, so each value
gets one of three outcomes: it fits (or converts losslessly), it is an object or list where a scalar was
declared (the type changed for good: it goes to a variant JSON column, dlt's `<column>__v_json`), or it cannot
be converted (it is nulled in its record and kept in the quarantine with the reason).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

INT64 = (-(2**63), 2**63)
CANONICAL_TS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"  # the spelling the contract shows (ms, Z)
_CANONICAL_TS = re.compile(CANONICAL_TS)


@dataclass
class Coerced:
    """One column's values after conversion; indexes refer to the page's records."""

    values: list[Any]
    converted: int = 0
    problems: list[tuple[int, Any, str]] = field(default_factory=list)  # (index, raw value, reason)
    variants: dict[int, Any] = field(default_factory=dict)  # index -> object/list value of a scalar column


class Unconvertible(ValueError):
    """The value has no lossless form in the declared type."""


def coerce_column(values: list[Any], data_type: str) -> Coerced:
    """Each value converted to `data_type` (dlt type names) when lossless; see the module docstring."""
    out = Coerced(list(values))
    convert = _CONVERTERS.get(data_type)
    if convert is None:  # json (anything goes) and types we do not check
        return out
    for i, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, dict | list) and data_type != "json":
            out.values[i] = None
            out.variants[i] = value
            continue
        try:
            new = convert(value)
        except Unconvertible as problem:
            out.values[i] = None
            out.problems.append((i, value, str(problem)))
            continue
        if new is not value and not (type(new) is type(value) and new == value):
            out.converted += 1
        out.values[i] = new
    return out


def _to_bigint(value: Any) -> int:
    if isinstance(value, bool):
        raise Unconvertible("should be bigint, got bool")
    if isinstance(value, int):
        if INT64[0] <= value < INT64[1]:
            return value
        raise Unconvertible("should be bigint, got an integer out of the 64-bit range")
    number = _decimal(value, "bigint")
    if number != number.to_integral_value():
        raise Unconvertible(f"should be bigint, got {_describe(value)} (not a whole number)")
    as_int = int(number)
    if not INT64[0] <= as_int < INT64[1]:
        raise Unconvertible("should be bigint, got an integer out of the 64-bit range")
    return as_int


def _to_double(value: Any) -> float:
    if isinstance(value, bool):
        raise Unconvertible("should be double, got bool")
    if isinstance(value, int | float):
        return float(value)
    number = _decimal(value, "double")
    as_float = float(number)
    if Decimal(repr(as_float)) != number.normalize() and Decimal(as_float) != number:
        raise Unconvertible(f"should be double, got {_describe(value)} (would lose digits)")
    return as_float


def _decimal(value: Any, declared: str) -> Decimal:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Unconvertible(f"should be {declared}, got {_describe(value)}")
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise Unconvertible(f"should be {declared}, got {_describe(value)}") from None
        if number.is_finite():
            return number
    raise Unconvertible(f"should be {declared}, got {_describe(value)}")


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) else str(value)
    raise Unconvertible(f"should be text, got {_describe(value)}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Unconvertible(f"should be bool, got {_describe(value)}")


def parse_timestamp(value: Any) -> datetime | None:
    """Any ISO 8601 spelling of an instant (`Z`, `+00:00`, other offsets, no or more fraction digits, the basic
    format) -> aware UTC datetime; a stamp without an offset is read as UTC (the contract's zone, ASSUMED in
    docs/api-contract.md). None when it is not ISO 8601."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _to_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_timestamp(value)
    if parsed is None:
        raise Unconvertible(f"should be an ISO 8601 timestamp, got {_describe(value)}")
    return parsed


def _to_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Unconvertible(f"should be an ISO 8601 date, got {_describe(value)}")


_CONVERTERS = {
    "bigint": _to_bigint,
    "double": _to_double,
    "text": _to_text,
    "bool": _to_bool,
    "timestamp": _to_timestamp,
    "date": _to_date,
}


def is_canonical_timestamp(value: Any) -> bool:
    return isinstance(value, str) and _CANONICAL_TS.match(value) is not None


def _describe(value: Any) -> str:
    """The value's type only: a reason is shown in summaries and logs, the value (maybe personal) is not; it
    is kept, scrubbed by the PII policy, in the quarantine's raw_record."""
    if isinstance(value, str):
        return "a string that does not convert" if value.strip() else "an empty string"
    return type(value).__name__
