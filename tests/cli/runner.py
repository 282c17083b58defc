"""Run `leadpanther-elt` as a user runs it, configuration from env vars only: `cli` in a child process (the
console script: its exit code, signals, README's commands, and what the process as a whole prints), and
`cli_here` in this process (`pipelines.cli.main`), for tests where a child proves nothing more and would only
import dlt, dbt and pyarrow again (~4 s a call)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent / "leadpanther-elt"
# What a child gets from this process's env: everything but the connector's and destinations' settings.
OWN_SETTINGS = ("SOURCES__", "DESTINATION__")


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The CLI with this process's env minus any connector/destination settings, plus `env`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
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
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
    full_env.update(env or {})
    proc = subprocess.Popen([str(BIN), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
    assert proc.stderr is not None
    try:
        seen = read_until(proc.stderr, marker)
    finally:
        then()
    stdout, rest = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, seen + rest)


def cli_here(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`pipelines.cli.main(args)` in this process, seen as `cli` sees the child: the same env (this process's
    minus the connector's settings, plus `env`), working folder, stdout and stderr (WARNING log records
    included, as the child's logging.basicConfig prints them), the exit code (argparse's SystemExit too).
    dlt's run context is reloaded so `.dlt/` is read from DLT_PROJECT_DIR or `cwd`, as in a new process;
    the env, the folder and the context are restored afterwards."""
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    from pipelines.cli import main

    out, err = io.StringIO(), io.StringIO()
    context = Container()[PluggableRunContext]
    with _isolated_environ(env), _working_dir(cwd), _warnings_to(err):
        cookie = context.push_context()
        try:
            context.reload()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(list(args))
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        finally:
            context.pop_context(cookie)
    return subprocess.CompletedProcess(["leadpanther-elt", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _isolated_environ(env: dict[str, str] | None) -> Iterator[None]:
    """os.environ as a child of `cli` would have it; afterwards exactly as before (the CLI and dlt's dbt
    runner set variables of their own: DLT_PROJECT_DIR, DLT__CREDENTIALS__*)."""
    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith(OWN_SETTINGS)]:
        del os.environ[name]
    os.environ.update(env or {})
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


@contextlib.contextmanager
def _working_dir(cwd: Path | None) -> Iterator[None]:
    before = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _warnings_to(stream: io.StringIO) -> Iterator[None]:
    """The CLI's logging.basicConfig is a no-op under pytest (the root logger has handlers): add the handler
    it would have added in a fresh process, on `stream`."""
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


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
