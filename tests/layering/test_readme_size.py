"""README is for users and stays under 20 KB: the deep topics live in docs/, benchmark method in bench/."""

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_stays_under_20_kb() -> None:
    size = README.stat().st_size
    assert size < 20_000, f"README.md is {size:,} bytes; move detail into docs/"
