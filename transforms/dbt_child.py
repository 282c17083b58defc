"""One dbt command through dbt's programmatic entry point (`dbtRunner`), in a process of its own.

Why a process: dbt-duckdb keeps its DuckDB connection for the life of the process, and DuckDB lets one
process write a file; in a child the file is free again as soon as dbt is done, for the report, a later
load or a BI tool.

Why a fork server: importing dbt costs about 4 s of CPU on a 2-core machine, more than a partial-parse
`dbt build` of a small dataset. `python -m transforms.dbt_child` imports dbt once and then serves commands:
each is a fresh fork of the server (a clean dbt; the DuckDB file freed when it exits), which matters to a
process that runs dbt more than once (the demo's weeks, `bench.history`, the tests). The server holds no
thread, connection or credential, and it runs nothing of the caller's own (unlike `multiprocessing`, whose
children re-run the caller's main script).

Why a warm server: a fork inherits what its server did, and dbt's first command in a process pays ~3 s of CPU
(json-schema builds, lazy imports) that its second does not. So before its first fork the server runs one
`dbt parse` of this project (`warm_up`) with a dummy DuckDB profile that never connects, its partial-parse
file kept in a per-user temp folder so later servers parse partially too; a failed warm-up is ignored. A full
parse (no partial-parse file yet, as on a fresh machine) leaves native threads behind, and a fork of a process
with threads can wait forever on a lock one of them held: a server whose warm-up added a thread re-executes
itself (`os.execv`, same pid and pipes), warms up once more from the partial-parse file the first one kept, and
if that adds threads too, serves cold (`LEADPANTHER_DBT_WARM_UP=0`).

Protocol, one JSON line each way on the server's stdin and stdout: the parent (`runner.py`) sends
{project_dir, args, outcome_path, output_path, env}; the server forks, answers {"pid": ...}, and when the
fork ended {"exit_code": ...}. The fork takes `env` as its whole environment (credentials travel through the
pipe, never on a command line or on disk), writes what dbt printed to `output_path` (the parent copies it to
its own stderr) and what `dbtRunner.invoke` returned, per node, as JSON to `outcome_path`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any


def node_outcome(result: Any) -> dict[str, Any] | None:
    """A node's result as plain data (what `transforms.runner` reports), or None for non-node results."""
    node = getattr(result, "node", None)
    if node is None:
        return None
    config = getattr(node, "config", None)
    meta = getattr(node, "test_metadata", None)
    return {
        "unique_id": node.unique_id,
        "resource_type": str(getattr(node.resource_type, "value", node.resource_type)),
        "name": node.name,
        "status": str(getattr(result.status, "value", result.status)),
        "failures": getattr(result, "failures", None),
        "execution_time": float(getattr(result, "execution_time", None) or 0.0),
        "message": getattr(result, "message", None),
        "severity": str(getattr(config, "severity", "error") or "error"),
        "test_name": getattr(meta, "name", None),
        "test_kwargs": dict(getattr(meta, "kwargs", None) or {}),
        "column_name": getattr(node, "column_name", None),
        "attached_node": getattr(node, "attached_node", None)
        or next(iter(getattr(getattr(node, "depends_on", None), "nodes", None) or []), None),
    }


def invoke(project_dir: str, args: list[str]) -> dict[str, Any]:
    from dbt.cli.main import dbtRunner

    os.chdir(project_dir)
    outcome = dbtRunner().invoke(args)
    results = getattr(outcome.result, "results", None) or []
    nodes = [n for n in (node_outcome(r) for r in results) if n is not None]
    return {
        "success": bool(outcome.success),
        "exception": None if outcome.exception is None else f"{type(outcome.exception).__name__}: {outcome.exception}",
        "nodes": nodes,
    }


def serve_one(request: dict[str, Any]) -> int:
    """In the fork: this environment, dbt's output to the parent's file, one dbt command."""
    os.environ.clear()
    os.environ.update(request["env"])
    with open(request["output_path"], "wb") as output:
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
    outcome = invoke(request["project_dir"], request["args"])
    Path(request["outcome_path"]).write_text(json.dumps(outcome, default=str), encoding="utf-8")
    return 0 if outcome["success"] else 1


