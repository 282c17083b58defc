"""The order test files are handed to xdist's workers: heaviest first, by the seconds each took last time.

`--dist loadfile` keeps a file on one worker; a heavy file that starts last leaves the other workers idle at the
end of the run. xdist's own order (most tests first, `--loadscope-reorder`) says little about time here: a file
of ten unit tests takes milliseconds, one end-to-end test tens of seconds. `make test` passes
`--no-loadscope-reorder`, so the workers take files in the order this module gives the collection.

`pytest --record-file-durations` (any selection; the figures of files not run are kept) writes each file's total
seconds (set-up, call and tear-down of its tests) to tests/file_durations.json. A file not listed there (new)
goes first, as if heaviest.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

DURATIONS = Path(__file__).with_name("file_durations.json")


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def load() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(DURATIONS.read_text()).items()}
    except FileNotFoundError:
        return {}


def heaviest_first(items: list[pytest.Item]) -> None:
    """Sorts in place, stable: the tests of one file keep their order (their module fixtures assume it)."""
    seconds = load()
    items.sort(key=lambda item: -seconds.get(file_of(item.nodeid), math.inf))


class Recorder:
    """Sums report durations per file on the controller (where every worker's reports arrive)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[file_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        merged = load() | {f: round(s, 1) for f, s in self.seconds.items()}
        DURATIONS.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
