"""The parent's side of `dbt_child`'s fork server: started on the first dbt command of a process, reused by
the next ones, closed when the process exits (or when it died: a new one is started)."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The server's environment: what Python needs to start, nothing of the caller's configuration or secrets
# (each fork gets the command's whole environment from its request). COVERAGE_PROCESS_CONFIG: set only when the
# tests run under coverage (pyproject's [tool.coverage.run] patch), so the server and its forks are measured too.
SERVER_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "TMPDIR", "VIRTUAL_ENV", "SYSTEMROOT",
    "LEADPANTHER_DBT_WARM_UP", "COVERAGE_PROCESS_CONFIG")  # fmt: skip


class DbtForkServer:
    """One `python -m transforms.dbt_child` per process; one dbt command at a time through it."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def run(self, request: dict[str, Any], env: dict[str, str]) -> int | None:
        """Run one dbt command in a fork with exactly `env`; return its exit code (None: no answer)."""
        with self._lock:
            message = json.dumps({**request, "env": env}) + "\n"
            try:
                server, started = self._send(message)
            except (BrokenPipeError, OSError, ValueError):
                self.close()  # it died since the last command: one more try on a fresh one
                server, started = self._send(message)
            try:
                ended = self._read(server)
            except BaseException:  # interrupted: dbt must not outlive the command that started it
                if started and started.get("pid"):
                    with contextlib.suppress(OSError):
                        os.kill(started["pid"], signal.SIGTERM)
                self.close()
                raise
            if ended is None:
                self.close()
                return None
            return ended["exit_code"]

    def _send(self, message: str) -> tuple[subprocess.Popen[str], dict[str, Any] | None]:
        """The request to the server (started if need be) and its first answer, the fork's pid."""
        server = self._server()
        server.stdin.write(message)
        server.stdin.flush()
        return server, self._read(server)

    def _server(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "transforms.dbt_child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={k: os.environ[k] for k in SERVER_ENV_KEYS if k in os.environ},
                cwd=str(PROJECT_ROOT),
            )
        return self._process

    @staticmethod
    def _read(server: subprocess.Popen[str]) -> dict[str, Any] | None:
        line = server.stdout.readline()
        return json.loads(line) if line else None

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.stdin.close()  # the server's loop ends at end of input
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


SERVER = DbtForkServer()
atexit.register(SERVER.close)
