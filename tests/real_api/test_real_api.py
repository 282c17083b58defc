"""Runs against the real LeadPanther API only when LEADPANTHER_REAL_API_KEY is set (never in CI)."""

from __future__ import annotations

import os

import pytest

from tests.truth import loaded_rows

REAL_KEY = os.environ.get("LEADPANTHER_REAL_API_KEY")
pytestmark = [
    pytest.mark.real_api,
    pytest.mark.skipif(not REAL_KEY, reason="set LEADPANTHER_REAL_API_KEY to run against the real API"),
]


def test_real_api_loads_clients_and_lists(make_duckdb_pipeline) -> None:
    from pipelines.leadpanther_pipeline import run_sync

    pipeline = make_duckdb_pipeline("real")
    result = run_sync(pipeline, api_key=REAL_KEY, transform=False, mode="reconcile")
    assert result.error is None, result.summary_lines()
    assert loaded_rows(pipeline, "clients")
