"""The overlap gate (helpers/overlap.py): rows a quick run re-reads only because of its lookback get their
analytics again only when something changed inside the lookback. Over HTTP: tests/source/test_overlap_analytics."""

from __future__ import annotations

from datetime import timedelta

from sources.leadpanther.helpers.overlap import PRUNE_EVERY, Edge, EdgeTracker, OverlapGate
from tests.unit.page_source import T0, row

LOOKBACK = timedelta(minutes=10)


def at(minutes: int):
    return T0 + timedelta(minutes=minutes)


ROWS = [row(i) for i in range(100)]  # created = updated = i minutes after T0
EDGE = Edge(at(99), at(99), LOOKBACK)  # the cursor after a scan of ROWS


def test_the_edge_holds_the_rows_within_one_lookback_of_the_cursor() -> None:
    assert [r["id"] for r in ROWS if EDGE.holds(r)] == [f"r{i:04d}" for i in range(89, 100)]
    old_but_updated = row(5, updated=95)
    assert EDGE.holds(old_but_updated) and not EDGE.holds(row(5, updated=70))
    assert not EDGE.holds({"id": "x", "created_at": "garbage"}) and not EDGE.holds("not a record")


def test_beyond_is_new_or_changed_since_the_cursor_or_unreadable() -> None:
    assert not EDGE.beyond(row(99)) and not EDGE.beyond(row(90))
    assert EDGE.beyond(row(100)) and EDGE.beyond(row(50, updated=100))
    assert EDGE.beyond({"id": "x", "created_at": None}) and EDGE.beyond("not a record")
    assert Edge(None, None, LOOKBACK).beyond(row(1))


def test_the_digest_changes_with_any_held_row_and_not_with_others() -> None:
    digest = EDGE.digest(ROWS)
    assert digest.startswith("11:") and digest == EDGE.digest(list(reversed(ROWS)))
    assert EDGE.digest(ROWS[:-1]) != digest  # a row of the edge gone
    changed = [*ROWS[:-1], row(99, updated=99) | {"updated_at": ROWS[-1]["updated_at"].replace("Z", ".5Z")}]
    assert EDGE.digest(changed) != digest  # a row of the edge updated
    assert EDGE.digest([row(0, updated=1), *ROWS[1:]]) == digest  # an old row changed outside the edge


def test_nothing_changed_inside_the_lookback_holds_every_reread_row_back() -> None:
    gate = OverlapGate(EDGE.digest(ROWS), EDGE)
    reread = ROWS[85:]  # a quick scan from created_floor 89 - a few
    due = gate.split(reread)
    assert [r["id"] for r in due] == [f"r{i:04d}" for i in range(85, 89)]  # outside the edge: not held
    assert gate.release() == []


def test_a_row_committed_late_inside_the_lookback_releases_every_held_row() -> None:
    gate = OverlapGate(EDGE.digest(ROWS), EDGE)
    late = row(500, created=95, updated=95)  # an older timestamp, committed after the last run
    due = gate.split([*ROWS[89:], late])
    assert due == []
    assert {r["id"] for r in gate.release()} == {*(f"r{i:04d}" for i in range(89, 100)), "r0500"}


def test_new_rows_beyond_the_cursor_are_due_at_once() -> None:
    gate = OverlapGate(EDGE.digest(ROWS), EDGE)
    due = gate.split([*ROWS[89:], row(120)])
    assert [r["id"] for r in due] == ["r0120"] and gate.release() == []


def test_no_digest_stored_releases_the_held_rows() -> None:
    gate = OverlapGate("", EDGE)
    gate.split(ROWS[89:])
    assert len(gate.release()) == 11


def test_tracker_digest_equals_the_edge_of_what_it_saw_and_stays_bounded() -> None:
    tracker = EdgeTracker(LOOKBACK)
    many = [row(i) for i in range(3 * PRUNE_EVERY)]
    for start in range(0, len(many), 100):
        tracker.add(many[start : start + 100])
    tracker.add([{"id": "no-stamp"}, "not a record"])
    newest = at(len(many) - 1)
    assert tracker.created_max == tracker.updated_max == newest
    assert tracker.digest(newest, newest) == Edge(newest, newest, LOOKBACK).digest(many)
    assert len(tracker.rows) < PRUNE_EVERY + 100  # pruned to the rows that can still reach the edge
    # a stored cursor later than what this scan saw: the edge for the later maxima
    later = at(len(many) + 5)
    assert tracker.digest(later, later) == Edge(later, later, LOOKBACK).digest(many)
