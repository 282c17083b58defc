"""The dbt child process (transforms/dbt_child.py, started by runner.run_child from a fork server): it takes
the environment it is given rather than the server's, what dbt prints reaches the parent's stderr, dbt's own
failure comes back as an outcome, and a child that dies before answering is an exit code, not a hang."""

from __future__ import annotations

import json
import os
from pathlib import Path

from transforms.runner import run_child


def _request(tmp_path: Path, args: list[str], project_dir: Path) -> dict:
    return {
        "project_dir": str(project_dir),
        "args": args,
        "outcome_path": str(tmp_path / "outcome.json"),
        "output_path": str(tmp_path / "output.txt"),
    }


def test_a_failed_dbt_command_is_an_outcome_and_its_output_reaches_stderr(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "not_a_project"
    empty.mkdir()
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}
    args = ["parse", "--project-dir", str(empty), "--profiles-dir", str(empty)]
    code = run_child(_request(tmp_path, args, empty), env)
    outcome = json.loads((tmp_path / "outcome.json").read_text())
    assert code == 1 and outcome["success"] is False and outcome["nodes"] == []
    assert "dbt_project.yml" in outcome["exception"]
    assert "dbt_project.yml" in capsys.readouterr().err  # dbt's own message, copied from the child
    assert not (tmp_path / "output.txt").exists()  # the copy is not left behind


def test_the_child_runs_in_the_environment_it_is_given(tmp_path: Path, monkeypatch) -> None:
    """A dbt project whose only model reads an env var: the value is the one passed to run_child, also when
    the fork server started before the parent's environment changed."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: probe\nversion: '1.0'\nprofile: probe\n")
    (project / "models" / "probe.sql").write_text("select '{{ env_var(\"LP_PROBE\") }}' as value\n")
    (project / "profiles.yml").write_text(
        f"probe:\n  target: t\n  outputs:\n    t:\n      type: duckdb\n      path: {tmp_path / 'p.duckdb'}\n"
    )
    run_child(_request(tmp_path, ["parse", "--project-dir", str(project)], project), dict(os.environ))  # server up
    monkeypatch.setenv("LP_PROBE", "from-the-parent-later")
    env = {**os.environ, "LP_PROBE": "given", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    args = ["compile", "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", "t"]
    assert run_child(_request(tmp_path, args, project), env) == 0
    compiled = next((project / "t" / "compiled").rglob("probe.sql")).read_text()
    assert "'given' as value" in compiled


def test_a_child_that_dies_before_answering_is_its_exit_code(tmp_path: Path) -> None:
    request = _request(tmp_path, [], tmp_path)
    del request["args"]  # the child fails before dbt starts
    code = run_child(request, dict(os.environ))
    assert code not in (0, None) and not (tmp_path / "outcome.json").exists()


def test_the_server_holds_none_of_the_callers_secrets(tmp_path: Path, monkeypatch) -> None:
    from transforms.dbt_processes import SERVER

    SERVER.close()
    monkeypatch.setenv("SOURCES__LEADPANTHER__API_KEY", "canary-key-5f1c")
    request = _request(tmp_path, ["--version"], tmp_path)
    assert run_child(request, dict(os.environ)) == 0  # the fork had the key (dbt ignores it)
    server_env = Path(f"/proc/{SERVER._process.pid}/environ").read_bytes()
    assert b"canary-key-5f1c" not in server_env and b"PATH=" in server_env


def test_the_server_warm_up_parses_quietly_and_leaves_the_process_as_it_was(tmp_path: Path) -> None:
    """warm_up runs dbt in the server before its first fork: it prints nothing on the channel (stdout), leaves
    the environment, working folder and threads as they were, and keeps a partial-parse file for later servers."""
    import subprocess
    import sys

    probe = (
        "import os, threading, tempfile\n"
        "from pathlib import Path\n"
        "from transforms.dbt_child import warm_up\n"
        "env, cwd = dict(os.environ), os.getcwd()\n"
        "ok = warm_up()\n"
        "assert dict(os.environ) == env and os.getcwd() == cwd and threading.active_count() == 1\n"
        "shared = Path(tempfile.gettempdir()) / f'leadpanther-dbt-warm-up-{os.getuid()}'\n"
        "print('warm', ok, (shared / 'partial_parse.msgpack').exists())\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    # a full parse (fresh TMPDIR); one from the partial-parse file it kept: the re-executed server's, below
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "warm True True\n", done.stdout
    assert done.stderr == ""


def test_a_server_whose_warm_up_parsed_in_full_serves_a_duckdb_build(tmp_path: Path, monkeypatch) -> None:
    """A fresh machine has no partial-parse file: the warm-up parses in full, which leaves native threads, and
    a fork of that process hung on a lock one of them held (the first suite on a fresh machine never ended).
    The server re-executes itself instead: a DuckDB build through it ends, and the partial-parse file is kept."""
    import threading

    import duckdb

    from transforms.dbt_processes import DbtForkServer

    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the server's temp folder: no partial-parse file in it yet
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: probe\nversion: '1.0'\nprofile: probe\n")
    (project / "models" / "probe.sql").write_text("select 42 as answer\n")
    db = tmp_path / "probe.duckdb"
    profile = f"probe:\n  target: t\n  outputs:\n    t:\n      type: duckdb\n      path: {db}\n"
    (project / "profiles.yml").write_text(profile)
    server, codes = DbtForkServer(), []
    args = ["run", "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", "t"]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}
    worker = threading.Thread(target=lambda: codes.append(server.run(_request(tmp_path, args, project), env)))
    worker.start()
    worker.join(timeout=240)
    try:
        assert not worker.is_alive(), "the dbt command through a freshly warmed server never ended"
        assert codes == [0], (tmp_path / "output.txt").read_text() if (tmp_path / "output.txt").exists() else codes
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("select answer from probe").fetchall() == [(42,)]
        assert (tmp_path / f"leadpanther-dbt-warm-up-{os.getuid()}" / "partial_parse.msgpack").exists()
        monkeypatch.setenv("LEADPANTHER_DBT_WARM_UP", "0")
        cold = DbtForkServer()
        assert cold.run(_request(tmp_path, ["--version"], tmp_path), env) == 0
        threads = [len(os.listdir(f"/proc/{s._process.pid}/task")) for s in (server, cold)]
        cold.close()
        assert threads[0] == threads[1], f"the warmed server forks with threads a cold one has not: {threads}"
    finally:
        if server._process is not None and server._process.poll() is None:
            server._process.kill()  # a hung server must not outlive the test
        server.close()
