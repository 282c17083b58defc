"""Offset paging (helpers/pages.py) on an in-memory route: every row once while rows are inserted or deleted
before the scan's position, order detected from the data, early stop and tail reads with their fallbacks,
broken envelopes retried then refused. Over HTTP the same scans run in tests/source and tests/emulator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sources.leadpanther.helpers.errors import BadResponseError, OffsetDriftError
from sources.leadpanther.helpers.pages import (
    MAX_RESTARTS,
    NEWEST_FIRST,
    OLDEST_FIRST,
    UNKNOWN,
    UNORDERED,
    OrderTracker,
    Scan,
    ScanSpec,
    _anchor,
    identity,
    since_floors,
)
from sources.leadpanther.settings import PAGE_OVERLAP
from tests.unit.page_source import T0, PageSource, row


def spec(page_size: int = 10, **over: Any) -> ScanSpec:
    return ScanSpec("leads", "/clients/c1/leads", "c1", page_size, early_stop=over.pop("early_stop", False), **over)


def scan(source: PageSource, scan_spec: ScanSpec) -> tuple[list[str], list[str], Scan]:
    """(ids emitted, ids handed out as young, the scan) after iterating it to the end."""
    s = Scan(source, scan_spec)  # type: ignore[arg-type]
    emitted: list[str] = []
    young: list[str] = []
    for batch in s:
        emitted += [r["id"] for r in batch.emit]
        young += [r["id"] for r in batch.young]
    return emitted, young, s


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11, 29, 30, 31])
@pytest.mark.parametrize("page_size", [1, 2, 3, 10, 100])
def test_full_scan_reads_every_row_once_with_the_overlap(n: int, page_size: int) -> None:
    """Pages of 1 or 2 rows too (page_size accepts 1..100): the re-read overlap shrinks so the scan advances."""
    rows = [row(i) for i in range(n)]
    emitted, young, s = scan(PageSource(rows), spec(page_size))
    assert emitted == ids(rows) and young == []
    assert s.outcome.rows_read == s.outcome.rows_emitted == n
    assert s.outcome.restarts == s.outcome.drift_events == 0
    assert s.outcome.end_offset == n and s.outcome.tail_ids == tuple(ids(rows)[-min(PAGE_OVERLAP, page_size) :])


def test_each_page_after_the_first_rereads_the_overlap() -> None:
    source = PageSource([row(i) for i in range(25)])
    scan(source, spec(10))
    assert source.asked == [(0, 10), (10 - PAGE_OVERLAP, 10), (18 - PAGE_OVERLAP, 10)]


@pytest.mark.parametrize(
    ("created", "order"),
    [
        ([5, 4, 4, 3, 1], NEWEST_FIRST),
        ([1, 2, 2, 3, 9], OLDEST_FIRST),
        ([1, 3, 2], UNORDERED),
        ([4, 4, 4], UNKNOWN),  # no change along the sequence: nothing to tell
        ([], UNKNOWN),
    ],
)
def test_order_is_detected_from_the_data(created: list[int], order: str) -> None:
    rows = [row(i, created=c) for i, c in enumerate(created)]
    _, _, s = scan(PageSource(rows), spec(2 + PAGE_OVERLAP))
    assert s.outcome.order == order


def test_order_tracker_ignores_unreadable_stamps() -> None:
    tracker = OrderTracker()
    for value in (T0, None, T0 - timedelta(1), None):
        tracker.feed(value)
    assert tracker.order == NEWEST_FIRST and tracker.changes == 1


def _mutate_once(at_offset: int, change: Any) -> Any:
    done = []

    def hook(source: PageSource, offset: int) -> None:
        if offset == at_offset and not done:
            done.append(True)
            change(source)

    return hook


def test_rows_inserted_before_the_position_shift_the_page_and_lose_nothing() -> None:
    rows = [row(i) for i in range(30)]
    new = [row(100 + i) for i in range(3)]

    def insert_at_head(source: PageSource) -> None:
        source.rows[0:0] = new

    source = PageSource(rows, before_page=_mutate_once(10 - PAGE_OVERLAP, insert_at_head))
    emitted, _, s = scan(source, spec(10))
    assert sorted(emitted) == sorted(ids(rows)) and len(emitted) == len(set(emitted))
    assert s.outcome.drift_events == 1 and s.outcome.restarts == 0  # the anchor was found further down the page


def test_rows_deleted_before_the_position_step_back_to_the_anchor() -> None:
    rows = [row(i) for i in range(30)]

    def delete_head(source: PageSource) -> None:
        del source.rows[0:5]

    source = PageSource(rows, before_page=_mutate_once(10 - PAGE_OVERLAP, delete_head))
    emitted, _, s = scan(source, spec(10))
    assert sorted(emitted) == sorted(ids(rows)) and len(emitted) == len(set(emitted))
    assert s.outcome.drift_events == 1 and s.outcome.restarts == 0
    assert (0, 10) in source.asked[2:]  # stepped back towards the head to find the anchor


def test_anchor_gone_restarts_from_zero_without_duplicates() -> None:
    rows = [row(i) for i in range(30)]

    def delete_the_anchor(source: PageSource) -> None:
        source.rows = [r for r in source.rows if r["id"] not in ("r0008", "r0009")]

    source = PageSource(rows, before_page=_mutate_once(10 - PAGE_OVERLAP, delete_the_anchor))
    emitted, _, s = scan(source, spec(10))
    assert len(emitted) == len(set(emitted))
    assert set(emitted) == set(ids(rows))  # r0008/9 were emitted before they were deleted
    assert s.outcome.restarts == 1


def test_rows_that_keep_shifting_give_up_after_max_restarts_with_a_request_id() -> None:
    def delete_what_was_just_read(source: PageSource, offset: int) -> None:
        if offset > 0:  # every second page: the rows the scan would anchor on are gone
            del source.rows[offset : offset + PAGE_OVERLAP]
            del source.rows[0 : PAGE_OVERLAP + 8]

    source = PageSource([row(i) for i in range(400)], before_page=delete_what_was_just_read)
    with pytest.raises(OffsetDriftError) as err:
        scan(source, spec(10))
    assert f"after {MAX_RESTARTS} restarts" in str(err.value)
    assert err.value.request_id and err.value.request_id.startswith("req_")


@pytest.mark.parametrize(
    "broken",
    [
        {"data": {"items": []}, "pagination": {"has_more": False}},
        {"data": [], "pagination": {"has_more": True}},  # an empty page that claims more would end early
        {"data": []},
        {"data": [], "pagination": {"has_more": "no"}},
    ],
)
def test_a_broken_envelope_is_retried_then_refused(broken: dict[str, Any]) -> None:
    rows = [row(i) for i in range(5)]
    emitted, _, s = scan(PageSource(rows, envelopes={0: broken}), spec(10))
    assert emitted == ids(rows) and s.outcome.stats.retries == 1

    always = PageSource(rows, envelopes=dict.fromkeys(range(10), broken))
    with pytest.raises(BadResponseError) as err:
        scan(always, spec(10))
    assert "documented envelope" in str(err.value) and err.value.request_id == "req_000000000000000000000002"


def test_early_stop_reads_newest_first_down_to_the_cursor_only() -> None:
    rows = [row(i, created=100 - i) for i in range(100)]  # newest first
    floor = T0 + timedelta(minutes=80)
    source = PageSource(rows)
    emitted, _, s = scan(source, spec(10, early_stop=True, created_floor=floor))
    assert emitted == [r["id"] for r in rows if r["created_at"] >= "2026-01-01T01:20"]
    assert len(source.asked) == 3 and s.outcome.scan == "early_stop"
    assert s.outcome.end_offset is None  # an early stop never claims where the route ends


def test_early_stop_on_data_not_newest_first_falls_back_to_a_full_filtered_scan() -> None:
    rows = [row(i, created=100 - i) for i in range(100)]
    rows[5], rows[50] = rows[50], rows[5]  # an old row served early: the order is not newest-first
    floor = T0 + timedelta(minutes=80)
    emitted, _, s = scan(PageSource(rows), spec(10, early_stop=True, created_floor=floor))
    assert sorted(emitted) == sorted(r["id"] for r in rows if r["created_at"] >= "2026-01-01T01:20")
    assert s.outcome.scan == "full" and s.outcome.restarts == 1 and s.outcome.order == UNORDERED


def test_updated_floor_selects_old_rows_changed_since() -> None:
    rows = [row(i, created=i, updated=500 if i == 3 else i) for i in range(20)]
    emitted, _, _ = scan(
        PageSource(rows),
        spec(10, created_floor=T0 + timedelta(minutes=18), updated_floor=T0 + timedelta(minutes=400)),
    )
    assert emitted == ["r0003", "r0018", "r0019"]


def test_young_rows_are_handed_out_though_not_emitted() -> None:
    rows = [row(i) for i in range(20)]
    emitted, young, _ = scan(
        PageSource(rows),
        spec(10, created_floor=T0 + timedelta(minutes=18), young_floor=T0 + timedelta(minutes=15)),
    )
    assert emitted == ["r0018", "r0019"] and young == ["r0015", "r0016", "r0017"]


def test_tail_read_of_an_oldest_first_route_reads_only_what_was_appended() -> None:
    rows = [row(i) for i in range(40)]
    tail = ("r0038", "r0039")
    grown = rows + [row(40 + i) for i in range(5)]
    source = PageSource(grown)
    emitted, _, s = scan(source, spec(10, start_offset=40, start_ids=tail, created_floor=T0))
    assert emitted == [f"r{i:04d}" for i in range(40, 45)]
    assert source.asked[0] == (40 - len(tail), 10) and s.outcome.scan == "tail" and s.outcome.fallbacks == 0
    assert s.outcome.end_offset == 45 and s.outcome.tail_ids == ("r0043", "r0044")


def test_tail_read_finding_other_rows_falls_back_to_a_full_scan() -> None:
    rows = [row(i) for i in range(40)]
    del rows[3]  # a deletion before the tail: the rows at the stored offset are not the ones seen last
    rows.append(row(40))
    emitted, _, s = scan(PageSource(rows), spec(10, start_offset=40, start_ids=("r0038", "r0039"), created_floor=T0))
    assert sorted(emitted) == sorted(ids(rows)) and s.outcome.fallbacks == 1 and s.outcome.scan == "full"


def test_tail_read_from_the_window_checks_the_row_there_is_old_enough() -> None:
    rows = [row(i) for i in range(40)]
    window = T0 + timedelta(minutes=30)
    ok_emitted, ok_young, ok = scan(
        PageSource(rows),
        spec(
            10,
            start_offset=29,
            start_older_than=window,
            created_floor=T0 + timedelta(minutes=39),
            young_floor=window,
            window_floor=window,
        ),
    )
    assert ok.outcome.fallbacks == 0 and ok_emitted == ["r0039"]
    assert set(ok_young) == {f"r{i:04d}" for i in range(30, 39)}
    _, _, moved = scan(  # the row at the window offset is already inside the window: start over
        PageSource(rows),
        spec(
            10,
            start_offset=31,
            start_older_than=window,
            created_floor=T0 + timedelta(minutes=39),
            young_floor=window,
            window_floor=window,
        ),
    )
    assert moved.outcome.fallbacks == 1


def test_full_pass_notes_where_the_analytics_window_starts() -> None:
    rows = [row(i) for i in range(40)]
    _, _, s = scan(PageSource(rows), spec(10, window_floor=T0 + timedelta(minutes=25)))
    assert s.outcome.window_offset == 24


@pytest.mark.parametrize(
    ("created", "updated", "created_floor", "updated_floor", "unreadable", "selected"),
    [
        (10, 10, 5, None, False, True),
        (5, 5, 5, None, False, True),  # at the floor counts
        (4, 4, 5, None, False, False),
        (4, 9, 5, 8, False, True),  # old but updated since
        (4, 7, 5, 8, False, False),
        (None, 9, 5, None, True, True),  # the scan emits an unreadable stamp (to quarantine it)
        (None, 9, 5, None, False, False),  # the edge never holds one
        (4, None, 5, 8, True, True),
        (4, None, 5, 8, False, False),
        (4, 9, None, None, False, False),  # no floors select nothing by themselves
    ],
)
def test_since_floors(created, updated, created_floor, updated_floor, unreadable, selected) -> None:
    def at(m: int | None):
        return None if m is None else T0 + timedelta(minutes=m)

    record = {"updated_at": None if updated is None else row(0, updated=updated)["updated_at"]}
    assert since_floors(record, at(created), at(created_floor), at(updated_floor), unreadable=unreadable) is selected


def test_identity_of_records_without_an_id_is_their_whole_content() -> None:
    a, b = {"email": "a@x.io", "n": 1}, {"email": "a@x.io", "n": 2}
    assert identity(a) != identity(b) and identity(a) == identity(dict(reversed(a.items())))
    assert identity({"id": "x"}) == "x" and identity({"id": 5}).startswith("raw:")
    assert identity({"user_id": "u1"}, "user_id") == "u1" and identity(["not", "a", "dict"]).startswith("raw:")


def test_anchor_is_the_latest_tail_row_still_present() -> None:
    assert _anchor(["a", "b", "c", "d"], ["b", "c"]) == 2
    assert _anchor(["a", "b", "d"], ["b", "c"]) == 1
    assert _anchor(["x", "y"], ["b", "c"]) is None
