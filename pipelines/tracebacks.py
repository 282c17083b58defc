"""Where an unexpected exception's traceback goes: a file the one-line message points to.

A scheduled run's log should carry one line a person can act on, not forty lines of frames; the frames are
still needed to report a bug, so they are written to data/logs/ (the system temp folder when that is not
writable) and `-v` prints them as well.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path


def traceback_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def save_traceback(error: BaseException, folder: Path) -> Path:
    """Write `error`'s full traceback (with its causes) to a new file under `folder`; return its path."""
    name = f"leadpanther-elt-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.txt"
    text = traceback_text(error)
    for where in (folder, Path(tempfile.gettempdir())):
        try:
            where.mkdir(parents=True, exist_ok=True)
            path = where / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    raise OSError("no writable folder for the traceback")


def one_line(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:limit]}" if text else type(error).__name__
