"""API records -> Arrow tables, with validation, quarantine and the PII policy.

Why Arrow: dlt's per-dict normalizer runs at ~5k rows/s on this hardware, Arrow tables at ~60k rows/s
(docs/performance.md, "Why Arrow"). Nested objects are flattened with dlt's `__` separator and lists are kept as
JSON, so the table shapes are identical on every destination (docs/tables.md).

A record that cannot be converted (a required field missing, a value of the wrong type) is not dropped and
does not stop the run: it goes to the quarantine with its reason, its raw JSON scrubbed by the PII policy.

Over ~300 lines: one `TableBuilder` turns a page into a table in one pass (types, required fields, unknown
fields and their drift, PII), and those steps read and write the same per-column state; the rules they
apply live elsewhere (coercion.py, classification.py, drift.py, pii.py).
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
    UNCLASSIFIED,
    VARIANT_SUFFIX,
)
from .arrow_types import ARROW_TYPES, TIMESTAMP
from .classification import scrub_record, unknown_field_category
from .coercion import CANONICAL_TS, Coerced, coerce_column, is_canonical_timestamp
from .drift import DriftLog, SchemaFrozenError
from .pii import PiiPolicy

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
    field_name: str | None = None  # one value set aside (its record loaded), or None: the whole record


@dataclass
class BuiltPage:
    table: pa.Table | None
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    # unknown columns treated as personal data: column -> category (unclassified, classified, suspected_*)
    suspected: dict[str, str] = field(default_factory=dict)
    extra_columns: dict[str, str] = field(default_factory=dict)
    hints: dict[str, dict[str, Any]] = field(default_factory=dict)  # dlt column hints for this item's new columns


def parse_ts(value: Any) -> datetime | None:
    """ISO 8601 -> aware datetime; None when absent or unparseable. A stamp without an offset is not a cursor
    (the pager's stamps must be unambiguous); the loaded column reads it as UTC (coercion.parse_timestamp)."""
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
    if category == UNCLASSIFIED:
        description = (
            "Unclassified personal data: a field the contract does not know on a route that carries people; the "
            "strictest action of the PII policy was applied at extract. Classify it with field_classification."
        )
    else:
        description = f"Personal data ({category}); policy applied at extract."
    return {PII_HINT: True, PII_CATEGORY_HINT: category, "description": description}


class TableBuilder:
    """Builds the Arrow table of one raw table from pages of API records.

    Per column, the whole page is converted at once (fast path); only a column that fails is converted value
    by value (coercion.py). A record is quarantined whole only when its key is unusable; a bad value of any
    other field is NULL in its record and kept in the quarantine. Fields the contract does not know become
    columns (or are refused/dropped, per `schema_contract`), treated as personal data by classification.py."""

    def __init__(self, table: str, policy: PiiPolicy, synced_at: datetime, drift: DriftLog | None = None) -> None:
        self.table = table
        self.policy = policy
        self.synced_at = synced_at
        self.drift = drift if drift is not None else DriftLog()
        self.columns = TABLE_COLUMNS[table]
        self.known_keys = {path[0] for _, _, path in self.columns} | {CLIENT_ID}
        self.nested: dict[str, set[str]] = {}
        for _, _, path in self.columns:
            if len(path) > 1:
                self.nested.setdefault(path[0], set()).add(path[1])
        self.required = REQUIRED_FIELDS[table]
        self.key_paths = [path for name, _, path in self.columns if name in self.required]
        self.pii = PII_CATALOG.get(table, {})

    def build(self, records: list[Any], client_id: str | None) -> BuiltPage:
        page = BuiltPage(None)
        usable: list[dict[str, Any]] = []
        for record in records:
            reason = self._key_problem(record)
            if reason:
                page.quarantined.append(self._quarantine(record, client_id, reason))
            else:
                usable.append(record)
        if self.drift.contract == "discard_row":
            usable = self._discard_rows(usable)
        if usable:
            page.table = self._to_arrow(usable, client_id, page)
        return page

    def _key_problem(self, record: Any) -> str | None:
        """Why this record has no usable key (it cannot be merged or found again), or None."""
        if not isinstance(record, dict):
            return f"record is {type(record).__name__}, not an object"
        for path in self.key_paths:
            value = record.get(path[0])
            if value is None:
                return f"required field {'.'.join(path)!r} is missing or null"
            if not isinstance(value, str) and not (isinstance(value, int) and not isinstance(value, bool)):
                return f"required field {'.'.join(path)!r} should be text, got {type(value).__name__}"
        return None

    def _discard_rows(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        known = self.known_keys
        kept = [r for r in records if not any(v is not None for k, v in r.items() if k not in known)]
        for record in records:
            if len(kept) == len(records):
                break
            for key, value in record.items():
                if key not in known and value is not None:
                    self.drift.count(self.table, str(key), "discarded", 1)
        return kept

    def _quarantine(
        self, record: Any, client_id: str | None, reason: str, field_name: str | None = None, raw: Any = None
    ) -> QuarantinedRecord:
        """A whole record (field_name None), or one value of a record that loaded, scrubbed by the policy."""
        if field_name is None:
            raw = scrub_record(self.policy, self.table, record) if isinstance(record, dict) else record
        record_id = None
        if isinstance(record, dict):
            rid = record.get("id", record.get("user_id", record.get("post_id", record.get("lead_magnet_id"))))
            record_id = str(rid)[:200] if rid is not None else None
        return QuarantinedRecord(
            self.table, client_id, record_id, reason, orjson.dumps(raw, default=str).decode(), field_name
        )

    def _to_arrow(self, records: list[dict[str, Any]], client_id: str | None, page: BuiltPage) -> pa.Table:
        arrays: dict[str, pa.Array] = {}
        n = len(records)
        present = set().union(*records)
        outers = {outer: self._objects(outer, records, client_id, page) for outer in self.nested}
        variants: dict[str, pa.Array] = {}  # after the declared columns
        for name, data_type, path in self.columns:
            values = [r.get(path[0]) for r in records] if len(path) == 1 else [o.get(path[1]) for o in outers[path[0]]]
            if path[0] not in present:
                self.drift.count(self.table, name, "absent", n)
            arrays[name] = self._column(name, data_type, values, records, client_id, page, variants)
        if CLIENT_ID not in arrays:
            arrays[CLIENT_ID] = pa.array([client_id] * n, pa.string())
        self._add_unknown(records, present, outers, arrays, variants, client_id, page)
        arrays.update(variants)
        arrays[SYNCED_AT] = pa.array([self.synced_at] * n, TIMESTAMP)
        arrays[DELETED_AT] = pa.nulls(n, TIMESTAMP)
        return pa.table(arrays)

    def _objects(
        self, outer: str, records: list[dict[str, Any]], client_id: str | None, page: BuiltPage
    ) -> list[dict[str, Any]]:
        """The nested object of each record ({} when absent); a non-object value is a quarantined value."""
        out: list[dict[str, Any]] = []
        for record in records:
            value = record.get(outer)
            if value is None or isinstance(value, dict):
                out.append(value or {})
                continue
            out.append({})
            reason = f"field {outer!r} should be an object, got {type(value).__name__}; its fields are NULL"
            page.quarantined.append(self._quarantine(record, client_id, reason, outer, self._scrubbed(outer, value)))
            self.drift.count(self.table, outer, "quarantined", 1)
        return out

    def _scrubbed(self, column: str, value: Any, category: str | None = None) -> Any:
        category = category or self.pii.get(column) or unknown_field_category(self.policy, self.table, column, [value])
        if category is None or value is None:
            return value
        if isinstance(value, dict | list):
            value = orjson.dumps(value, default=str).decode()
        return self.policy.apply_one(category, value)

    def _column(
        self,
        name: str,
        data_type: str,
        values: list[Any],
        records: list[dict[str, Any]],
        client_id: str | None,
        page: BuiltPage,
        arrays: dict[str, pa.Array],
        category: str | None = None,
    ) -> pa.Array:
        """One column, converted to its type; odd values converted, set aside or moved to a variant column."""
        category = category or self.pii.get(name)
        if data_type == "json":
            values = [None if v is None else orjson.dumps(v, default=str).decode() for v in values]
            return _array(self.policy.apply(category, values) if category else values, data_type)
        try:
            if data_type == "timestamp":
                strings = pa.array(values, pa.string())
                array = pc.cast(strings, TIMESTAMP)
                self.drift.count(self.table, name, "converted", _respelled(array, strings))
            else:
                array = _array(values, data_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            coerced = coerce_column(values, data_type)
            converted = coerced.converted
            if data_type == "timestamp":
                converted = sum(1 for v in values if isinstance(v, str) and not is_canonical_timestamp(v))
            self.drift.count(self.table, name, "converted", converted)
            self._set_aside(name, data_type, coerced, records, client_id, page, arrays, category)
            values = coerced.values
            array = _typed_array(values, data_type)
        if category and self.policy.action(category) != "keep":
            return pa.array(self.policy.apply(category, array.to_pylist()), pa.string())
        return array

    def _set_aside(
        self,
        name: str,
        data_type: str,
        coerced: Coerced,
        records: list[dict[str, Any]],
        client_id: str | None,
        page: BuiltPage,
        arrays: dict[str, pa.Array],
        category: str | None,
    ) -> None:
        """Values that did not convert go to the quarantine (their record loads with NULL there); objects in a
        scalar column go to its variant column `<name>__v_json` (schema_contract evolve) or the quarantine."""
        problems = list(coerced.problems)
        if coerced.variants and self.drift.contract == "evolve":
            variant = f"{name}{VARIANT_SUFFIX}"
            values = [None] * len(records)
            for i, value in coerced.variants.items():
                values[i] = orjson.dumps(value, default=str).decode()
            if category and self.policy.action(category) != "keep":
                values = self.policy.apply(category, values)
            arrays[variant] = pa.array(values, pa.string())
            page.hints[variant] = {"data_type": "json", **(pii_hint(category) if category else {})}
            self.drift.count(self.table, name, "variant", len(coerced.variants))
        else:
            problems += [(i, v, f"should be {data_type}, got {type(v).__name__}") for i, v in coerced.variants.items()]
        for i, raw, why in problems:
            reason = f"field {name!r} {why}; the field is NULL in the loaded record"
            page.quarantined.append(
                self._quarantine(records[i], client_id, reason, name, self._scrubbed(name, raw, category))
            )
        self.drift.count(self.table, name, "quarantined", len(problems))

    def _add_unknown(
        self,
        records: list[dict[str, Any]],
        present: set[Any],
        outers: dict[str, list[dict[str, Any]]],
        arrays: dict[str, pa.Array],
        variants: dict[str, pa.Array],
        client_id: str | None,
        page: BuiltPage,
    ) -> None:
        """Fields the contract does not list, top-level and inside its nested objects: new columns (dlt schema
        evolution) unless `schema_contract` says otherwise; never silently dropped."""
        found: list[tuple[Any, str | None, list[Any]]] = [
            (key, NAMING.normalize_identifier(key) if isinstance(key, str) else None, [r.get(key) for r in records])
            for key in sorted(present - self.known_keys, key=str)
        ]
        for outer, objects in outers.items():
            inner = set().union(*objects) - self.nested[outer]
            for key in sorted(inner, key=str):
                column = f"{outer}__{NAMING.normalize_identifier(key)}" if isinstance(key, str) and key else None
                found.append(((outer, key), column, [o.get(key) for o in objects]))
        if not found:
            return
        taken = set(arrays) | set(variants) | set(META_COLUMNS) | {UNMAPPED}
        unmapped: list[Any] = []
        for key, column, values in found:
            # dlt renames columns to snake_case: a name that would collide is kept as JSON instead.
            if not column or column in taken or column.startswith(("_lp_", "_dlt")) or column.endswith(VARIANT_SUFFIX):
                unmapped.append(key)
                continue
            if not self._contract_allows(column, values):
                continue
            taken.add(column)
            category = unknown_field_category(self.policy, self.table, column, values)
            action = self.policy.action(category) if category else None
            self.drift.count(self.table, column, "new_field", sum(v is not None for v in values), category, action)
            if category and action != "keep":  # hashed or redacted whole: objects as their JSON text
                data_type = self.drift.type_of(self.table, column, "text")
                values = [_as_text(v) for v in values]
            else:
                data_type = self.drift.type_of(self.table, column, _infer(values))
                if data_type == "text":  # an object in a text column of ours is its JSON text: nothing lost
                    values = [_as_text(v) for v in values]
            arrays[column] = self._column(column, data_type, values, records, client_id, page, variants, category)
            page.extra_columns[column] = data_type
            if category:
                page.suspected[column] = category
        if unmapped:
            if not self._contract_allows(UNMAPPED, [1]):
                return
            packed = [_pick(r, unmapped) for r in records]
            packed = [scrub_record(self.policy, self.table, p) if p else None for p in packed]
            arrays[UNMAPPED] = pa.array(
                [orjson.dumps(p, default=str).decode() if p else None for p in packed], pa.string()
            )
            page.extra_columns[UNMAPPED] = "json"

    def _contract_allows(self, column: str, values: list[Any]) -> bool:
        """evolve: yes. freeze: stop the run before anything is written. discard_value: drop the column."""
        mode = self.drift.contract
        if mode == "evolve" or (self.table, column) in self.drift.types:
            return True
        if mode == "freeze":
            raise SchemaFrozenError(self.table, column)
        self.drift.count(self.table, column, "discarded", sum(v is not None for v in values))
        return False


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def _pick(record: dict[str, Any], keys: list[Any]) -> dict[str, Any]:
    """The record's values of these keys; a nested key (outer, inner) as "outer.inner"."""
    out: dict[str, Any] = {}
    for key in keys:
        if isinstance(key, tuple):
            inner = record.get(key[0])
            if isinstance(inner, dict) and key[1] in inner:
                out[f"{key[0]}.{key[1]}"] = inner[key[1]]
        elif key in record:
            out[key] = record[key]
    return out


def _array(values: list[Any], data_type: str) -> pa.Array:
    """The fast path: raises when a value is not of the declared type (coercion.py then takes over)."""
    if data_type == "timestamp":
        return pc.cast(pa.array(values, pa.string()), TIMESTAMP)
    if data_type == "bigint" and any(isinstance(v, float) for v in values):
        raise TypeError("floats in a bigint column are converted value by value")
    return pa.array(values, ARROW_TYPES[data_type])


def _typed_array(values: list[Any], data_type: str) -> pa.Array:
    """Values already converted by coercion.py (timestamps as datetimes)."""
    return pa.array(values, ARROW_TYPES[data_type])


def _respelled(array: pa.Array, strings: pa.Array) -> int:
    """How many timestamps parsed but were not in the contract's spelling (counted as converted)."""
    canonical = pc.sum(pc.match_substring_regex(strings, CANONICAL_TS)).as_py() or 0
    return len(array) - array.null_count - canonical


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
