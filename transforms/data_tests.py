"""Data tests run after the models are built. Each is a query counting failing rows (0 = pass), with a
severity as in dbt:

- ``error``: contracts that make a model wrong when broken: not_null and unique on every model's key (the
  ``-- Key:`` header; a trailing ``?`` means the column is part of the key's uniqueness but may be NULL),
  and every fact/aggregate row's client in dim_clients;
- ``warn``: expectations about upstream data: counts the API reports are not negative, proportions in
  [0, 1] and funnel stages that never increase, the last two only where one count is a true subset of the
  other (see DECISIONLOG.md). A ratio whose numerator is
  not a subset of its denominator (``engagement_rate``: every reaction, comment, repost and click over
  viewable impressions) may exceed 1 and is not bounded.

Every ``*_rate`` column of a mart must be listed in PROPORTIONS or RATIOS (a test enforces it), so a new
rate is classified on purpose rather than bounded by habit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transforms.results import Severity
from transforms.sql import Model

# Subset pairs (upper >= lower) per model: warn when a row breaks one.
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
# Counts taken as the API reports them (analytics snapshots): never negative upstream.
NON_NEGATIVE = {
    "fct_post_engagement": ("impressions", "reactions", "engagement_comments", "reposts", "clicks"),
}
# (model, rate column) -> (numerator, denominator) where the numerator counts a subset of the denominator.
PROPORTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("fct_lead_funnel", "keyword_match_rate"): ("keyword_matches", "comments"),
    ("fct_lead_funnel", "email_capture_rate"): ("leads_with_email", "leads"),
    ("fct_post_engagement", "comment_to_lead_rate"): ("commenters_converted", "commenters"),
}
# Rates that are ratios, not proportions: unbounded above, never tested against 1.
RATIOS: frozenset[tuple[str, str]] = frozenset({("fct_post_engagement", "engagement_rate")})
CLIENT_DIM = "dim_clients"


@dataclass(frozen=True)
class DataTest:
    model: str
    test: str
    severity: Severity
    sql: str  # DuckDB dialect, model names unqualified; returns one row: the failing count
    message: str = ""

    @property
    def name(self) -> str:
        return f"{self.test} on {self.model}"


def build_tests(models: Mapping[str, Model], columns: Mapping[str, list[str]]) -> list[DataTest]:
    tests: list[DataTest] = []
    for name, m in models.items():
        keys = [k.rstrip("?") for k in m.key]
        required = [k for k in m.key if not k.endswith("?")]
        if required:
            cond = " or ".join(f"{k} is null" for k in required)
            tests.append(DataTest(name, f"not_null({', '.join(required)})", "error",
                                  f"select count(*) from {name} where {cond}", "a key column is NULL"))
        cols = ", ".join(keys)
        tests.append(DataTest(
            name, f"unique({cols})", "error",
            f"select count(*) from (select {cols} from {name} group by {cols} having count(*) > 1) as dup",
            "the model's key is not unique",
        ))
        if m.layer == "marts" and name != CLIENT_DIM and "client_id" in columns.get(name, []):
            tests.append(DataTest(
                name, f"relationship(client_id -> {CLIENT_DIM})", "error",
                f"select count(*) from {name} as f where not exists "
                f"(select 1 from {CLIENT_DIM} as d where d.client_id = f.client_id)",
                "rows for a client missing from dim_clients",
            ))
        counts = [c for c in NON_NEGATIVE.get(name, ()) if c in columns.get(name, [])]
        if counts:
            tests.append(DataTest(
                name, f"non_negative({', '.join(counts)})", "warn",
                f"select count(*) from {name} where " + " or ".join(f"{c} < 0" for c in counts),
                "the API reported a negative count",
            ))
        for col in columns.get(name, []):
            numerator_denominator = PROPORTIONS.get((name, col))
            if numerator_denominator:
                numerator, denominator = numerator_denominator
                tests.append(DataTest(
                    name, f"proportion_in_0_1({col})", "warn",
                    f"select count(*) from {name} where {col} < 0 or {col} > 1",
                    f"{numerator} is a subset of {denominator} upstream, yet the share is outside [0, 1]",
                ))
        for upper, lower in FUNNEL_STAGE_PAIRS.get(name, []):
            tests.append(DataTest(
                name, f"funnel_not_increasing({upper} >= {lower})", "warn",
                f"select count(*) from {name} where {lower} > {upper}",
                f"upstream data has more {lower} than {upper}",
            ))
    return tests


def unclassified_rates(models: Mapping[str, Model], columns: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """Mart `*_rate` columns neither in PROPORTIONS nor in RATIOS (should be none)."""
    return [
        (name, col)
        for name, m in models.items()
        if m.layer == "marts"
        for col in columns.get(name, [])
        if col.endswith("_rate") and (name, col) not in PROPORTIONS and (name, col) not in RATIOS
    ]
