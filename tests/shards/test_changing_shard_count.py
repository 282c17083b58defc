"""Changing N: clients that stay in their shard keep their cursors, clients that move start with a full scan
in their new shard, and no shard's post-load steps touch another shard's clients."""

from __future__ import annotations

from pathlib import Path

import duckdb

from leadpanther_emulator import EmulatorConfig, run_emulator
from pipelines.leadpanther_pipeline import make_pipeline
from sources.leadpanther.helpers.shards import Shard
from tests.truth import LIST_TABLES, diff_against_truth, sync

RESOURCES = ["clients", *LIST_TABLES]


def shard_sync(tmp_path: Path, emu, shard: str, **kwargs):
    return sync(shard_pipeline(tmp_path, shard), emu, shard=shard, resources=RESOURCES, **kwargs)


def shard_pipeline(tmp_path: Path, shard: str):
    return make_pipeline(
        "duckdb", "leadpanther", duckdb_path=tmp_path / "shards.duckdb", pipelines_dir=tmp_path / "p", shard=shard
    )


def cursors(pipeline, route: str = "posts") -> dict:
    return pipeline.state["sources"]["leadpanther"]["resources"][route]["clients"]


def run_modes(db: Path, shard: str) -> dict[str, set[str]]:
    """client -> run modes of its posts scan in the last run of a shard (clients it read, not those without a grant)."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT client_id, run_mode FROM leadpanther.sync_runs "
            "WHERE resource = 'posts' AND shard = ? AND status = 'ok' "
            "AND synced_at = (SELECT max(synced_at) FROM leadpanther.sync_runs WHERE shard = ?)",
            [shard, shard],
        ).fetchall()
    out: dict[str, set[str]] = {}
    for client_id, mode in rows:
        out.setdefault(client_id, set()).add(mode)
    return out


def test_growing_from_three_to_four_shards(tmp_path: Path) -> None:
    db = tmp_path / "shards.duckdb"
    with run_emulator(EmulatorConfig(seed=44, preset="tiny", clients=30)) as emu:
        active = emu.client_ids("active")
        for k in (1, 2, 3):
            assert shard_sync(tmp_path, emu, f"{k}/3").exit_code == 0
        moved = [c for c in active if Shard(4, 4).owns(c)]
        stayed = [c for c in active if not Shard(4, 4).owns(c)]
        assert moved and stayed
        gone = emu.delete("activity", moved[0], 3)  # only a full scan can see these go
        for k in (1, 2, 3, 4):
            result = shard_sync(tmp_path, emu, f"{k}/4", mode="auto")
            assert result.exit_code == 0, result.summary_lines()
        # Clients that stayed ran quick scans from their cursors; moved clients a first full scan.
        for k in (1, 2, 3):
            modes = run_modes(db, f"{k}/4")
            assert modes and all(m == {"quick"} for c, m in modes.items() if c in stayed), modes
            # The old shard no longer holds the moved clients' cursors.
            state = cursors(shard_pipeline(tmp_path, f"{k}/4"))
            assert not set(state) & set(moved) and set(state) <= set(stayed)
        modes = run_modes(db, "4/4")
        assert set(modes) == set(moved) and all(m == {"initial"} for m in modes.values())
        assert set(cursors(shard_pipeline(tmp_path, "4/4"))) == set(moved)
        # The moved client's full scan in its new shard marked what vanished, and nothing else.
        with duckdb.connect(str(db), read_only=True) as con:
            marked = con.execute("SELECT id FROM leadpanther.activity WHERE _lp_deleted_at IS NOT NULL").fetchall()
        assert sorted(r[0] for r in marked) == sorted(gone)
        pipeline = shard_pipeline(tmp_path, "1/4")
        problems = [p for t in RESOURCES for p in diff_against_truth(pipeline, emu, t, active)]
        assert not problems, "\n".join(problems)


def test_a_shard_never_marks_rows_of_another_shards_clients(tmp_path: Path) -> None:
    """Shard 2 has recorded a full scan of one of its clients whose rows have not landed yet (its load is
    still running, or was killed between sync_runs and the merge). Shard 1 running now must leave them be."""
    db = tmp_path / "shards.duckdb"
    with run_emulator(EmulatorConfig(seed=45, preset="tiny", clients=12)) as emu:
        for k in (1, 2):
            assert shard_sync(tmp_path, emu, f"{k}/2").exit_code == 0
        other = next(c for c in emu.client_ids("active") if Shard(2, 2).owns(c))
        with duckdb.connect(str(db)) as con:
            con.execute(
                "INSERT INTO leadpanther.sync_runs (run_id, synced_at, client_id, resource, run_mode, started_at, "
                "status, rows, pages, requests, retries, quarantined, shard, _dlt_load_id, _dlt_id) "
                "SELECT 'shard2inflight', now() + INTERVAL 1 HOUR, client_id, resource, 'reconcile', now(), 'ok', "
                "0, 0, 0, 0, 0, '2/2', 'x', md5(random()::VARCHAR) "
                "FROM leadpanther.sync_runs WHERE client_id = ? AND resource = 'posts' LIMIT 1",
                [other],
            )
        result = shard_sync(tmp_path, emu, "1/2", mode="reconcile")
        assert result.exit_code == 0 and not any(result.deleted_marked.values()), result.deleted_marked
        with duckdb.connect(str(db), read_only=True) as con:
            marked = con.execute(
                "SELECT count(*) FROM leadpanther.posts WHERE client_id = ? AND _lp_deleted_at IS NOT NULL", [other]
            ).fetchall()[0][0]
        assert marked == 0
