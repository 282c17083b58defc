"""The planner (helpers/planning.py): which scan a client-route gets this run and what its cursor says after.
README's "How incremental loading works" in cases; over HTTP, tests/source/test_load_and_incremental.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sources.leadpanther.helpers.pages import NEWEST_FIRST, OLDEST_FIRST, UNKNOWN, UNORDERED, ScanOutcome
from sources.leadpanther.helpers.planning import IncrementalRules, ScanPlanner
from tests.unit.page_source import T0

LOOKBACK = timedelta(hours=1)
NOW = T0 + timedelta(days=10)


def planner(mode: str = "auto", every: int = 24, max_age: timedelta = timedelta(hours=24)) -> ScanPlanner:
    return ScanPlanner(IncrementalRules(mode, every, max_age, LOOKBACK, page_size=50), NOW)


def cursor(**over) -> dict:
    base = {
        "created_max": (NOW - timedelta(hours=2)).isoformat(),
        "updated_max": (NOW - timedelta(hours=1)).isoformat(),
        "order": NEWEST_FIRST,
        "last_full_at": (NOW - timedelta(hours=3)).isoformat(),
        "runs_since_full": 2,
    }
    return base | over


@pytest.mark.parametrize("previous", [None, {}])
def test_no_cursor_is_an_initial_full_load(previous) -> None:
    plan = planner().plan("leads", "c1", previous)
    assert plan.run_mode == "initial" and plan.spec.path == "/clients/c1/leads"
    assert plan.spec.created_floor is None and plan.spec.updated_floor is None and not plan.spec.early_stop


def test_quick_newest_first_stops_early_one_lookback_before_the_cursor() -> None:
    plan = planner().plan("leads", "c1", cursor())
    assert plan.run_mode == "quick" and plan.spec.early_stop
    assert plan.spec.created_floor == NOW - timedelta(hours=2) - LOOKBACK
    assert plan.spec.updated_floor == NOW - timedelta(hours=1) - LOOKBACK


def test_activity_is_read_by_created_at_only() -> None:
    plan = planner().plan("activity", "c1", cursor())
    assert plan.run_mode == "quick" and plan.spec.updated_floor is None and plan.spec.created_floor is not None


@pytest.mark.parametrize("order", [UNORDERED, UNKNOWN])
def test_quick_without_a_known_order_is_a_filtered_full_scan(order: str) -> None:
    plan = planner().plan("posts", "c1", cursor(order=order))
    assert plan.run_mode == "quick" and not plan.spec.early_stop and not plan.spec.from_tail
    assert plan.spec.created_floor is not None


@pytest.mark.parametrize(
    ("mode", "over", "expected"),
    [
        ("reconcile", {}, "reconcile"),
        ("quick", {"runs_since_full": 10_000, "last_full_at": None}, "quick"),  # quick never reconciles
        ("auto", {"runs_since_full": 23}, "reconcile"),  # the 24th run since the last full one
        ("auto", {"runs_since_full": 22}, "quick"),
        ("auto", {"last_full_at": (NOW - timedelta(hours=24)).isoformat()}, "reconcile"),  # too old
        ("auto", {"last_full_at": None}, "reconcile"),
        ("auto", {"last_full_at": "not a time"}, "reconcile"),
    ],
)
def test_when_a_reconciliation_is_due(mode: str, over: dict, expected: str) -> None:
    assert planner(mode).plan("leads", "c1", cursor(**over)).run_mode == expected


def test_a_cursor_without_readable_maxima_loads_from_the_start() -> None:
    plan = planner().plan("leads", "c1", cursor(created_max=None, updated_max="garbage"))
    assert plan.run_mode == "initial"


def test_analytics_routes_get_the_window_floor_and_a_days_first_run_its_young_floor() -> None:
    changed = planner().plan("posts", "c1", cursor(), analytics="changed")
    assert changed.spec.window_floor == NOW - timedelta(days=30) and changed.spec.young_floor is None
    window = planner().plan("posts", "c1", cursor(), analytics="window")
    assert window.spec.young_floor == window.spec.window_floor == NOW - timedelta(days=30)


def test_oldest_first_quick_run_starts_at_the_stored_tail() -> None:
    plan = planner().plan("leads", "c1", cursor(order=OLDEST_FIRST, end_offset=120, tail_ids=["a", "b"]))
    assert plan.spec.start_offset == 120 and plan.spec.start_ids == ("a", "b") and not plan.spec.early_stop


@pytest.mark.parametrize(
    "tail",
    [
        {},
        {"end_offset": 0, "tail_ids": ["a"]},
        {"end_offset": 5, "tail_ids": []},
        {"end_offset": "5", "tail_ids": ["a"]},
    ],
)
def test_oldest_first_without_a_usable_tail_is_a_filtered_full_scan(tail: dict) -> None:
    plan = planner().plan("leads", "c1", cursor(order=OLDEST_FIRST, **tail))
    assert plan.run_mode == "quick" and plan.spec.start_offset == 0 and not plan.spec.from_tail


def test_oldest_first_window_refresh_starts_before_the_window() -> None:
    tail = {"order": OLDEST_FIRST, "end_offset": 120, "tail_ids": ["a", "b"]}
    inside = planner().plan("posts", "c1", cursor(**tail, window_offset=40), analytics="window")
    assert inside.spec.start_offset == 40 and inside.spec.start_older_than == inside.spec.window_floor
    assert inside.spec.start_ids == ()
    # nothing in the window but what comes after the tail: start at the tail
    late = planner().plan("posts", "c1", cursor(**tail, window_offset=119), analytics="window")
    assert late.spec.start_offset == 120 and late.spec.start_ids == ("a", "b")


def test_advance_after_a_full_scan_resets_the_run_count_and_keeps_the_later_maxima() -> None:
    p = planner()
    outcome = ScanOutcome(order=NEWEST_FIRST, created_max=NOW - timedelta(hours=5), updated_max=NOW)
    after = p.advance(cursor(), outcome, "reconcile")
    assert after["created_max"] == cursor()["created_max"]  # the stored one is later
    assert after["updated_max"] == NOW.isoformat()
    assert after["last_full_at"] == NOW.isoformat() and after["runs_since_full"] == 0
    assert "end_offset" not in after and "tail_ids" not in after  # only oldest-first routes keep a tail


def test_advance_after_a_quick_scan_counts_the_run_and_keeps_a_known_order() -> None:
    after = planner().advance(cursor(), ScanOutcome(order=UNKNOWN), "quick")
    assert after["runs_since_full"] == 3 and after["order"] == NEWEST_FIRST
    assert after["last_full_at"] == cursor()["last_full_at"]
    first = planner().advance(None, ScanOutcome(order=UNKNOWN), "initial")
    assert first == {
        "created_max": None,
        "updated_max": None,
        "order": UNKNOWN,
        "last_full_at": NOW.isoformat(),
        "runs_since_full": 0,
    }


def test_advance_of_an_oldest_first_route_keeps_its_tail_and_window() -> None:
    p = planner()
    outcome = ScanOutcome(order=OLDEST_FIRST, end_offset=130, tail_ids=("y", "z"), window_offset=41)
    after = p.advance(cursor(), outcome, "quick")
    assert (after["end_offset"], after["tail_ids"], after["window_offset"]) == (130, ["y", "z"], 41)
    # an early stop or a fallback saw no end: the previous tail and window stay
    kept = p.advance(after, ScanOutcome(order=OLDEST_FIRST), "quick")
    assert (kept["end_offset"], kept["tail_ids"], kept["window_offset"]) == (130, ["y", "z"], 41)
    # the order changed: no tail kept (two row ids per cursor are much of the state at scale)
    gone = p.advance(after, ScanOutcome(order=UNORDERED), "quick")
    assert "end_offset" not in gone and "window_offset" not in gone
