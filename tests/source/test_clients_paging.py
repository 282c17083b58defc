"""GET /clients is paged like every list route, drift safety included: clients added while the list is read
(newest-first, so every later row shifts) are neither skipped nor read twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from sources.leadpanther.helpers import client as client_module
from tests.truth import diff_against_truth, sync


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_clients_added_mid_list_are_read_once_and_none_is_skipped(
    tmp_path: Path, make_duckdb_pipeline, monkeypatch, order: str
) -> None:
    with run_emulator(EmulatorConfig(seed=48, preset="tiny", clients=230, order=order)) as emu:
        before = set(emu.client_ids())
        real_get = client_module.LeadPantherClient.get
        pages: list[int] = []

        def get_and_add_clients_after_the_first_page(self, path, params=None, **kwargs):
            response = real_get(self, path, params, **kwargs)
            if path == "/clients":
                pages.append((params or {}).get("offset", 0))
                if len(pages) == 1:
                    for _ in range(3):
                        emu.add_client()
            return response

        monkeypatch.setattr(client_module.LeadPantherClient, "get", get_and_add_clients_after_the_first_page)
        pipeline = make_duckdb_pipeline()
        result = sync(pipeline, emu, resources=["clients"])
        assert result.exit_code == 0, result.summary_lines()
        assert len(pages) >= 3
        from tests.truth import loaded_rows

        loaded = [r["client_id"] for r in loaded_rows(pipeline, "clients")]
        listed = next(s for s in result.log.statuses if s.resource == "clients")
        assert listed.rows == len(set(loaded)) == len(loaded), "a client was read twice"
        assert before <= set(loaded), "a client present for the whole read was skipped"
        # The next run reads the new clients too, and then equals the truth.
        monkeypatch.setattr(client_module.LeadPantherClient, "get", real_get)
        sync(pipeline, emu, resources=["clients"])
        assert not diff_against_truth(pipeline, emu, "clients", emu.client_ids("active"))
