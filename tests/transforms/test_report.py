"""The HTML report renders its charts in headless Chromium, from a file, with no server."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from conftest import load_raw, small_raw

from transforms import run_transforms
from transforms.report import write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def render_dom(path, tmp_path) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", path.resolve().as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def assert_report_renders(path, tmp_path) -> None:
    text = path.read_text()
    assert not re.search(r"""(src|href)=["']https?://""", text), "report must not fetch anything"
    dom = render_dom(path, tmp_path)
    charts = int(re.search(r'data-charts="(\d+)"', dom).group(1))
    drawn = int(re.search(r'data-charts-rendered="(\d+)"', dom).group(1))
    assert charts >= 2 and drawn == charts, (charts, drawn)


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path):
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    import dlt

    p = dlt.pipeline("tf_report", destination=dlt.destinations.duckdb(str(tmp_path / "r.duckdb")),
                     dataset_name="report_raw", pipelines_dir=str(tmp_path / "pipes"))
    load_raw(p, small_raw())
    run_transforms(p)
    path = write_report(p, tmp_path / "out" / "report.html")
    assert_report_renders(path, tmp_path)
