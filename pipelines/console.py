"""What the CLI prints: lines to stdout, progress to stderr, a run's summary and the traceback's file.

A scheduled run's log carries one line a person can act on per problem; frames of an unexpected error go to
a file under data/logs/ (`-v` prints them as well).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from .errors import StepFailedError
from .exit_codes import ExitCode
from .paths import logs_dir
from .tracebacks import save_traceback, traceback_text

_PROGRESS_LOCK = threading.Lock()


def say(line: str = "") -> None:
    print(line, flush=True)


def progress(line: str) -> None:
    """Progress comes from several scan threads: one write per line, under a lock, so lines never interleave."""
    with _PROGRESS_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def self_command() -> str:
    """How the user can call this CLI again (the venv's script when run as `make run`)."""
    argv0 = Path(sys.argv[0])
    return str(argv0) if argv0.name == "leadpanther-elt" else "leadpanther-elt"


def report_traceback(error: BaseException, verbose: bool) -> None:
    """The full traceback of an unexpected error goes to a file (and to stderr with -v); one line here."""
    path = save_traceback(error, logs_dir())
    if verbose:
        sys.stderr.write(traceback_text(error))
    say(f"  full traceback: {path}" + ("" if verbose else " (-v prints it)"))


def finish(result: Any, verbose: bool) -> ExitCode:
    """Print a run's summary, the models' summary and the exit reason; return its exit code."""
    for line in result.summary_lines():
        say(line)
    if result.transform is not None:
        say(result.transform.summary())
    if isinstance(result.error, StepFailedError) and result.error.__cause__ is not None:
        report_traceback(result.error.__cause__, verbose)
    say(result.exit_reason())
    return result.exit_code
