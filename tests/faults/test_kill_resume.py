"""A sync process killed (SIGKILL) at points of extract, normalize and load, then re-run: equal to truth.

The sync runs in a subprocess (tests/faults/kill_driver.py) against an emulator served from this process; the
test watches the emulator's request count and the dlt pipeline folder and kills the process when the
chosen point is reached. It asserts the kill really happened at that point, then re-runs in-process.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadpanther_emulator import EmulatorConfig, Faults, run_emulator
from pipelines.leadpanther_pipeline import make_pipeline
from tests.truth import LIST_TABLES, assert_matches_truth, sync

DRIVER = Path(__file__).with_name("kill_driver.py")
ROOT = DRIVER.parent.parent.parent
NAME = "lp_kill"


def _requests_at_least(n: int) -> Callable[[Any, Path], bool]:
    return lambda emu, work: emu.request_counts().get("total", 0) >= n


def _path_exists(pattern: str) -> Callable[[Any, Path], bool]:
    return lambda emu, work: bool(glob.glob(str(work / "pipelines" / NAME / pattern)))


# (point id, condition to kill at). dlt's folders: normalize/extracted/<load_id> = extracted, not yet
# normalized; load/new/<id> = being normalized; load/normalized/<id>/{started,completed}_jobs = loading;
# load/loaded/<id> = loaded (the pipeline then marks deletions).
KILL_POINTS: dict[str, Callable[[Any, Path], bool]] = {
    "extract_first_requests": _requests_at_least(3),
    "extract_midway": _requests_at_least(45),
    "normalize_pending": _path_exists("normalize/extracted/*/*"),
    "normalize_running": _path_exists("load/new/*/*"),
    "load_jobs_started": _path_exists("load/normalized/*/started_jobs/*"),
    "load_jobs_completed": _path_exists("load/normalized/*/completed_jobs/*"),
    "after_load": _path_exists("load/loaded/*"),
}


def _kill_at(emu: Any, work: Path, condition: Callable[[Any, Path], bool]) -> bool:
    """Start the driver; SIGKILL it when `condition` holds. True when it was killed (not finished first)."""
    spec = {
        "base_url": emu.base_url,
        "api_key": emu.keys["full"],
        "duckdb_path": str(work / "kill.duckdb"),
        "pipelines_dir": str(work / "pipelines"),
        "name": NAME,
    }
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false")
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), json.dumps(spec)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if condition(emu, work):
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return True
            time.sleep(0.001)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _pipeline(work: Path) -> Any:
    return make_pipeline(
        "duckdb", "leadpanther", duckdb_path=work / "kill.duckdb", pipelines_dir=work / "pipelines", pipeline_name=NAME
    )


# Enough rows that normalize and load take a while (so each point can be hit), a little latency for extract.
CONFIG = {"seed": 3, "preset": "demo", "leads_per_client": 700, "activity_per_client": 700}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_first_run_then_rerun_equals_truth(tmp_path: Path, point: str) -> None:
    with run_emulator(EmulatorConfig(**CONFIG, faults=Faults(latency_ms=2))) as emu:
        killed = _kill_at(emu, tmp_path, KILL_POINTS[point])
        assert killed, f"the run finished before reaching {point}; the kill point was not exercised"
        result = sync(_pipeline(tmp_path), emu, resumes_a_killed_load=True)
        assert result.error is None, result.error
        assert_matches_truth(_pipeline(tmp_path), emu)


@pytest.mark.parametrize("point", ["load_jobs_started"])
def test_killed_incremental_run_then_rerun_equals_truth(tmp_path: Path, point: str) -> None:
    """A first run succeeds, rows change upstream, the next run is killed; the one after ends equal to truth
    (its cursors did not move past rows it never loaded)."""
    with run_emulator(EmulatorConfig(**CONFIG, faults=Faults(latency_ms=2))) as emu:
        assert sync(_pipeline(tmp_path), emu).error is None
        for client_id in emu.client_ids("active"):
            for table in LIST_TABLES:
                emu.insert(table, client_id, 30)
        emu.reset_request_log()
        condition = _requests_at_least(8) if point == "extract_midway" else KILL_POINTS[point]
        assert _kill_at(emu, tmp_path, condition), f"the run finished before reaching {point}"
        result = sync(_pipeline(tmp_path), emu, resumes_a_killed_load=True)
        assert result.error is None, result.error
        assert_matches_truth(_pipeline(tmp_path), emu)
