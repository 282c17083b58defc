"""Two runs of one pipeline never overlap: dlt's folder of a pipeline (its state and load packages) is held by
one run at a time, whatever the destination, so a run into another DuckDB file (or a warehouse) started in
the same project folder cannot normalize or load the other's extracted rows."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.errors import DestinationLockedError
from pipelines.factory import make_pipeline
from pipelines.run import run_sync
from pipelines.run_lock import pipeline_run_lock


def test_a_second_run_of_one_pipeline_is_refused_or_queues_then_loads(tmp_path: Path) -> None:
    db = tmp_path / "second.duckdb"
    pipeline = make_pipeline("duckdb", duckdb_path=db, pipelines_dir=tmp_path / "pipes", pipeline_name="lp_lock")
    folder = Path(pipeline.working_dir)
    with run_emulator(EmulatorConfig(seed=5, preset="tiny")) as emu:
        options = {"api_key": emu.keys["full"], "base_url": emu.base_url, "transform": False, "backoff_s": 0.01}
        with pipeline_run_lock(folder, "the first run", wait_s=0):
            refused = run_sync(pipeline, lock_wait_s=0, **options)
        assert refused.exit_code == 4 and isinstance(refused.error, DestinationLockedError)
        message = str(refused.error)
        assert "pipeline folder" in message and "the first run" in message and "Nothing of this run" in message
        assert not db.exists() or not duckdb.connect(str(db), read_only=True).execute(
            "select count(*) from information_schema.tables where table_schema = 'leadpanther'"
        ).fetchone()[0]

        # Queued: the run waits for the folder, says so, and loads once the holder is done.
        holding, release, said = threading.Event(), threading.Event(), []

        def first_run() -> None:
            with pipeline_run_lock(folder, "the first run", wait_s=0):
                holding.set()
                release.wait(60)

        holder = threading.Thread(target=first_run)
        holder.start()
        assert holding.wait(10)

        def progress(line: str) -> None:
            said.append(line)
            if "waiting up to" in line:
                release.set()

        queued = run_sync(pipeline, lock_wait_s=60, progress=progress, **options)
        holder.join(10)
        assert queued.exit_code == 0, queued.error
        assert any(f"is using {folder}" in line for line in said), said
        with duckdb.connect(str(db), read_only=True) as con:
            posts = con.execute("select count(*) from leadpanther.posts").fetchone()[0]
        assert posts == sum(len(emu.truth("posts", c)) for c in emu.client_ids("active")) > 0
