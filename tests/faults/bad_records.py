"""Bad API records for property-based tests: a valid record per list table and hypothesis strategies that
break it (wrong types, missing and null fields, unknown fields, huge strings, any unicode) or its page's
envelope. Used by the full-pipeline property (tests/faults/test_bad_input.py, over HTTP into DuckDB) and by
the record-building one (tests/unit/test_record_building.py, in memory, many more examples)."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import strategies as st


def examples(ci: int) -> int:
    """Examples per property: `ci` in CI, LP_FAULT_EXAMPLES when set (the soak: `make soak`)."""
    return int(os.environ.get("LP_FAULT_EXAMPLES") or ci)


def base_record(table: str, i: int) -> dict[str, Any]:
    ts = f"2025-03-{1 + i % 28:02d}T10:00:{i % 60:02d}.{i % 1000:03d}Z"
    rec: dict[str, Any] = {"id": f"00000000-0000-4000-8000-{i:012d}", "created_at": ts, "updated_at": ts}
    if table == "posts":
        rec |= {
            "text": f"post {i}",
            "status": "draft",
            "scheduled_at": None,
            "published_at": None,
            "theme_id": None,
            "template_id": None,
            "images": [],
            "document_url": None,
            "document_type": None,
            "notes": None,
            "followups": [],
            "linkedin_url": None,
        }
    elif table == "leads":
        rec |= {
            "lead_magnet_id": None,
            "post_id": None,
            "full_name": f"Lead {i}",
            "email": f"l{i}@x.io",
            "linkedin_profile_url": None,
            "headline": "h",
            "company": "c",
            "source": "comments",
        }
    else:
        rec.pop("updated_at")
        rec |= {
            "source": "comments",
            "post_id": None,
            "lead_magnet_id": None,
            "author_name": f"A {i}",
            "author_platform_id": f"p{i}",
            "content": "hi",
            "keyword_matched": False,
        }
    return rec


json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
# Unknown field names that dlt's snake_case naming leaves as they are. Names that normalize onto another
# column ("Text" -> "text", "a b" + "a_b") crash the run today: see test_unknown_field_name_collision below.
unknown_name = st.from_regex(r"\Ax_[a-z0-9]{1,10}\Z")
huge = st.builds(
    lambda c, n: c * n, st.sampled_from(["x", "é", "漢", "🦊", "\x00", '\\"']), st.integers(20_000, 120_000)
)
mutation = st.one_of(
    st.tuples(
        st.just("wrong_type"),
        st.sampled_from(
            ["id", "created_at", "updated_at", "text", "status", "email", "keyword_matched", "images", "full_name"]
        ),
        json_value,
    ),
    st.tuples(st.just("missing"), st.sampled_from(["id", "created_at", "updated_at", "status", "source"]), st.none()),
    st.tuples(st.just("null"), st.sampled_from(["id", "created_at", "source", "text"]), st.none()),
    st.tuples(st.just("unknown"), unknown_name, json_value),
    st.tuples(st.just("huge"), st.sampled_from(["text", "notes", "headline", "content", "brand_new"]), huge),
    st.tuples(st.just("unicode"), st.sampled_from(["text", "full_name", "content", "id"]), st.text(max_size=40)),
)
page_strategy = st.lists(st.lists(mutation, max_size=3), min_size=1, max_size=8)
envelope_strategy = st.sampled_from(["ok"] * 8 + ["data_not_list", "no_pagination", "not_object"])


def apply_mutations(record: dict[str, Any], mutations: list[tuple[str, str, Any]]) -> dict[str, Any]:
    out = dict(record)
    for kind, name, value in mutations:
        if kind == "missing":
            out.pop(name, None)
        else:
            out[name] = value
    return out
