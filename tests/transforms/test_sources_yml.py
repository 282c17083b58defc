"""sources.yml is generated from sources/leadpanther/settings.py (the one contract) and never edited by hand."""

from __future__ import annotations

import subprocess
import sys

import yaml

from sources.leadpanther import settings
from transforms import sources_yml


def test_sources_yml_on_disk_is_what_settings_generate():
    assert sources_yml.SOURCES_YML.read_text() == sources_yml.render(), (
        "transforms/models/sources.yml differs from settings.py: run `python -m transforms.sources_yml`"
    )


def test_every_table_column_type_and_pii_tag_comes_from_settings():
    doc = yaml.safe_load(sources_yml.render())
    (source,) = doc["sources"]
    tables = {t["name"]: t for t in source["tables"]}
    assert list(tables) == list(settings.raw_tables())
    for name, columns in settings.raw_tables().items():
        assert {c["name"]: c["data_type"] for c in tables[name]["columns"]} == columns
        tagged = {c["name"]: c["config"]["meta"]["pii"] for c in tables[name]["columns"] if "config" in c}
        assert tagged == {c: cat for c, cat in settings.PII_CATALOG.get(name, {}).items() if c in columns}
        for column in tables[name]["columns"]:
            if column["name"] in tagged:
                assert column["description"].startswith(f"PII (personal data): {tagged[column['name']]}.")


def test_a_change_in_settings_is_caught(monkeypatch):
    monkeypatch.setitem(settings.PII_CATALOG, "leads", {**settings.PII_CATALOG["leads"], "company": "free_text"})
    assert sources_yml.render() != sources_yml.SOURCES_YML.read_text()


def test_check_command_exit_codes(tmp_path, monkeypatch):
    ok = subprocess.run([sys.executable, "-m", "transforms.sources_yml", "--check"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    stale = tmp_path / "sources.yml"
    stale.write_text("version: 2\n")
    monkeypatch.setattr(sources_yml, "SOURCES_YML", stale)
    assert sources_yml.main(["--check"]) == 1
    assert sources_yml.main([]) == 0 and stale.read_text() == sources_yml.render()


def test_run_tables_rows_match_their_contract():
    from dataclasses import fields

    from sources.leadpanther.helpers.records import QuarantinedRecord
    from sources.leadpanther.helpers.sync_log import SyncLog

    log = SyncLog()
    log.start("posts", "c1", "initial")
    table = log.status_table("1234.5")
    assert table.column_names == [c for c, _ in settings.SYNC_RUNS_COLUMNS] + ["_dlt_load_id", "_dlt_id"]
    quarantine = {"run_id", "quarantined_at", *(f.name for f in fields(QuarantinedRecord))}
    assert quarantine == {c for c, _ in settings.QUARANTINE_COLUMNS}
