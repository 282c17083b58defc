"""README's exit-code table is `ExitCode`: every code listed once, none that the CLI does not return."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.exit_codes import ExitCode

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_exit_codes() -> list[int]:
    text = README.read_text(encoding="utf-8")
    section = re.split(r"^#+ Exit codes\n", text, maxsplit=1, flags=re.MULTILINE)[1]
    section = re.split(r"^#+ ", section, maxsplit=1, flags=re.MULTILINE)[0]
    return [int(code) for code in re.findall(r"^\| `(\d+)` \|", section, flags=re.MULTILINE)]


def test_readme_lists_every_exit_code_once() -> None:
    assert readme_exit_codes() == [int(code) for code in ExitCode]
