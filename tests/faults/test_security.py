"""Secrets and personal data never leak: after runs with failures, the API key appears in no log line,
exception, file of the dlt pipeline folder (packages, state, trace) or destination table; with `hash`,
no catalogued PII value does either."""

from __future__ import annotations

import gzip
import logging
import traceback
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from leadpanther_emulator import EmulatorConfig, Faults, run_emulator
from tests.truth import sync

SALT = "canary-salt-0123456789abcdef"
HASH_ALL = {c: "hash" for c in ("email", "name", "profile_url", "platform_id", "free_text", "authored_text")}


def _texts_of_tree(root: Path) -> list[str]:
    out = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".parquet":
            out.append(str(pq.read_table(path).to_pylist()))
        elif data[:2] == b"\x1f\x8b":
            out.append(gzip.decompress(data).decode("utf-8", "replace"))
        else:
            out.append(data.decode("utf-8", "replace"))
    return out


def _destination_text(pipeline: Any) -> str:
    parts = []
    with pipeline.sql_client() as sql:
        tables = sql.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", pipeline.dataset_name
        )
        for (table,) in tables:
            rows = sql.execute_sql(f"SELECT * FROM {sql.make_qualified_table_name(table)}")
            parts.append(str(rows))
    return "\n".join(parts)


def _everything(pipeline: Any, tmp_path: Path, caplog: Any, capfd: Any, result: Any) -> str:
    out, err = capfd.readouterr()
    blobs = [out, err, caplog.text, _destination_text(pipeline), *_texts_of_tree(tmp_path)]
    if result.error is not None:
        blobs += [str(result.error), repr(result.error), "".join(traceback.format_exception(result.error))]
    blobs += ["\n".join(result.summary_lines())]
    return "\n".join(blobs)


def test_rejected_canary_key_appears_nowhere(make_duckdb_pipeline, tmp_path: Path, caplog, capfd) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "lp_live_CANARY" + "7f3a9c" * 5
    with run_emulator(EmulatorConfig(seed=2, preset="tiny")) as emu:
        pipeline = make_duckdb_pipeline("sec_canary")
        result = sync(pipeline, emu, key=canary, progress=print)
        assert result.error is not None and result.exit_code != 0
        assert canary not in _everything(pipeline, tmp_path, caplog, capfd, result)


def test_valid_key_and_hashed_pii_appear_nowhere_after_failures(
    make_duckdb_pipeline, tmp_path: Path, caplog, capfd
) -> None:
    caplog.set_level(logging.DEBUG)
    faults = Faults(error_rate=0.2, rate_limit_rate=0.05, retry_after_s=0, drop_rate=0.05, bad_record_rate=0.05)
    with run_emulator(EmulatorConfig(seed=4, preset="tiny", faults=faults)) as emu:
        key = emu.keys["full"]
        pipeline = make_duckdb_pipeline("sec_pii")
        # max_retries=1 so some client-routes fail: their errors must be clean too
        result = sync(pipeline, emu, max_retries=1, pii_policy=HASH_ALL, pii_salt=SALT, progress=print)
        assert result.log.partial or result.log.quarantine, "expected failures or quarantined records"
        pii: set[str] = set()
        for client in emu.truth("clients"):
            pii.add(client["full_name"])
        for client_id in emu.client_ids("active"):
            for lead in emu.truth("leads", client_id):
                pii |= {lead.get(f) for f in ("full_name", "email", "linkedin_profile_url")}
            for act in emu.truth("activity", client_id):
                pii |= {act.get(f) for f in ("author_name", "author_platform_id")}
        pii = {p for p in pii if isinstance(p, str) and len(p) >= 6}
        text = _everything(pipeline, tmp_path, caplog, capfd, result)
        assert key not in text
        assert SALT not in text
        leaked = sorted(p for p in pii if p in text)
        assert not leaked, f"{len(leaked)} PII values found, e.g. {leaked[:5]}"
