"""The order workers take test files in (tests/file_order.py): heaviest first, unknown files first, and the
tests of one file in their own order."""

from __future__ import annotations

import json
from types import SimpleNamespace

import file_order


def test_heaviest_file_first_unknown_first_and_a_files_tests_keep_their_order(tmp_path, monkeypatch) -> None:
    durations = tmp_path / "file_durations.json"
    durations.write_text(json.dumps({"tests/a.py": 1.0, "tests/b.py": 30.0}))
    monkeypatch.setattr(file_order, "DURATIONS", durations)
    ids = ["tests/a.py::t1", "tests/b.py::t1", "tests/new.py::t1", "tests/a.py::t2", "tests/b.py::t2[x]"]
    items = [SimpleNamespace(nodeid=i) for i in ids]
    file_order.heaviest_first(items)
    assert [i.nodeid for i in items] == [
        "tests/new.py::t1",
        "tests/b.py::t1",
        "tests/b.py::t2[x]",
        "tests/a.py::t1",
        "tests/a.py::t2",
    ]


def test_recorded_seconds_are_summed_per_file_and_merged_with_the_figures_of_files_not_run(
    tmp_path, monkeypatch
) -> None:
    durations = tmp_path / "file_durations.json"
    durations.write_text(json.dumps({"tests/old.py": 5.0, "tests/a.py": 99.0}))
    monkeypatch.setattr(file_order, "DURATIONS", durations)
    recorder = file_order.Recorder()
    for nodeid, seconds in (("tests/a.py::t1", 1.25), ("tests/a.py::t1", 0.5), ("tests/a.py::t2", 2.0)):
        recorder.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, duration=seconds))
    recorder.pytest_sessionfinish()
    assert json.loads(durations.read_text()) == {"tests/a.py": 3.8, "tests/old.py": 5.0}
