"""Benchmark: this connector vs dlt's generic `rest_api` source, plus incremental runs.

    python -m bench                      # large workload (>= 1M readable records), 25 ms latency, ~20 min
    python -m bench --preset medium      # quick try (~250k records)

The emulator runs in its own process (own GIL). Every measured load runs in a fresh interpreter
(`python -m bench.worker`) whose peak RSS is sampled from outside (psutil, every 50 ms, process tree) and
read back from the kernel (`wait4` ru_maxrss); the larger of the two is reported. Requests are counted by
the emulator, not by the client. Results go to bench/results/<name>.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from leadpanther_emulator import PRESETS, EmulatorConfig, Faults, run_emulator
from sources.leadpanther import settings as s
from sources.leadpanther.settings import LIST_RESOURCES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
# Routes and resources come from the one contract (settings.py); the emulator counts requests per route
# template written in the vendor's style ({clientId}), so the templates are converted to that spelling.
ALL_RESOURCES = list(s.ALL_RESOURCES)


def emulator_route(path: str) -> str:
    """'/clients/{client_id}/posts' -> 'GET /clients/{clientId}/posts' (the emulator's request counter key)."""
    return "GET " + re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path)


ANALYTICS_ROUTES = (emulator_route(s.POST_ENGAGEMENT_PATH), emulator_route(s.LEAD_MAGNET_ANALYTICS_PATH))
LIST_ROUTE_KEYS = tuple(emulator_route(s.ROUTE_PATHS[r]) for r in LIST_RESOURCES)
DAY_MS = 86_400_000
# Total clients per preset for the benchmark: the presets keep ~20% of clients revoked/pending, which the
# agency cannot read; large with 75 clients gives 59 readable clients and ~1.0M readable list records.
DEFAULT_CLIENTS = {"large": 75, "medium": 50, "demo": 6, "tiny": 4}


