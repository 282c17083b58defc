"""One dbt command through dbt's programmatic entry point (`dbtRunner`), in a process of its own.

Why a process: dbt-duckdb keeps its DuckDB connection for the life of the process, and DuckDB lets one
process write a file; in a child the file is free again as soon as dbt is done, for the report, a later
load or a BI tool. The parent (`runner.py`) sends the dbt arguments on stdin and the credentials in the
child's environment (never on the command line); the child writes what `dbtRunner.invoke` returned, per
node, as JSON to the file the parent named.

    python -m transforms.dbt_child < request.json
"""

from __future__ import annotations

import json
import os
import sys
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


def main() -> int:
    request = json.load(sys.stdin)
    outcome = invoke(request["project_dir"], request["args"])
    Path(request["outcome_path"]).write_text(json.dumps(outcome, default=str), encoding="utf-8")
    return 0 if outcome["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
