"""API records -> Arrow tables, with validation, quarantine and the PII policy.

Why Arrow: dlt's per-dict normalizer runs at ~5k rows/s on this hardware, Arrow tables at ~60k rows/s
(see README, "Why Arrow"). Nested objects are flattened with dlt's `__` separator and lists are kept as
JSON, so the table shapes are identical on every destination (docs/tables.md).

A record that cannot be converted (a required field missing, a value of the wrong type) is not dropped and
does not stop the run: it goes to the quarantine with its reason, its raw JSON scrubbed by the PII policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCaseNaming

from ..settings import (
    CLIENT_ID,
    DELETED_AT,
    PII_CATALOG,
    PII_CATEGORY_HINT,
    PII_HINT,
    REQUIRED_FIELDS,
    SYNCED_AT,
    TABLE_COLUMNS,
)
from .pii import PiiPolicy, suspect_category

TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": TIMESTAMP,
    "json": pa.string(),
    "double": pa.float64(),
    "date": pa.date32(),
}
META_COLUMNS = (SYNCED_AT, DELETED_AT)
# Unknown fields whose names collide once dlt normalizes them (e.g. "Text" vs text) land here, as JSON.
UNMAPPED = "_lp_unmapped_fields"
NAMING = SnakeCaseNaming()


@dataclass
class QuarantinedRecord:
    table_name: str
    client_id: str | None
    record_id: str | None
    reason: str
    raw_record: str


@dataclass
class BuiltPage:
    table: pa.Table | None
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    # unknown columns that look like personal data: column -> category
    suspected: dict[str, str] = field(default_factory=dict)
    extra_columns: dict[str, str] = field(default_factory=dict)


def parse_ts(value: Any) -> datetime | None:
    """ISO 8601 (with 'Z') -> aware datetime; None when absent or unparseable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def column_hints(table: str) -> dict[str, dict[str, Any]]:
    """dlt column hints for a raw table: types, nullability of keys, and PII tags from the catalog."""
    hints: dict[str, dict[str, Any]] = {}
    required = set(REQUIRED_FIELDS.get(table, ()))
    for name, data_type, _ in TABLE_COLUMNS[table]:
        hint: dict[str, Any] = {"data_type": data_type, "nullable": name not in required}
        if data_type == "timestamp":
            hint["timezone"] = True
        hints[name] = hint
    hints.setdefault(CLIENT_ID, {"data_type": "text", "nullable": False})
    hints[SYNCED_AT] = {"data_type": "timestamp", "timezone": True, "nullable": False}
    hints[DELETED_AT] = {"data_type": "timestamp", "timezone": True, "nullable": True}
    for column, category in PII_CATALOG.get(table, {}).items():
        hints.setdefault(column, {}).update(pii_hint(category))
    return hints


def pii_hint(category: str) -> dict[str, Any]:
    return {
        PII_HINT: True,
        PII_CATEGORY_HINT: category,
        "description": f"Personal data ({category}); policy applied at extract.",
    }