def measure(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run one case in a fresh interpreter; return its result plus peak RSS of its process tree."""
    cmd = [sys.executable, "-m", "bench.worker", json.dumps(spec)]
    Path(spec["workdir"]).mkdir(parents=True, exist_ok=True)
    out_path = Path(spec["workdir"]) / f"{spec['case']}.out"
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false", PYTHONUNBUFFERED="1")
    with open(out_path, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            try:
                rss = root.memory_info().rss + sum(c.memory_info().rss for c in root.children(recursive=True))
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=poll, daemon=True)
    sampler.start()
    started = time.perf_counter()
    deadline = started + timeout_s
    status, usage = None, None
    while status is None:
        pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status, usage = st, ru
            break
        if time.perf_counter() > deadline:
            proc.kill()
            _, st, ru = os.wait4(proc.pid, 0)
            status, usage = st, ru
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    text = out_path.read_text(errors="replace")
    result: dict[str, Any] = {"error": f"no result (exit {proc.returncode}); see {out_path}"}
    for line in text.splitlines():
        if line.startswith("BENCH_RESULT="):
            result = json.loads(line.split("=", 1)[1])
    if elapsed >= timeout_s:
        result["error"] = f"killed after the {timeout_s:.0f} s budget"
    result["peak_rss_mb"] = round(max(peak[0], (usage.ru_maxrss * 1024) if usage else 0) / 2**20, 1)
    result["process_s"] = round(elapsed, 3)
    return result


def _clients_subset(emu: Any, n: int) -> list[str]:
    return emu.client_ids("active")[:n]


def _mutate(emu: Any, clients: list[str], knobs: dict[str, int], *, insert: float = 0.0, change: float = 0.0) -> int:
    """Insert `insert` of each client-route's rows; update half of `change` and delete the other half."""
    per = {
        "posts": knobs["posts_per_client"],
        "lead_magnets": knobs["lead_magnets_per_client"],
        "leads": knobs["leads_per_client"],
        "activity": knobs["activity_per_client"],
    }
    touched = 0
    for client_id in clients:
        for resource, size in per.items():
            if insert:
                touched += len(emu.insert(resource, client_id, max(1, round(size * insert))))
            if change:
                n = max(1, round(size * change / 2))
                if resource == "activity":  # append-only upstream: it can only vanish
                    touched += len(emu.delete(resource, client_id, 2 * n))
                else:
                    touched += len(emu.update(resource, client_id, n))
                    touched += len(emu.delete(resource, client_id, n))
    return touched


def _truth_counts(emu: Any) -> dict[str, int]:
    return {r: sum(1 for _ in emu.iter_truth(r)) for r in LIST_RESOURCES}


def _live_counts(workdir: Path) -> dict[str, Any]:
    """Rows not marked deleted, and duplicate keys, in our connector's DuckDB (read after the runs)."""
    import duckdb

    con = duckdb.connect(str(workdir / "ours.duckdb"), read_only=True)
    out: dict[str, Any] = {}
    for table in LIST_RESOURCES:
        live = con.execute(f"SELECT count(*) FROM leadpanther.{table} WHERE _lp_deleted_at IS NULL").fetchall()
        dupes = con.execute(
            f"SELECT count(*) FROM (SELECT client_id, id FROM leadpanther.{table} GROUP BY 1, 2 HAVING count(*) > 1)"
        ).fetchall()
        out[table] = {"live": live[0][0], "duplicate_keys": dupes[0][0]}
    con.close()
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    n_clients = args.clients or DEFAULT_CLIENTS.get(args.preset)
    config = EmulatorConfig(
        seed=args.seed, preset=args.preset, clients=n_clients, faults=Faults(latency_ms=args.latency_ms), warm=True
    )
    knobs = config.knobs()
    workdir = Path(tempfile.mkdtemp(prefix="lp_bench_"))
    report: dict[str, Any] = {
        "name": args.name,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "workload": {
            "preset": args.preset,
            "knobs": knobs,
            "latency_ms": args.latency_ms,
            "page_size": 100,
            "max_concurrency": args.concurrency,
            "resources": ALL_RESOURCES,
        },
        "cases": {},
    }
    cases = report["cases"]
    t_all = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_all:7.1f}s] {msg}", flush=True)

    with run_emulator(config, process=True) as emu:
        active = emu.client_ids("active")
        report["workload"]["clients_total"] = knobs["clients"]
        report["workload"]["clients_readable"] = len(active)
        base = {
            "base_url": emu.base_url,
            "api_key": emu.keys["full"],
            "page_size": 100,
            "concurrency": args.concurrency,
            "resources": ALL_RESOURCES,
            "workdir": str(workdir),
        }
        t0 = emu.now_ms()  # the runs' clock follows the emulator's simulated days (analytics window)
        truth0 = _truth_counts(emu)
        report["workload"]["records"] = sum(truth0.values())
        report["workload"]["records_by_table"] = truth0
        log(f"emulator up: {len(active)} readable clients, {sum(truth0.values()):,} list records")

        def case(name: str, timeout: float, at_ms: int = t0, on: Any = emu, **spec: Any) -> dict[str, Any]:
            on.reset_request_log()
            log(f"{name} ...")
            result = measure({**base, "base_url": on.base_url, "case": name, "synced_at": _iso(at_ms), **spec}, timeout)
            counts = on.request_counts()
            result["requests"] = int(counts.get("total", 0))
            result["requests_by_route"] = {k: v for k, v in counts.items() if k != "total"}
            result["list_requests"] = sum(counts.get(k, 0) for k in LIST_ROUTE_KEYS)
            result["analytics_requests"] = sum(counts.get(k, 0) for k in ANALYTICS_ROUTES)
            result["peak_in_flight"] = dict(on.request_peaks())
            if result.get("list_client_routes"):
                result["list_requests_per_client_route"] = round(
                    result["list_requests"] / result["list_client_routes"], 2
                )
            result["floor_concurrency"] = 1 if spec.get("kind") == "generic" else args.concurrency
            _rates(result, args.latency_ms)
            cases[name] = result
            log(
                f"  {name}: wall {result.get('wall_s')} s, {result['requests']:,} requests, "
                f"{result.get('records_per_s')} rec/s, peak {result['peak_rss_mb']} MB"
                + (f", ERROR {result['error']}" if result.get("error") else "")
            )
            return result

        # (1) this connector, full workload; repeated first loads (fresh pipelines) report the median wall time,
        # because run-to-run spread on a shared 2-core machine is about 10%
        full = case("ours_full", 1800, kind="ours")
        walls = [full.get("wall_s") or 0.0]
        for i in range(1, args.repeat):
            rerun = {"case": f"ours_full_{i}", "kind": "ours", "workdir": str(workdir / f"r{i}"), "synced_at": _iso(t0)}
            again = measure({**base, **rerun}, 1800)
            log(
                f"  ours_full again: wall {again.get('wall_s')} s, peak {again['peak_rss_mb']} MB"
                + (f", ERROR {again['error']}" if again.get("error") else "")
            )
            if again.get("error") or not again.get("wall_s"):
                full["error"] = full.get("error") or f"a repeated first load failed: {again.get('error')}"
                continue
            walls.append(again["wall_s"])
            full["peak_rss_mb"] = max(full["peak_rss_mb"], again["peak_rss_mb"])
            shutil.rmtree(workdir / f"r{i}", ignore_errors=True)
        if len(walls) > 1:
            full["wall_runs_s"] = walls
            full["wall_s"] = round(statistics.median(walls), 3)
            _rates(full, args.latency_ms)
        # (2) memory flatness: same connector on ~1/4 of the clients (~250k records on large)
        if not args.quick:
            quarter = _clients_subset(emu, max(1, len(active) // 4))
            sub = case("ours_quarter", 900, kind="ours", clients=quarter, workdir=str(workdir / "quarter"))
            sub["clients"] = len(quarter)
        # (3) generic rest_api on a client subset, and (4) ours on exactly the same subset
        if not args.skip_generic:
            subset = _clients_subset(emu, args.generic_clients)
            g = case(
                "generic_subset", args.generic_timeout, kind="generic", clients=subset, workdir=str(workdir / "generic")
            )
            g["clients"] = len(subset)
            o = case("ours_subset", 900, kind="ours", clients=subset, workdir=str(workdir / "subset"))
            o["clients"] = len(subset)
        # (5) incremental runs on the full pipeline: later the same day, then the next simulated day (the
        # first run of a day refreshes the figures of every post and lead magnet of the analytics window)
        hour = 3_600_000
        case("ours_quick_nothing_new", 600, at_ms=t0 + hour, kind="ours", mode="quick")
        n = _mutate(emu, active, knobs, insert=0.01)
        log(f"inserted {n:,} rows (1%)")
        r = case("ours_quick_after_1pct_new", 600, at_ms=t0 + 2 * hour, kind="ours", mode="quick")
        r["rows_changed_upstream"] = n
        emu.advance_clock(DAY_MS)
        case("ours_quick_next_day", 900, at_ms=t0 + DAY_MS, kind="ours", mode="quick")
        if not args.skip_reconcile:
            n = _mutate(emu, active, knobs, change=0.01)
            log(f"updated/deleted {n:,} rows (1%)")
            r = case("ours_reconcile_after_1pct_changed", 1800, at_ms=t0 + DAY_MS + hour, kind="ours", mode="reconcile")
            r["rows_changed_upstream"] = n
        truth1 = _truth_counts(emu)
    # (6) the first load again, the API speaking HTTP/1.0 without keep-alive (a new connection a request)
    if not args.skip_http10:
        http10 = EmulatorConfig(**{**config.to_dict(), "faults": config.faults, "http_version": "1.0"})
        with run_emulator(http10, process=True) as emu3:
            case("ours_full_http10", 1800, at_ms=emu3.now_ms(), on=emu3, kind="ours", workdir=str(workdir / "http10"))
    # (7) a quick run with nothing new against an API serving oldest-first (its quick runs read the tail)
    if not args.skip_oldest:
        oldest = EmulatorConfig(**{**config.to_dict(), "faults": config.faults, "order": "oldest"})
        with run_emulator(oldest, process=True) as emu2:
            spec2 = {**base, "base_url": emu2.base_url, "workdir": str(workdir / "oldest"), "kind": "ours"}
            t2 = emu2.now_ms()
            # set-up, not measured: the lists' first load, then the day's first quick run (window refresh)
            log("oldest-first set-up: first load (lists), first quick run of the day ...")
            lists = ["clients", *LIST_RESOURCES]
            measure({**spec2, "case": "oldest_setup_lists", "resources": lists, "synced_at": _iso(t2)}, 1800)
            measure({**spec2, "case": "oldest_setup_window", "mode": "quick", "synced_at": _iso(t2 + 1000)}, 1800)
            case("ours_oldest_quick_nothing_new", 600, at_ms=t2 + hour, on=emu2, mode="quick", **spec2)
    for d in ("http10", "oldest"):
        shutil.rmtree(workdir / d, ignore_errors=True)
    for d in ("quarter", "generic", "subset"):
        shutil.rmtree(workdir / d, ignore_errors=True)
    live = _live_counts(workdir)
    report["final_check"] = {
        "truth_rows": truth1,
        "loaded_live_rows": {t: v["live"] for t, v in live.items()},
        "duplicate_keys": {t: v["duplicate_keys"] for t, v in live.items()},
        "rows_lost": sum(max(0, truth1[t] - live[t]["live"]) for t in LIST_RESOURCES),
        "rows_extra": sum(max(0, live[t]["live"] - truth1[t]) for t in LIST_RESOURCES),
    }
    summarize(report, args)
    report["total_bench_s"] = round(time.perf_counter() - t_all, 1)
    shutil.rmtree(workdir, ignore_errors=True)
    return report


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _rates(result: dict[str, Any], latency_ms: float) -> None:
    """records/s, the latency floor (requests x latency / concurrency) and the wall time's ratio to it."""
    if result.get("wall_s") and result.get("rows_extracted"):
        result["records_per_s"] = round(result["rows_extracted"] / result["wall_s"])
    result["latency_floor_s"] = round(result["requests"] * latency_ms / 1000 / result["floor_concurrency"], 2)
    if result.get("wall_s") and result["latency_floor_s"]:
        result["x_floor"] = round(result["wall_s"] / result["latency_floor_s"], 2)
    cpu_rates(result, result["requests"])


def cpu_rates(result: dict[str, Any], requests: int) -> None:
    """CPU of the connector's process during the run (user + system) per request, and requests per CPU-second:
    on a real API's latency the CPU, not the wall clock, is what one core runs out of first."""
    if result.get("cpu_user_s") is None or not requests:
        return
    cpu = result["cpu_user_s"] + result["cpu_system_s"]
    result["cpu_s"] = round(cpu, 2)
    result["cpu_ms_per_request"] = round(cpu * 1000 / requests, 3)
    result["requests_per_cpu_s"] = round(requests / cpu) if cpu else None


def summarize(report: dict[str, Any], args: argparse.Namespace) -> None:
    cases = report["cases"]
    s: dict[str, Any] = {}
    full = cases.get("ours_full", {})
    g, o = cases.get("generic_subset"), cases.get("ours_subset")
    if g and o and g.get("records_per_s") and o.get("records_per_s"):
        s["speedup_records_per_s_same_workload"] = round(o["records_per_s"] / g["records_per_s"], 1)
        if full.get("records_per_s"):
            s["speedup_full_vs_generic_subset"] = round(full["records_per_s"] / g["records_per_s"], 1)
        if g.get("wall_s"):
            s["generic_extrapolated_full_s"] = round(report["workload"]["records"] / g["records_per_s"], 0)
    if full.get("x_floor"):
        s["ours_x_latency_floor"] = full["x_floor"]
    if full.get("wall_runs_s"):
        floor = full["latency_floor_s"]
        s["ours_full_first_loads_s"] = full["wall_runs_s"]
        s["ours_x_latency_floor_each"] = [round(w / floor, 2) for w in full["wall_runs_s"]]
    q = cases.get("ours_quarter")
    if q and full:
        s["peak_rss_mb_quarter_vs_full"] = [q.get("peak_rss_mb"), full.get("peak_rss_mb")]
    for name in ("ours_quick_nothing_new", "ours_oldest_quick_nothing_new"):
        nothing = cases.get(name)
        if nothing:
            s[f"{name}_list_requests_per_client_route"] = nothing.get("list_requests_per_client_route")
            s[f"{name}_analytics_requests"] = nothing.get("analytics_requests")
    http10 = cases.get("ours_full_http10", {})
    if http10.get("x_floor"):
        s["http10_x_latency_floor"] = http10["x_floor"]
    quick = [cases[n] for n in ("ours_quick_nothing_new", "ours_oldest_quick_nothing_new") if n in cases]
    peak = max([c.get("peak_rss_mb") or 0 for c in cases.values() if c.get("peak_rss_mb")] or [1e9])
    targets = {
        "within_1.3x_floor": 0 < (s.get("ours_x_latency_floor") or 99) <= 1.3,
        "peak_rss<1GiB_every_case": 0 < peak < 1024,
        "quick_nothing_new<=2_list_requests_per_client_route_both_orders": len(quick) == 2
        and all((c.get("list_requests_per_client_route") or 99) <= 2 for c in quick),
        "http10_within_1.5x_floor": 0 < (s.get("http10_x_latency_floor") or 99) <= 1.5,
        "rows_lost==0": report["final_check"]["rows_lost"] == 0
        and not any(report["final_check"]["duplicate_keys"].values()),
    }
    if "speedup_records_per_s_same_workload" in s:
        targets["speedup>=5x"] = s["speedup_records_per_s_same_workload"] >= 5
    s["targets_met"] = targets
    report["summary"] = s


def render(report: dict[str, Any]) -> str:
    w = report["workload"]
    lines = [
        f"LeadPanther benchmark '{report['name']}': preset {w['preset']}, {w['records']:,} list records over "
        f"{w['clients_readable']} readable clients ({w['clients_total']} total), latency {w['latency_ms']} ms, "
        f"page 100, max_concurrency {w['max_concurrency']}, {report['machine']['cpus']} CPUs",
        "",
        f"{'case':<36}{'records':>10}{'wall s':>9}{'requests':>10}{'list':>8}{'analyt.':>8}{'rec/s':>9}"
        f"{'peak MB':>9}{'floor s':>9}{'x floor':>8}{'cpu s':>8}{'req/cpu-s':>10}",
    ]
    for name, c in report["cases"].items():
        label = name + (f" ({c['clients']} clients)" if c.get("clients") else "")
        lines.append(
            f"{label:<36}{c.get('rows_extracted', 0) or 0:>10,}{c.get('wall_s') or 0:>9.1f}{c['requests']:>10,}"
            f"{c.get('list_requests', 0):>8,}{c.get('analytics_requests', 0):>8,}{c.get('records_per_s') or 0:>9,}"
            f"{c['peak_rss_mb']:>9.0f}{c['latency_floor_s']:>9.1f}"
            f"{c.get('x_floor') or 0:>8.2f}{c.get('cpu_s') or 0:>8.1f}{c.get('requests_per_cpu_s') or 0:>10,}"
            + (f"  ERROR: {c['error']}" if c.get("error") else "")
        )
    full = report["cases"].get("ours_full", {})
    inc = [k for k in report["cases"] if k.startswith(("ours_quick", "ours_reconcile", "ours_oldest"))]
    if full.get("wall_s") and inc:
        lines += ["", "incremental runs vs the first run (ours_full):"]
        for k in inc:
            c = report["cases"][k]
            lines.append(
                f"  {k:<36} requests {c['requests']:>7,} ({c['requests'] / max(1, full['requests']):.1%})  "
                f"time {c.get('wall_s') or 0:>7.1f} s ({(c.get('wall_s') or 0) / full['wall_s']:.1%})"
            )
    lines += ["", "summary:"]
    for k, v in report["summary"].items():
        lines.append(f"  {k}: {v}")
    fc = report["final_check"]
    lines.append(
        f"  final check vs ground truth: rows lost {fc['rows_lost']}, extra {fc['rows_extra']}, "
        f"duplicate keys {sum(fc['duplicate_keys'].values())}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="large", choices=sorted(PRESETS))
    parser.add_argument("--clients", type=int, default=None, help="total clients (default: >=1M records on large)")
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--generic-clients",
        type=int,
        default=3,
        help="clients the generic rest_api source loads (it is slow; its rate is extrapolated)",
    )
    parser.add_argument("--generic-timeout", type=float, default=900)
    parser.add_argument("--skip-generic", action="store_true")
    parser.add_argument("--quick", action="store_true", help="skip the 1/4-size memory-flatness run")
    parser.add_argument("--skip-reconcile", action="store_true", help="skip the reconciliation after 1% changes")
    parser.add_argument("--skip-http10", action="store_true", help="skip the HTTP/1.0 (no keep-alive) first load")
    parser.add_argument("--skip-oldest", action="store_true", help="skip the oldest-first quick run")
    parser.add_argument("--repeat", type=int, default=3, help="first loads of the full workload (median reported)")
    parser.add_argument("--name", default=None, help="results file name (default: <preset>-<latency>ms)")
    args = parser.parse_args(argv)
    args.name = args.name or f"{args.preset}-{args.latency_ms:g}ms"
    report = run(args)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{args.name}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    table = render(report)
    (RESULTS / f"{args.name}.txt").write_text(table + "\n")
    print()
    print(table)
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
