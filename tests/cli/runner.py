"""Run `leadpanther-elt` as a user runs it: a subprocess, configuration from env vars only."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent / "leadpanther-elt"


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The CLI with this process's env minus any connector/destination settings, plus `env`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    full_env.update(env or {})
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, check=False
    )


def cli_until(
    marker: str, *args: str, then: Callable[[], None], env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The CLI as `cli`, calling `then()` as soon as its stderr shows `marker` (or it exits): for tests that
    change the world at a known point of a run (release a lock the run is waiting on) however slow the
    machine is, instead of guessing a delay."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    full_env.update(env or {})
    proc = subprocess.Popen([str(BIN), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
    assert proc.stderr is not None
    try:
        seen = read_until(proc.stderr, marker)
    finally:
        then()
    stdout, rest = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, seen + rest)


def read_until(lines: Iterable[str], marker: str) -> str:
    """A running process's output up to the first line that holds `marker` (all of it, if it exits first)."""
    seen = []
    for line in lines:
        seen.append(line)
        if marker in line:
            break
    return "".join(seen)


def api_env(emu: Any, key: str = "full") -> dict[str, str]:
    return {
        "SOURCES__LEADPANTHER__API_KEY": emu.keys.get(key, key),
        "SOURCES__LEADPANTHER__BASE_URL": emu.base_url,
        "SOURCES__LEADPANTHER__BACKOFF_S": "0.01",
    }


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in output(result), output(result)
