"""Which fields the contract does not know are personal data, and how the user classifies them.

On routes that carry people (settings.PEOPLE_TABLES) an unknown field is personal until classified: category
`unclassified`, the strictest action of the policy in force. Elsewhere it is personal only when its values
look like it (pii.suspect_category: emails, phones, profile URLs, person-like objects), as `suspected_<c>`.
`[sources.leadpanther.field_classification]` ("table.field" -> a category or `not_personal`) overrides both.
The rules live here once; records.py (columns) and scrub_record (the quarantine) both ask this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings import NOT_PERSONAL, PEOPLE_TABLES, PII_CATALOG, PII_CATEGORIES, TABLE_COLUMNS, UNCLASSIFIED
from .errors import ConfigError
from .pii import PiiPolicy, serialized, suspect_category

CLASSIFY_KEY = "[sources.leadpanther.field_classification]"


def people_table(table: str) -> bool:
    return table in PEOPLE_TABLES


def unknown_field_category(policy: PiiPolicy, table: str, column: str, values: list[Any]) -> str | None:
    """The PII category of a field the contract does not list (None: not personal data)."""
    classified = policy.classification.get(f"{table}.{column}")
    if classified is not None:
        return None if classified == NOT_PERSONAL else classified
    if people_table(table):
        return UNCLASSIFIED
    return suspect_category(values)


def check_classification(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    """`field_classification` as given in config, checked: each key "table.field" of a table this source writes
    and not a field the contract already lists, each value a PII category or `not_personal`."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            f'field_classification must be a table of "table.field" = "<category>", got {type(mapping).__name__}'
        )
    allowed = (*PII_CATEGORIES, NOT_PERSONAL)
    out: dict[str, str] = {}
    for key, value in mapping.items():
        table, dot, column = str(key).partition(".")
        if not dot or not column or table not in TABLE_COLUMNS:
            raise ConfigError(
                f'field_classification key {key!r} is not "table.field" for a table of this source '
                f'({", ".join(TABLE_COLUMNS)}); write it quoted in TOML: "leads.phone_number" = "phone"'
            )
        if column in {name for name, _, _ in TABLE_COLUMNS[table]}:
            where = (
                f"its category is {PII_CATALOG[table][column]!r} in the PII catalog; set its action with pii_policy"
                if column in PII_CATALOG.get(table, {})
                else "it is a documented field, not personal data"
            )
            raise ConfigError(f"field_classification {key!r}: {table}.{column} is not an unknown field ({where})")
        if value not in allowed:
            raise ConfigError(
                f"field_classification {key!r} = {value!r} is not a category; use one of {', '.join(allowed)}"
            )
        out[f"{table}.{column}"] = str(value)
    return out


def classify_hint(table: str, column: str) -> str:
    """The one line the summary prints for an unclassified field."""
    return f'classify it: {CLASSIFY_KEY} "{table}.{column}" = "<{"|".join(PII_CATEGORIES)}>" or "{NOT_PERSONAL}"'


def scrub_record(policy: PiiPolicy, table: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A raw record with its personal values treated by the policy (for the quarantine): catalogued fields
    by their category, others as classification.py decides (unclassified on people routes, suspected by
    value elsewhere); an object or list is treated as one value."""
    catalog = PII_CATALOG.get(table, {})
    out: dict[str, Any] = {}
    for key, value in record.items():
        category = catalog.get(key) or unknown_field_category(policy, table, str(key), [value])
        out[key] = policy.apply_one(category, serialized(value)) if category and value is not None else value
    return out
