"""The DuckDB file published for dashboards (pipelines/publish.py): a reader holding it never blocks a load,
and always sees one whole publication."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.leadpanther_pipeline import duckdb_file, make_pipeline, run_sync
from pipelines.publish import PUBLICATION_TABLE, check_dashboards_path, publish_dashboards
from sources.leadpanther.helpers.errors import ConfigError

READER = Path(__file__).with_name("held_reader.py")
MODELS = "leadpanther_models"


def _fresh_publication(path: Path) -> tuple[str, dict[str, int]]:
    """The publication a new dashboard connection sees (a new in-memory instance: DuckDB caches instances by
    path within a process)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{path}' AS p (READ_ONLY)")
        rows = con.execute(
            f"SELECT publication_id, table_name, row_count FROM p.{MODELS}.{PUBLICATION_TABLE}"
        ).fetchall()
        for _, table, count in rows:
            assert con.execute(f"SELECT count(*) FROM p.{table}").fetchall()[0][0] == count
        ids = {r[0] for r in rows}
        assert len(ids) == 1
        return ids.pop(), {t: n for _, t, n in rows}
    finally:
        con.close()


def test_a_held_reader_never_blocks_two_runs_and_sees_whole_publications(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DESTINATION__DUCKDB__DASHBOARDS__PUBLISH_RAW", "true")
    with run_emulator(EmulatorConfig(seed=18, preset="tiny")) as emu:
        pipeline = make_pipeline(
            "duckdb",
            "leadpanther",
            duckdb_path=tmp_path / "lp.duckdb",
            pipelines_dir=tmp_path / "pipes",
            pipeline_name="dash",
        )
        options = {"api_key": emu.keys["full"], "base_url": emu.base_url, "backoff_s": 0.01, "lock_wait_s": 120}
        # The publication the reader holds first: raw tables only (a load without models, published
        # directly), so the test builds the models only in the runs it is about (two: the held snapshot
        # outlives two publications, and new connections see them in order).
        seed = run_sync(pipeline, transform=False, **options)
        assert seed.exit_code == 0 and seed.publication is None, seed.summary_lines()
        published = tmp_path / "lp_dashboards.duckdb"
        assert publish_dashboards(duckdb_file(pipeline), "leadpanther", "seed").path == published
        first_id, first_tables = _fresh_publication(published)
        assert first_id == "seed" and "leadpanther.posts" in first_tables
        assert not any(t.startswith("leadpanther._dlt_") for t in first_tables)

        stop = tmp_path / "stop"
        reader = subprocess.Popen(
            [sys.executable, str(READER), str(published), MODELS, str(stop)], stdout=subprocess.PIPE, text=True
        )
        assert reader.stdout is not None and reader.stdout.readline().strip() == "holding"
        run_ids, timings = [first_id], []
        try:
            for _ in range(2):
                said: list[str] = []
                started = time.monotonic()
                result = run_sync(pipeline, progress=said.append, verbose=True, **options)
                timings.append(time.monotonic() - started)
                assert result.exit_code == 0, result.summary_lines()
                assert not [line for line in said if "locked" in line or "waiting" in line], said
                run_ids.append(result.log.run_id)
                assert result.publication.path == published and str(published) in "\n".join(result.summary_lines())
                fresh_id, tables = _fresh_publication(published)  # a new connection sees the new publication
                assert fresh_id == result.log.run_id
                assert {f"{MODELS}.fct_lead_funnel", f"{MODELS}.pii_columns", "leadpanther.posts"} <= set(tables)
        finally:
            stop.touch()
            out, _ = reader.communicate(timeout=60)
        assert reader.returncode == 0
        seen = [json.loads(line) for line in out.splitlines()]
        held = [s for s in seen if s["conn"] == "held"]
        fresh = [s for s in seen if s["conn"] == "fresh"]
        assert held and fresh and all(s["ok"] for s in seen), [s for s in seen if not s["ok"]][:3]
        assert {s["id"] for s in held} == {first_id}  # the held connection keeps its snapshot throughout
        order = [run_ids.index(s["id"]) for s in fresh]  # new connections: only whole publications, in run order
        assert order == sorted(order) and order[-1] == 2
    print(
        f"\nheld-reader runs: {', '.join(f'{t:.1f} s' for t in timings)}; reader observations: "
        f"{len(held)} held, {len(fresh)} fresh, publications seen fresh: {sorted(set(order))}"
    )


def test_dashboards_file_names_that_cannot_work_are_refused(tmp_path: Path, monkeypatch) -> None:
    main = tmp_path / "lp.duckdb"
    assert check_dashboards_path(main, "leadpanther") == tmp_path / "lp_dashboards.duckdb"
    monkeypatch.setenv("DESTINATION__DUCKDB__DASHBOARDS__FILE", "leadpanther_models.duckdb")
    with pytest.raises(ConfigError, match="named like the schema"):
        check_dashboards_path(main, "leadpanther")
    monkeypatch.setenv("DESTINATION__DUCKDB__DASHBOARDS__FILE", str(main))
    with pytest.raises(ConfigError, match="loader's own file"):
        check_dashboards_path(main, "leadpanther")
    monkeypatch.setenv("DESTINATION__DUCKDB__DASHBOARDS__FILE", "dash/bi.duckdb")
    assert check_dashboards_path(main, "leadpanther") == tmp_path / "dash" / "bi.duckdb"
    monkeypatch.setenv("DESTINATION__DUCKDB__DASHBOARDS__PUBLISH", "false")
    assert check_dashboards_path(main, "leadpanther") is None
