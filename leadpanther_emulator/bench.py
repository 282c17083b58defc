"""Measure the emulator's throughput: `python -m leadpanther_emulator.bench [--preset large] [--threads 8]`.

Starts the server in a subprocess (own GIL), then 8 client threads (httpx, keep-alive, one connection each)
page through client-routes with 100-row pages, every page a first read (full scans, no page read twice), for
a few seconds. httpx is a test/bench dependency, not one of the emulator's."""

from __future__ import annotations

import argparse
import queue
import threading
import time

from .config import EmulatorConfig, Faults
from .runner import run_emulator


def measure(preset: str = "large", threads: int = 8, seconds: float = 8.0, limit: int = 100,
            latency_ms: float = 0.0, seed: int = 7, warm: bool = False) -> dict[str, float]:
    import httpx

    cfg = EmulatorConfig(seed=seed, preset=preset, faults=Faults(latency_ms=latency_ms), warm=warm)
    with run_emulator(cfg, process=True) as emu:
        tasks: queue.Queue[tuple[str, str]] = queue.Queue()
        for cid in emu.client_ids("active"):
            for route in ("activity", "leads", "posts", "lead-magnets"):
                tasks.put((cid, route))
        requests = [0] * threads
        rows = [0] * threads
        stop = time.perf_counter() + seconds

        def worker(n: int) -> None:
            with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.keys['full']}"},
                              timeout=30) as c:
                while time.perf_counter() < stop:
                    try:
                        cid, route = tasks.get_nowait()
                    except queue.Empty:
                        return
                    offset = 0
                    while time.perf_counter() < stop:
                        resp = c.get(f"/clients/{cid}/{route}", params={"limit": limit, "offset": offset})
                        resp.raise_for_status()
                        body = resp.json()
                        requests[n] += 1
                        rows[n] += len(body["data"])
                        if not body["pagination"]["has_more"]:
                            break
                        offset += len(body["data"])

        cpu0 = emu.server_cpu_seconds()
        start = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - start
        cpu = emu.server_cpu_seconds() - cpu0
        return {"requests_per_s": sum(requests) / elapsed, "records_per_s": sum(rows) / elapsed,
                "requests": sum(requests), "seconds": elapsed, "server_cpu_ms_per_request": cpu / sum(requests) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="large")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--warm", action="store_true", help="pre-generate every record before measuring")
    args = parser.parse_args()
    r = measure(args.preset, args.threads, args.seconds, latency_ms=args.latency_ms, warm=args.warm)
    print(f"{r['requests_per_s']:.0f} requests/s, {r['records_per_s']:.0f} records/s with 100-row pages "
          f"({args.threads} client threads, preset {args.preset}{', warm' if args.warm else ''}, "
          f"latency {args.latency_ms} ms, "
          f"{r['requests']} requests in {r['seconds']:.1f} s); server CPU "
          f"{r['server_cpu_ms_per_request']:.2f} ms/request = "
          f"{1000 / r['server_cpu_ms_per_request']:.0f} requests/s per free core")


if __name__ == "__main__":
    main()