def _answer(channel: Any, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def warm_up() -> bool:
    """One `dbt parse` in the server (see the module's docstring); True if it ran. The profile points at a
    DuckDB file that parse never opens; stdout (the channel) and stderr see nothing of it. The partial-parse
    file is copied in and replaced atomically, so servers of concurrent processes never read a half-written one."""
    project = Path(__file__).resolve().parent
    shared = Path(tempfile.gettempdir()) / f"leadpanther-dbt-warm-up-{os.getuid() if hasattr(os, 'getuid') else 0}"
    work = Path(tempfile.mkdtemp(prefix="leadpanther-dbt-warm-up-"))
    saved_env, saved_fds, saved_cwd = dict(os.environ), (os.dup(1), os.dup(2)), os.getcwd()
    try:
        shared.mkdir(exist_ok=True)
        (work / "target").mkdir()
        if (shared / "partial_parse.msgpack").exists():
            shutil.copyfile(shared / "partial_parse.msgpack", work / "target" / "partial_parse.msgpack")
        from transforms.runner import DBT_ENV  # the runner's one list of dbt's no-outbound-call settings

        os.environ.update(
            {
                **DBT_ENV,
                "DLT__CREDENTIALS__DATABASE": str(shared / "never-opened.duckdb"),
                "LEADPANTHER_SUSPECTED_PII": "[]",
            }
        )
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
        args = [
            "--quiet", "--no-print", "parse", "--no-write-json",
            "--project-dir", str(project), "--profiles-dir", str(project), "--profile", "duckdb",
            "--vars", json.dumps({"source_dataset_name": "warm_up", "destination_dataset_name": "warm_up_models"}),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        ]  # fmt: skip
        outcome = invoke(str(project), args)
        parsed = work / "target" / "partial_parse.msgpack"
        if outcome["success"] and parsed.exists():
            os.replace(parsed, shared / f"partial_parse.{os.getpid()}.msgpack")
            os.replace(shared / f"partial_parse.{os.getpid()}.msgpack", shared / "partial_parse.msgpack")
        return bool(outcome["success"]) and threading.active_count() == 1
    except Exception:
        return False
    finally:
        os.dup2(saved_fds[0], 1)
        os.dup2(saved_fds[1], 2)
        for fd in saved_fds:
            os.close(fd)
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        shutil.rmtree(work, ignore_errors=True)


def native_threads() -> int | None:
    """This process's threads, native ones included (None where the system does not tell: then no warm-up)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def serve() -> int:
    """The server: dbt imported once (and warmed up), then one fork per request line until stdin closes."""
    import dbt.cli.main  # noqa: F401  (the import every fork inherits)

    for adapter in ("dbt.adapters.duckdb", "dbt.adapters.postgres"):
        with contextlib.suppress(ImportError):
            importlib.import_module(adapter)
    warm = os.environ.get("LEADPANTHER_DBT_WARM_UP", "1")
    before = native_threads()
    if warm != "0" and before is not None:
        warm_up()
        if native_threads() != before:  # a fork would inherit locks of threads it does not have: start again
            os.environ["LEADPANTHER_DBT_WARM_UP"] = "0" if warm == "again" else "again"
            os.execv(sys.executable, [sys.executable, "-m", "transforms.dbt_child"])
    channel = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        if not hasattr(os, "fork"):  # no fork here (Windows): serve this one command, then exit
            _answer(channel, {"pid": os.getpid()})
            _answer(channel, {"exit_code": serve_one(request)})
            return 0
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the fork: never returns into the loop
            code = 1
            try:
                code = serve_one(request)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _answer(channel, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        _answer(channel, {"exit_code": os.waitstatus_to_exitcode(status)})
    return 0


if __name__ == "__main__":
    sys.exit(serve())
