"""Data tests run after the models are built. Each is a query counting failing rows (0 = pass).

- not_null and unique on every model's key (the ``-- Key:`` header; a trailing ``?`` means the column is
  part of the key's uniqueness but may be NULL),
- every fact/aggregate row's client is in dim_clients,
- every ``*_rate`` column of a mart lies in [0, 1],
- funnel stages never increase where a stage is a subset of the one before (see DECISIONLOG.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transforms.sql import Model

FUNNEL_STAGE_PAIRS = {
    "fct_lead_funnel": [
        ("comments", "keyword_matches"),
        ("leads", "leads_from_comments"),
        ("leads", "leads_with_email"),
    ],
    "fct_post_engagement": [
        ("comments", "keyword_matched_comments"),
        ("leads_attributed", "leads_with_email"),
        ("leads_attributed", "leads_from_comments"),
        ("commenters", "commenters_converted"),
    ],
}
CLIENT_DIM = "dim_clients"


@dataclass(frozen=True)
class DataTest:
    name: str
    model: str
    sql: str  # DuckDB dialect, model names unqualified; returns one row: the failing count


def build_tests(models: Mapping[str, Model], columns: Mapping[str, list[str]]) -> list[DataTest]:
    tests: list[DataTest] = []
    for name, m in models.items():
        keys = [k.rstrip("?") for k in m.key]
        required = [k for k in m.key if not k.endswith("?")]
        if required:
            cond = " or ".join(f"{k} is null" for k in required)
            tests.append(DataTest(f"not_null({name}: {', '.join(required)})", name,
                                  f"select count(*) from {name} where {cond}"))
        cols = ", ".join(keys)
        tests.append(DataTest(
            f"unique({name}: {cols})", name,
            f"select count(*) from (select {cols} from {name} group by {cols} having count(*) > 1) as dup",
        ))
        if m.layer == "marts" and name != CLIENT_DIM and "client_id" in columns.get(name, []):
            tests.append(DataTest(
                f"relationship({name}.client_id -> {CLIENT_DIM})", name,
                f"select count(*) from {name} as f where not exists "
                f"(select 1 from {CLIENT_DIM} as d where d.client_id = f.client_id)",
            ))
        if m.layer == "marts":
            for col in columns.get(name, []):
                if col.endswith("_rate"):
                    tests.append(DataTest(
                        f"rate_in_0_1({name}.{col})", name,
                        f"select count(*) from {name} where {col} < 0 or {col} > 1",
                    ))
        for upper, lower in FUNNEL_STAGE_PAIRS.get(name, []):
            tests.append(DataTest(
                f"funnel_not_increasing({name}: {upper} >= {lower})", name,
                f"select count(*) from {name} where {lower} > {upper}",
            ))
    return tests
