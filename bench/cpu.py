"""CPU per request of a first load: `python -m bench.cpu [--clients 10000] [--http 1.0 1.1] [--profile]`.

Many small clients (the agency preset), no latency, the emulator in its own process (pre-generated), the
connector in a fresh interpreter (`bench.worker`) loading every resource into DuckDB without models. The
figure is the connector's own CPU (user + system, `getrusage` around `run_sync`) divided by the requests the
emulator served: unlike wall time it hardly moves when other processes share the cores. `--http 1.0` serves
HTTP/1.0 and closes every connection (a new connection a request); `1.1` keeps connections alive.

`--profile` runs the worker under py-spy (sampling the thread holding the GIL: Python's CPU; imports left out) and
prints the functions with the most samples (self) and the request path's modules (inclusive).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.run import ROOT, measure
from leadpanther_emulator import EmulatorConfig, run_emulator

RESOURCES = ["clients", "posts", "lead_magnets", "leads", "activity", "post_engagement", "lead_magnet_analytics"]
REQUEST_PATH = ("client.py", "pages.py", "fanout.py", "analytics.py", "records.py", "arrow_items.py", "scanning.py")


def run_case(clients: int, http: str, concurrency: int, profile: Path | None) -> dict[str, Any]:
    config = EmulatorConfig(seed=7, preset="agency", clients=clients, http_version=http, warm=True)
    with run_emulator(config, process=True) as emu, tempfile.TemporaryDirectory(prefix="lp_cpu_") as workdir:
        emu.reset_request_log()
        spec = {
            "kind": "ours",
            "case": f"cpu_http{http}",
            "base_url": emu.base_url,
            "api_key": emu.keys["full"],
            "page_size": 100,
            "concurrency": concurrency,
            "resources": RESOURCES,
            "workdir": workdir,
        }
        result = measure(spec, 7200) if profile is None else _profiled(spec, profile)
        requests = int(emu.request_counts().get("total", 0))
    cpu = result["cpu_user_s"] + result["cpu_system_s"]
    result.update(http=http, clients=clients, requests=requests, cpu_s=round(cpu, 2))
    result["cpu_ms_per_request"] = round(cpu * 1000 / requests, 3)
    result["requests_per_cpu_s"] = round(requests / cpu)
    return result


def _profiled(spec: dict[str, Any], out: Path) -> dict[str, Any]:
    """The worker under py-spy; py-spy's raw output (one line per distinct stack: frames;... count)."""
    py_spy = Path(sys.executable).with_name("py-spy")
    cmd = [
        str(py_spy),
        "record",
        "--format",
        "raw",
        "--rate",
        "200",
        "--gil",
        "--output",
        str(out),
        "--",
        sys.executable,
        "-m",
        "bench.worker",
        json.dumps(spec),
    ]
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false", PYTHONUNBUFFERED="1")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT="):
            return json.loads(line.split("=", 1)[1])
    raise RuntimeError(f"profiled worker gave no result: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")


def top_entries(raw: Path, n: int = 20) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(self %, inclusive % for the request path's modules) from py-spy's raw samples."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("thread (")]
        if not frames or any("importlib" in f for f in frames):  # start-up and lazy imports: not per request
            continue
        total += count
        own[_short(frames[-1])] += count
        for name in {_short(f) for f in frames if any(m in f for m in REQUEST_PATH)}:
            inclusive[name] += count
    pct = 100.0 / max(1, total)
    return ([(k, v * pct) for k, v in own.most_common(n)], [(k, v * pct) for k, v in inclusive.most_common(n)])


def _short(frame: str) -> str:
    """'func (path/to/module.py:12)' -> 'func (module.py)'."""
    name, _, where = frame.partition(" (")
    module = where.rstrip(")").rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{name} ({module})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--http", nargs="+", default=["1.0", "1.1"], choices=["1.0", "1.1"])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"CPU per request: {args.clients:,} clients (agency preset), no latency, max_concurrency "
        f"{args.concurrency}, load average at start {load:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    results = []
    for http in args.http:
        profile = Path(tempfile.gettempdir()) / f"lp_cpu_profile_http{http}_{os.getpid()}.txt" if args.profile else None
        started = time.perf_counter()
        r = run_case(args.clients, http, args.concurrency, profile)
        results.append(r)
        print(
            f"  HTTP/{http:<4} requests {r['requests']:>7,}  rows {r['rows_extracted']:>8,}"
            f"  wall {r['wall_s']:>6.1f} s  "
            f"CPU {r['cpu_s']:>6.1f} s (user {r['cpu_user_s']:.1f} + system {r['cpu_system_s']:.1f})  "
            f"{r['cpu_ms_per_request']:.2f} ms/request  {r['requests_per_cpu_s']:,} requests/CPU-s"
            f"{'  ERROR ' + r['error'] if r.get('error') else ''}  [{time.perf_counter() - started:.0f} s]",
            flush=True,
        )
        if profile is not None:
            own, inclusive = top_entries(profile)
            print("    top self (share of on-CPU samples, all threads):")
            for name, share in own:
                print(f"      {share:5.1f}%  {name}")
            print("    request path, inclusive:")
            for name, share in inclusive[:12]:
                print(f"      {share:5.1f}%  {name}")
    if args.name:
        out = Path(ROOT) / "bench" / "results" / f"{args.name}.json"
        out.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
