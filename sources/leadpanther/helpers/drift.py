"""What the API sent that the contract did not say, counted per table and field for one run.

Why one object per run: a run's many scans (threads) build tables of the same raw table, so the type an
unknown field got on its first page must hold for every later page of the run (and of later runs: the types
already in the dlt schema are seeded first), or dlt would see one column with two types. The counts become
the summary's drift lines and the rows of `_lp_drift`, so drift is never silent.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from ..settings import DEFAULT_SCHEMA_CONTRACT, DRIFT_COLUMNS, SCHEMA_CONTRACT_MODES, UNCLASSIFIED
from .arrow_types import ARROW_TYPES
from .classification import classify_hint
from .errors import ConfigError


class SchemaFrozenError(Exception):
    """`schema_contract = "freeze"` and the API sent a field that would be a new column. Deliberately not a
    LeadPantherError, so no route-level handler swallows it: it stops the extract before anything is written,
    and the pipeline reports it as a configuration error (exit 2) through `contract_error`."""

    def __init__(self, table: str, column: str) -> None:
        self.table, self.column = table, column
        super().__init__(
            f"schema_contract is 'freeze' and the API sent a new field: table {table!r}, column {column!r}. "
            f'Nothing of this run was loaded. To accept it set [sources.leadpanther] schema_contract = "evolve" '
            f"(or discard_value / discard_row to drop it)"
        )


def check_schema_contract(value: Any) -> str:
    mode = DEFAULT_SCHEMA_CONTRACT if value is None else value
    if mode not in SCHEMA_CONTRACT_MODES:
        raise ConfigError(f"schema_contract = {value!r} is not one of {', '.join(SCHEMA_CONTRACT_MODES)}")
    return str(mode)


def contract_error(exc: BaseException) -> ConfigError | None:
    """A schema contract refusal (ours, or dlt's DataValidationError) anywhere in an exception chain, as the
    configuration error it is (exit 2): the message names table and column, never a value."""
    from dlt.common.schema.exceptions import DataValidationError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, SchemaFrozenError):
            error = ConfigError(str(current))
            error.__cause__ = current
            return error
        if isinstance(current, DataValidationError):
            error = ConfigError(
                f"schema_contract refused a change: {current.schema_entity} of table {current.table_name!r}, "
                f"column {current.column_name!r} ({current.contract_mode}). Nothing of this run was loaded"
            )
            error.__cause__ = current
            return error
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return None


@dataclass
class FieldDrift:
    records: int = 0
    category: str | None = None
    action: str | None = None


@dataclass
class DriftLog:
    """Counts per (table, field, kind) and the established type of each new field; thread-safe."""

    contract: str = DEFAULT_SCHEMA_CONTRACT
    counts: dict[tuple[str, str, str], FieldDrift] = field(default_factory=dict)
    types: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(
        self, table: str, column: str, kind: str, n: int, category: str | None = None, action: str | None = None
    ) -> None:
        if n <= 0:
            return
        with self._lock:
            entry = self.counts.setdefault((table, column, kind), FieldDrift())
            entry.records += n
            if category is not None:
                entry.category, entry.action = category, action

    def type_of(self, table: str, column: str, inferred: str) -> str:
        """The type this run (or an earlier one) gave the column; the first answer holds."""
        with self._lock:
            return self.types.setdefault((table, column), inferred)

    def seed_types(self, table: str, columns: Mapping[str, Mapping[str, Any]]) -> None:
        """Column types already in the dlt schema (earlier runs): new values are converted to them."""
        with self._lock:
            for name, column in columns.items():
                if column.get("data_type"):
                    self.types.setdefault((table, name), str(column["data_type"]))

    def by_kind(self, kind: str) -> dict[tuple[str, str], FieldDrift]:
        with self._lock:
            return {(t, c): d for (t, c, k), d in sorted(self.counts.items()) if k == kind}

    def summary_lines(self) -> list[str]:
        """Counts per table.field and kind, then one line per unclassified personal field on how to classify."""
        lines: list[str] = []
        labels = {
            "new_field": "new fields (not in the contract)",
            "converted": "values converted to the declared type",
            "quarantined": "values that could not be converted (NULL in their record, kept in _lp_quarantine)",
            "variant": "values whose type changed (loaded to a __v_json column)",
            "absent": "documented fields absent from every record of a page",
            "discarded": f"values or records dropped by schema_contract {self.contract!r}",
        }
        for kind, label in labels.items():
            found = self.by_kind(kind)
            if found:
                parts = ", ".join(f"{t}.{c} {d.records:,}" for (t, c), d in found.items())
                lines.append(f"  drift: {label}: {parts}")
        for (table, column), entry in self.by_kind("new_field").items():
            if entry.category == UNCLASSIFIED:
                lines.append(
                    f"  UNCLASSIFIED PERSONAL DATA: {table}.{column} (new field on a route that carries people, "
                    f"{_treated(entry.action)}); {classify_hint(table, column)}"
                )
        return lines

    def table(self, run_id: str, synced_at: datetime) -> pa.Table | None:
        """The `_lp_drift` rows of the run (None when nothing drifted)."""
        with self._lock:
            items = sorted(self.counts.items())
        if not items:
            return None
        values: dict[str, list[Any]] = {name: [] for name, _ in DRIFT_COLUMNS}
        for (table, column, kind), entry in items:
            row = {
                "run_id": run_id,
                "synced_at": synced_at,
                "table_name": table,
                "field_name": column,
                "kind": kind,
                "records": entry.records,
                "category": entry.category,
                "action": entry.action,
            }
            for name in values:
                values[name].append(row[name])
        return pa.table({name: pa.array(values[name], ARROW_TYPES[t]) for name, t in DRIFT_COLUMNS})


def seed_drift_types(drift: DriftLog, table: str) -> None:
    """Seed the run's column types from the dlt schema as it stands (earlier runs' new columns). Called in a
    resource's generator, where dlt.current.source_schema() is the schema being extracted."""
    import dlt

    try:
        schema = dlt.current.source_schema()
    except Exception:  # noqa: BLE001 - outside an extract (a resource iterated by hand): nothing to seed
        return
    if table in schema.tables:
        drift.seed_types(table, schema.get_table_columns(table))


def _treated(action: str | None) -> str:
    return {"hash": "hashed", "redact": "redacted"}.get(action or "keep", "loaded as is under the keep policy")
