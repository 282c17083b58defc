"""Benchmark: an agency with 10,000 client accounts, in 1 process and in 2 and 4 shard processes.

    python -m bench.agency                          # agency preset, 25 ms, shards 1,2,4, into PostgreSQL
    python -m bench.agency --latency-ms 5 --shards 1 --clients 2000 --name try

Each configuration loads into a fresh PostgreSQL dataset (DuckDB takes one writer at a time, so shards run
in parallel only on a warehouse): a first load, then a quick run with nothing new. Every shard is a fresh
interpreter (`python -m bench.worker`) measured from outside for peak RSS, as in bench/run.py. The floor
is requests x latency / (shards x max_concurrency): what the API's concurrency allows at best. Also
reported: the dlt state as stored in the destination (per shard and total) and the rows of
`_dlt_pipeline_state` (old rows are pruned after each load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2

from bench.run import RESULTS, cpu_rates, measure
from leadpanther_emulator import EmulatorConfig, Faults, run_emulator

PG_URL = os.environ.get("LEADPANTHER_TEST_PG_URL", "postgresql://postgres:postgres@127.0.0.1:5432/test")
ALL_RESOURCES = ["clients", "posts", "lead_magnets", "leads", "activity", "post_engagement", "lead_magnet_analytics"]


def _sql(query: str) -> list[tuple]:
    con = psycopg2.connect(PG_URL)
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(query)
            return cur.fetchall() if cur.description else []
    finally:
        con.close()


def _state(dataset: str) -> dict[str, Any]:
    rows = _sql(
        f'SELECT pipeline_name, count(*), max(length(state)), sum(length(state)) FROM "{dataset}"._dlt_pipeline_state '
        "GROUP BY pipeline_name ORDER BY 1"
    )
    return {
        "rows": {r[0]: int(r[1]) for r in rows},
        "newest_bytes": {r[0]: int(r[2]) for r in rows},
        "table_bytes": sum(int(r[3]) for r in rows),
    }


def run_config(emu: Any, shards: int, args: argparse.Namespace, log) -> dict[str, Any]:
    dataset = f"lp_bench_{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix=f"lp_agency_{shards}_"))
    out: dict[str, Any] = {"shards": shards, "dataset": dataset}
    try:
        for case, mode in (("first_load", None), ("quick_nothing_new", "quick")):
            emu.reset_request_log()
            results: list[dict[str, Any]] = [{} for _ in range(shards)]

            def one(k: int, case: str = case, mode: str | None = mode, results: list = results) -> None:
                spec = {
                    "kind": "ours",
                    "case": f"{case}_{k}_of_{shards}",
                    "base_url": emu.base_url,
                    "api_key": emu.keys["full"],
                    "page_size": 100,
                    "concurrency": args.concurrency,
                    "resources": ALL_RESOURCES,
                    "workdir": str(workdir),
                    "destination": "postgres",
                    "dataset": dataset,
                    "credentials": PG_URL,
                    "mode": mode,
                    "shard": f"{k}/{shards}" if shards > 1 else None,
                }
                results[k - 1] = measure(spec, 3600)

            started = time.perf_counter()
            threads = [threading.Thread(target=one, args=(k,)) for k in range(1, shards + 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            requests = int(emu.request_counts().get("total", 0))
            floor = requests * args.latency_ms / 1000 / (shards * args.concurrency)
            rows = sum(r.get("rows_extracted") or 0 for r in results)
            out[case] = {
                "wall_s": round(wall, 1),
                "requests": requests,
                "requests_by_route": {k: v for k, v in emu.request_counts().items() if k != "total"},
                "rows": rows,
                "records_per_s": round(rows / wall) if wall else None,
                "floor_s": round(floor, 1),
                "x_floor": round(wall / floor, 2) if floor else None,
                "peak_rss_mb_per_process": [r.get("peak_rss_mb") for r in results],
                "process_wall_s": [r.get("wall_s") for r in results],
                "steps_s": [r.get("steps_s") for r in results],
                "errors": [r.get("error") for r in results if r.get("error")],
                "cpu_user_s": sum(r.get("cpu_user_s") or 0 for r in results),
                "cpu_system_s": sum(r.get("cpu_system_s") or 0 for r in results),
            }
            cpu_rates(out[case], requests)
            out[case]["state"] = _state(dataset)
            log(
                f"  {shards} process(es) {case}: {out[case]['wall_s']} s, {requests:,} requests, "
                f"x floor {out[case]['x_floor']}, peak MB {out[case]['peak_rss_mb_per_process']}, "
                f"state {out[case]['state']['newest_bytes']}"
                + (f", ERRORS {out[case]['errors']}" if out[case]["errors"] else "")
            )
    finally:
        for (schema,) in _sql(f"SELECT nspname FROM pg_namespace WHERE nspname LIKE '{dataset}%'"):
            _sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def render(report: dict[str, Any]) -> str:
    w = report["workload"]
    lines = [
        f"LeadPanther agency benchmark '{report['name']}': {w['clients_total']:,} clients "
        f"({w['clients_readable']:,} with an active grant), {w['list_records']:,} list records, latency "
        f"{w['latency_ms']} ms, max_concurrency {w['max_concurrency']} per process, into PostgreSQL, "
        f"load average at start {report['load_at_start']}",
        "",
        f"{'processes':<10}{'case':<20}{'wall s':>8}{'requests':>10}{'rows':>9}{'rec/s':>8}{'floor s':>9}"
        f"{'x floor':>8}{'req/cpu-s':>10}  peak MB per process / newest state per shard (bytes)",
    ]
    for cfg in report["configs"]:
        for case in ("first_load", "quick_nothing_new"):
            c = cfg.get(case)
            if not c:
                continue
            lines.append(
                f"{cfg['shards']:<10}{case:<20}{c['wall_s']:>8.1f}{c['requests']:>10,}{c['rows']:>9,}"
                f"{c['records_per_s'] or 0:>8,}{c['floor_s']:>9.1f}{c['x_floor'] or 0:>8.2f}"
                f"{c.get('requests_per_cpu_s') or 0:>10,}  "
                f"{c['peak_rss_mb_per_process']} / {list(c['state']['newest_bytes'].values())}"
                + (f"  ERRORS {c['errors']}" if c["errors"] else "")
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.agency", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=None, help="default: the preset's 10,000")
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--shards", default="1,2,4")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    args.name = args.name or f"agency-{args.latency_ms:g}ms"
    config = EmulatorConfig(
        seed=args.seed, preset="agency", clients=args.clients, faults=Faults(latency_ms=args.latency_ms), warm=True
    )
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", flush=True)

    report: dict[str, Any] = {"name": args.name, "load_at_start": os.getloadavg(), "configs": []}
    with run_emulator(config, process=True) as emu:
        active = emu.client_ids("active")
        records = sum(1 for r in ("posts", "lead_magnets", "leads", "activity") for _ in emu.iter_truth(r))
        report["workload"] = {
            "clients_total": config.knobs()["clients"],
            "clients_readable": len(active),
            "list_records": records,
            "latency_ms": args.latency_ms,
            "max_concurrency": args.concurrency,
        }
        log(f"emulator up: {len(active):,} readable clients, {records:,} list records")
        for shards in (int(s) for s in args.shards.split(",")):
            report["configs"].append(run_config(emu, shards, args, log))
    report["load_at_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=2, default=str))
    table = render(report)
    (RESULTS / f"{args.name}.txt").write_text(table + "\n")
    print()
    print(table)


if __name__ == "__main__":
    main()
