"""Measure the emulator's throughput: `python -m leadpanther_emulator.bench [--preset medium] [--threads 8]`.

Starts the server in a subprocess (own GIL) and pages 100-row list pages from 8 client threads (httpx,
keep-alive) for a few seconds. httpx is a test/bench dependency, not one of the emulator's."""

from __future__ import annotations

import argparse
import threading
import time

from .config import EmulatorConfig
from .runner import run_emulator


def measure(preset: str = "medium", threads: int = 8, seconds: float = 5.0, limit: int = 100,
            routes: tuple[str, ...] = ("posts", "leads", "activity", "lead-magnets")) -> float:
    import httpx

    with run_emulator(EmulatorConfig(seed=7, preset=preset), process=True) as emu:
        clients = emu.client_ids("active")
        done = [0] * threads
        stop = time.perf_counter() + seconds

        def worker(n: int) -> None:
            with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.keys['full']}"},
                              timeout=30) as c:
                k = n
                while time.perf_counter() < stop:
                    cid = clients[k % len(clients)]
                    route = routes[k % len(routes)]
                    resp = c.get(f"/clients/{cid}/{route}", params={"limit": limit, "offset": (k * limit) % 1000})
                    assert resp.status_code == 200
                    resp.json()
                    done[n] += 1
                    k += threads

        start = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return sum(done) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rps = measure(args.preset, args.threads, args.seconds)
    print(f"{rps:.0f} requests/s with 100-row pages ({args.threads} client threads, preset {args.preset})")


if __name__ == "__main__":
    main()
