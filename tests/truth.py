"""Compare what a pipeline loaded with the emulator's ground truth, row for row and field for field.

Independent of the source's own conversion code: flattening here follows docs/tables.md directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import dlt

LIST_TABLES = ("posts", "lead_magnets", "leads", "activity")
ALL_TABLES = ("clients", *LIST_TABLES, "post_engagement", "lead_magnet_analytics")
# Flattened columns per table (docs/tables.md) -> path in the API record.
NESTED = {
    "clients": {"grant__id": ("grant", "id"), "grant__status": ("grant", "status"), "grant__label": ("grant", "label")},
    "lead_magnets": {"hosted_page__title": ("hosted_page", "title"), "hosted_page__status": ("hosted_page", "status")},
}
JSON_COLUMNS = {"images", "followups", "linked_posts", "grant__permissions"}
IGNORED = {"_lp_synced_at", "_lp_deleted_at", "_dlt_load_id", "_dlt_id"}


def _norm(value: Any) -> Any:
    """A comparable form: instants as epoch seconds (any ISO 8601 spelling), figures sent as strings ("2743",
    "12.0") as numbers, since the connector converts what converts without loss."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            if len(value) >= 19 and value[4] == "-" and value[10] == "T":
                parsed = datetime.fromisoformat(value)
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
        except ValueError:
            return value
        try:
            number = float(value)
        except ValueError:
            return value
        return number if number == number else value
    return value


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def loaded_rows(pipeline: dlt.Pipeline, table: str, include_deleted: bool = False) -> list[dict[str, Any]]:
    """Rows of a loaded table (not deleted upstream unless asked); a table never created reads as empty."""
    columns: dict[str, Any] = {}
    for schema in pipeline.schemas.values():
        if table in schema.tables:
            columns = schema.get_table_columns(table)
    if not columns:
        return []
    with pipeline.sql_client() as sql:
        if not sql.has_dataset():
            return []
        qualified = sql.make_qualified_table_name(table)
        where = "" if include_deleted or "_lp_deleted_at" not in columns else " WHERE _lp_deleted_at IS NULL"
        with sql.execute_query(f"SELECT * FROM {qualified}{where}") as cursor:
            names = [d[0].lower() for d in cursor.description]  # Snowflake reports them folded to upper case
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def expected_record(table: str, record: dict[str, Any], client_id: str | None) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if not isinstance(v, dict)}
    for column, (outer, inner) in NESTED.get(table, {}).items():
        out[column] = (record.get(outer) or {}).get(inner)
    if table == "clients":
        out["client_id"] = record["user_id"]
        out["grant__permissions"] = (record.get("grant") or {}).get("permissions")
    else:
        out["client_id"] = client_id
    return out


def key_of(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    if table == "clients":
        return (row["client_id"],)
    if table == "post_engagement":
        return (row["client_id"], row["post_id"])
    if table == "lead_magnet_analytics":
        return (row["client_id"], row["lead_magnet_id"])
    return (row["client_id"], row["id"])


def truth_rows(emu: Any, table: str, client_ids: Iterable[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    if table == "clients":
        records = emu.truth("clients")
        return {key_of(table, r): r for r in (expected_record(table, x, None) for x in records)}
    out = {}
    for client_id in client_ids:
        records = emu.truth(table, client_id)
        if table == "post_engagement":
            # The connector reads engagement only for posts that can have any (published or publishing).
            engaged = {p["id"] for p in emu.truth("posts", client_id) if p["status"] in ("published", "publishing")}
            records = [r for r in records if r["post_id"] in engaged]
        for record in records:
            row = expected_record(table, record, client_id)
            out[key_of(table, row)] = row
    return out


def diff_against_truth(
    pipeline: dlt.Pipeline, emu: Any, table: str, client_ids: Iterable[str], skip_ids: set[str] | None = None
) -> list[str]:
    """Human-readable differences (empty list = equal): missing, extra, duplicated and changed rows."""
    skip_ids = skip_ids or set()
    expected = {k: v for k, v in truth_rows(emu, table, client_ids).items() if k[-1] not in skip_ids}
    rows = loaded_rows(pipeline, table)
    loaded: dict[tuple[Any, ...], dict[str, Any]] = {}
    problems: list[str] = []
    for row in rows:
        key = key_of(table, row)
        if key in loaded:
            problems.append(f"{table}: duplicate row {key}")
        loaded[key] = row
    for key in expected.keys() - loaded.keys():
        problems.append(f"{table}: missing {key}")
    for key in loaded.keys() - expected.keys():
        problems.append(f"{table}: extra {key}")
    for key in expected.keys() & loaded.keys():
        want, got = expected[key], loaded[key]
        for column, value in want.items():
            if column in IGNORED or column not in got:
                continue
            as_json = column in JSON_COLUMNS or isinstance(value, list)  # lists (ours or new fields) load as JSON
            a = _json(got[column]) if as_json else _norm(got[column])
            b = value if as_json else _norm(value)
            if a != b:
                problems.append(f"{table} {key}: {column} loaded {got[column]!r} != truth {value!r}")
                break
    return problems[:50]


def assert_matches_truth(
    pipeline: dlt.Pipeline, emu: Any, tables: Iterable[str] = ("clients", *LIST_TABLES), **kwargs: Any
) -> None:
    """Every table asked for equals the ground truth of the active clients (all differences in the message)."""
    active = emu.client_ids("active")
    problems: list[str] = []
    for table in tables:
        problems += diff_against_truth(pipeline, emu, table, active, **kwargs)
    assert not problems, "\n".join(problems)


def sync(pipeline: Any, emu: Any, key: str = "full", resumes_a_killed_load: bool = False, **kwargs: Any) -> Any:
    """One run against the emulator with fast retries (tests should not sleep for real back-offs).

    List tables skip dlt's staging dedupe on the extractor's promise of unique keys, so every run is held to
    it: the post-load guard must have had nothing to remove. Except after a kill during a load, where dlt may
    re-run a copy job that had committed and the guard is what heals the table."""
    from pipelines.leadpanther_pipeline import run_sync

    kwargs.setdefault("transform", False)
    kwargs.setdefault("backoff_s", 0.01)
    result = run_sync(pipeline, api_key=emu.keys.get(key, key), base_url=emu.base_url, **kwargs)
    if not resumes_a_killed_load:
        assert not result.duplicates_removed, f"the extractor staged a key twice: {result.duplicates_removed}"
    return result


def truth_snapshot(emu: Any, tables: Iterable[str] = LIST_TABLES) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Ground truth of the active clients now, per table and key (to compare runs while the data moves)."""
    active = emu.client_ids("active")
    return {table: truth_rows(emu, table, active) for table in tables}
