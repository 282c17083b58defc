"""The one `main` of the project's generated files (docs/tables.md, docs/configuration.md,
transforms/models/sources.yml): write the file from its contract, or with `--check` exit 1 when it differs.

Each generator keeps its own `render()`; how a generated file is written and checked is one idea, kept here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def generated_file_main(
    argv: list[str] | None, *, description: str, path: Path, render: Callable[[], str], module: str, source: str
) -> int:
    """Write `path` from `render()` (exit 0), or with `--check` exit 1 naming the command when it differs."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {path.name} differs instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current == text:
        return 0
    if args.check:
        print(f"{path} differs from {source}: run `python -m {module}`")
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
