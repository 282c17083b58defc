"""One measured load, run in a fresh interpreter: `python -m bench.worker '<json spec>'`.

The orchestrator (bench/run.py) starts this module as a subprocess per case, polls its RSS from outside,
and reads the one JSON line it prints last. Two kinds of case:

* `ours`    - this repo's connector: `make_pipeline("duckdb") + run_sync(...)`;
* `generic` - dlt's own `rest_api` source configured for the same API the way a user would write it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any

from sources.leadpanther.settings import LIST_RESOURCES, ROUTE_PATHS

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

# path of each list route below clients/{id}/, from the one contract (settings.py)
LIST_ROUTES = {r: ROUTE_PATHS[r].rsplit("/", 1)[-1] for r in LIST_RESOURCES}


def _steps(pipeline: Any) -> dict[str, float]:
    """Seconds per dlt step (extract / normalize / load) of the pipeline's last run."""
    out: dict[str, float] = {}
    trace = pipeline.last_trace
    if trace is None:
        return out
    for step in trace.steps:
        if step.step in ("extract", "normalize", "load") and step.started_at and step.finished_at:
            out[step.step] = round((step.finished_at - step.started_at).total_seconds(), 3)
    return out


def _counts(pipeline: Any, tables: list[str]) -> dict[str, int]:
    out = {}
    with pipeline.sql_client() as sql:
        for table in tables:
            try:
                rows = sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name(table)}")
                out[table] = int(rows[0][0])
            except Exception:  # noqa: BLE001 - a table the run did not create
                out[table] = 0
    return out


def run_ours(spec: dict[str, Any]) -> dict[str, Any]:
    from pipelines.leadpanther_pipeline import make_pipeline, run_sync

    if spec.get("destination") == "postgres":
        pipeline = make_pipeline(
            "postgres",
            spec["dataset"],
            credentials=spec["credentials"],
            pipelines_dir=os.path.join(spec["workdir"], "pipelines"),
            pipeline_name="bench_ours",
            shard=spec.get("shard"),
        )
    else:
        pipeline = make_pipeline(
            "duckdb",
            "leadpanther",
            duckdb_path=os.path.join(spec["workdir"], "ours.duckdb"),
            pipelines_dir=os.path.join(spec["workdir"], "pipelines"),
            pipeline_name="bench_ours",
            shard=spec.get("shard"),
        )
    started, cpu_before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    result = run_sync(
        pipeline,
        api_key=spec["api_key"],
        base_url=spec["base_url"],
        page_size=spec.get("page_size", 100),
        max_concurrency=spec.get("concurrency", 8),
        transform=False,
        mode=spec.get("mode"),
        clients=spec.get("clients"),
        resources=spec["resources"],
        shard=spec.get("shard"),
        synced_at=datetime.fromisoformat(spec["synced_at"]) if spec.get("synced_at") else None,
    )
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    statuses = result.log.statuses
    rows = sum(s.rows for s in statuses if s.resource != "clients")
    by_mode: dict[str, int] = {}
    for s in statuses:
        by_mode[s.run_mode] = by_mode.get(s.run_mode, 0) + 1
    tables = [r for r in spec["resources"] if r != "clients"]
    return {
        "wall_s": round(wall, 3),
        "rows_extracted": rows,
        "requests_client_side": sum(s.requests for s in statuses),
        # CPU of this process during run_sync (extract, normalize, load), not its start-up or the emulator's
        "cpu_user_s": round(cpu_after.ru_utime - cpu_before.ru_utime, 3),
        "cpu_system_s": round(cpu_after.ru_stime - cpu_before.ru_stime, 3),
        "retries": sum(s.retries for s in statuses),
        "failed_routes": sum(1 for s in statuses if s.status in ("failed", "skipped")),
        "run_modes": by_mode,
        "error": str(result.error) if result.error else None,
        "steps_s": _steps(pipeline),
        "table_rows": _counts(pipeline, tables),
        "client_routes": sum(1 for s in statuses if s.resource != "clients" and s.status == "ok"),
        "list_client_routes": sum(1 for s in statuses if s.resource in LIST_ROUTES and s.status == "ok"),
        "scans": dict(Counter(s.scan for s in statuses if s.resource in LIST_ROUTES and s.status == "ok")),
    }


def generic_config(spec: dict[str, Any]) -> dict[str, Any]:
    """The rest_api configuration a user would write from the vendor's page (dlt 1.31 syntax)."""
    keep = set(spec["clients"]) if spec.get("clients") else None
    clients: dict[str, Any] = {
        "name": "clients",
        "endpoint": {"path": "clients", "data_selector": "data"},
        "primary_key": "user_id",
        "write_disposition": "merge",
    }
    if keep is not None:
        # a user trying the source on a few clients would filter the parent like this
        clients["processing_steps"] = [{"filter": lambda c: c.get("user_id") in keep}]
    resources: list[Any] = [clients]
    for name, path in LIST_ROUTES.items():
        if name not in spec["resources"]:
            continue
        resources.append(
            {
                "name": name,
                "endpoint": {"path": f"clients/{{resources.clients.user_id}}/{path}", "data_selector": "data"},
                "include_from_parent": ["user_id"],
                "primary_key": "id",
                "write_disposition": "merge",
            }
        )
    return {
        "client": {
            "base_url": spec["base_url"].rstrip("/") + "/",
            "auth": {"type": "bearer", "token": spec["api_key"]},
            "paginator": {
                "type": "offset",
                "limit": spec.get("page_size", 100),
                "offset_param": "offset",
                "limit_param": "limit",
                "total_path": None,
                "has_more_path": "pagination.has_more",
            },
        },
        "resource_defaults": {"endpoint": {"params": {}}},
        "resources": resources,
    }


def run_generic(spec: dict[str, Any]) -> dict[str, Any]:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    pipeline = dlt.pipeline(
        pipeline_name="bench_generic",
        destination=dlt.destinations.duckdb(os.path.join(spec["workdir"], "rest_api_generic.duckdb")),
        dataset_name="generic",
        pipelines_dir=os.path.join(spec["workdir"], "pipelines"),
    )
    source = rest_api_source(generic_config(spec))
    started = time.perf_counter()
    pipeline.run(source)
    wall = time.perf_counter() - started
    tables = [r for r in spec["resources"] if r != "clients"]
    counts = _counts(pipeline, tables)
    return {
        "wall_s": round(wall, 3),
        "rows_extracted": sum(counts.values()),
        "steps_s": _steps(pipeline),
        "table_rows": counts,
        "error": None,
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    kind = spec["kind"]
    try:
        out = run_ours(spec) if kind == "ours" else run_generic(spec)
    except Exception as exc:  # noqa: BLE001 - reported to the orchestrator, which prints it
        out = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    print("BENCH_RESULT=" + json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