class TableBuilder:
    """Builds the Arrow table of one raw table from pages of API records."""

    def __init__(self, table: str, policy: PiiPolicy, synced_at: datetime) -> None:
        self.table = table
        self.policy = policy
        self.synced_at = synced_at
        self.columns = TABLE_COLUMNS[table]
        self.known_keys = {path[0] for _, _, path in self.columns} | {CLIENT_ID}
        self.required = REQUIRED_FIELDS[table]
        self.pii = PII_CATALOG.get(table, {})

    def build(self, records: list[Any], client_id: str | None) -> BuiltPage:
        """Fast path: convert whole columns at once; only a page that fails is checked record by record."""
        page = BuiltPage(None)
        good = [r for r in records if isinstance(r, dict)]
        if len(good) != len(records):
            page.quarantined += [
                self._quarantine(r, client_id, f"record is {type(r).__name__}, not an object")
                for r in records
                if not isinstance(r, dict)
            ]
        if not good:
            return page
        try:
            page.table = self._to_arrow(good, client_id, page)
            if not self._required_missing(page.table):
                return page
        except (pa.ArrowException, AttributeError, TypeError, ValueError, OverflowError):
            pass
        page.suspected.clear()
        page.extra_columns.clear()
        checked: list[dict[str, Any]] = []
        for record in good:
            reason = self._problem(record)
            if reason:
                page.quarantined.append(self._quarantine(record, client_id, reason))
            else:
                checked.append(record)
        page.table = self._to_arrow(checked, client_id, page) if checked else None
        return page

    def _required_missing(self, table: pa.Table) -> bool:
        return any(table.column(name).null_count for name in self.required)

    def _problem(self, record: Any) -> str | None:
        """Why this record cannot load as typed columns, or None. Per-value checks, kept cheap."""
        if not isinstance(record, dict):
            return f"record is {type(record).__name__}, not an object"
        for name, data_type, path in self.columns:
            value = record.get(path[0])
            if len(path) > 1:
                if value is None:
                    continue
                if not isinstance(value, dict):
                    return f"field {path[0]!r} should be an object, got {type(value).__name__}"
                value = value.get(path[1])
            if value is None:
                if name in self.required:
                    return f"required field {'.'.join(path)!r} is missing or null"
                continue
            if not _fits(data_type, value):
                return f"field {'.'.join(path)!r} should be {data_type}, got {type(value).__name__} {_preview(value)}"
        return None

    def _quarantine(self, record: Any, client_id: str | None, reason: str) -> QuarantinedRecord:
        raw = self.policy.scrub_record(self.table, record) if isinstance(record, dict) else record
        record_id = None
        if isinstance(record, dict):
            rid = record.get("id", record.get("user_id", record.get("post_id", record.get("lead_magnet_id"))))
            record_id = str(rid)[:200] if rid is not None else None
        return QuarantinedRecord(self.table, client_id, record_id, reason, orjson.dumps(raw, default=str).decode())

    def _to_arrow(self, records: list[dict[str, Any]], client_id: str | None, page: BuiltPage) -> pa.Table:
        arrays: dict[str, pa.Array] = {}
        n = len(records)
        for name, data_type, path in self.columns:
            if len(path) == 1:
                key = path[0]
                values = [r.get(key) for r in records]
            else:
                outer, inner = path
                values = [(r.get(outer) or {}).get(inner) for r in records]
            if data_type == "json":
                values = [None if v is None else orjson.dumps(v).decode() for v in values]
            if name in self.pii:
                values = self.policy.apply(self.pii[name], values)
            arrays[name] = _array(values, data_type)
        if CLIENT_ID not in arrays:
            arrays[CLIENT_ID] = pa.array([client_id] * n, pa.string())
        self._add_unknown(records, arrays, page)
        arrays[SYNCED_AT] = pa.array([self.synced_at] * n, TIMESTAMP)
        arrays[DELETED_AT] = pa.nulls(n, TIMESTAMP)
        return pa.table(arrays)

    def _add_unknown(self, records: list[dict[str, Any]], arrays: dict[str, pa.Array], page: BuiltPage) -> None:
        """Fields the contract does not list: kept as new columns (dlt schema evolution), never dropped."""
        unknown = set().union(*records) - self.known_keys
        taken = set(arrays) | set(META_COLUMNS) | {UNMAPPED}
        unmapped: list[str] = []
        for key in sorted(unknown, key=str):
            column = NAMING.normalize_identifier(key) if isinstance(key, str) else None
            # dlt renames columns to snake_case: a name that would collide is kept as JSON instead.
            if not column or column in taken or column.startswith(("_lp_", "_dlt")):
                unmapped.append(key)
                continue
            taken.add(column)
            values = [r.get(key) for r in records]
            data_type = _infer(values)
            if data_type == "json":
                values = [None if v is None else orjson.dumps(v).decode() for v in values]
            elif data_type == "text":
                category = suspect_category(values)
                if category:
                    page.suspected[key] = category
                    values = self.policy.apply(category, values)
            arrays[column] = _array(values, data_type)
            page.extra_columns[column] = data_type
        if unmapped:
            packed = [{k: r[k] for k in unmapped if k in r} for r in records]
            packed = [self.policy.scrub_record(self.table, p) if p else None for p in packed]
            arrays[UNMAPPED] = pa.array(
                [orjson.dumps(p, default=str).decode() if p else None for p in packed], pa.string()
            )
            page.extra_columns[UNMAPPED] = "json"


def _array(values: list[Any], data_type: str) -> pa.Array:
    if data_type == "timestamp":
        return pc.cast(pa.array(values, pa.string()), TIMESTAMP)
    return pa.array(values, ARROW_TYPES[data_type])


def _fits(data_type: str, value: Any) -> bool:
    if data_type == "text":
        return isinstance(value, str)
    if data_type == "bigint":
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    if data_type == "bool":
        return isinstance(value, bool)
    if data_type == "timestamp":
        return parse_ts(value) is not None and _arrow_parses(value)
    return True  # json: anything JSON can hold


def _arrow_parses(value: str) -> bool:
    # Arrow's ISO parser is stricter than Python's in a few corners; check the one that will be used.
    try:
        pc.cast(pa.array([value]), TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _infer(values: list[Any]) -> str:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return "text"
    if kinds == {str}:
        return "text"
    if kinds == {bool}:
        return "bool"
    if kinds == {int} and all(-(2**63) <= v < 2**63 for v in values if v is not None):
        return "bigint"
    if kinds <= {int, float} and bool not in kinds:
        return "double"
    return "json"


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
