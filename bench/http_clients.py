"""HTTP libraries side by side: CPU per request fetching the same URLs, 8 in flight.

    python -m bench.http_clients [--clients 2000] [--http 1.0 1.1] [--libs httpx_transport pycurl ...]

The emulator runs in its own process (agency preset, pre-generated, no latency); each library runs in a fresh
interpreter fetching every active client's four list routes (first page, 100 rows) and parsing each body with
orjson, on 8 threads sharing one pool of 8 connections (aiohttp: one event loop, 8 at once). The figure is that
process's CPU (user + system) per request. Libraries not installed are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import orjson

IN_FLIGHT = 8
LIBS = ("httpx_client", "httpx_transport", "httpcore", "urllib3", "pycurl", "aiohttp")
ROUTES = ("posts", "lead-magnets", "leads", "activity")


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Accept": "application/json", "Accept-Encoding": "gzip, deflate"}


def _threads(fetch_one, urls: list[str]) -> int:
    """Run `fetch_one(url) -> body bytes` on IN_FLIGHT threads over `urls`; returns the bytes read."""
    todo: queue.Queue[str] = queue.Queue()
    for url in urls:
        todo.put(url)
    total = [0]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            try:
                url = todo.get_nowait()
            except queue.Empty:
                return
            body = fetch_one(url)
            assert isinstance(orjson.loads(body), dict)
            with lock:
                total[0] += len(body)

    threads = [threading.Thread(target=worker) for _ in range(IN_FLIGHT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return total[0]


def run_httpx_client(urls: list[str], key: str) -> int:
    import httpx

    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    with httpx.Client(headers=_headers(key), limits=limits) as client:
        return _threads(lambda url: client.get(url).content, urls)


def run_httpx_transport(urls: list[str], key: str) -> int:
    """What the connector did before: httpx's transport, httpx.Request built per request."""
    import httpx

    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    transport = httpx.HTTPTransport(limits=limits)
    headers = list(_headers(key).items())

    def one(url: str) -> bytes:
        response = transport.handle_request(httpx.Request("GET", url, headers=headers))
        response.read()
        return response.content

    return _threads(one, urls)


def run_httpcore(urls: list[str], key: str) -> int:
    import httpcore

    pool = httpcore.ConnectionPool(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    parts = urlsplit(urls[0])
    host = parts.hostname.encode()
    headers = [(b"Host", f"{parts.hostname}:{parts.port}".encode())] + [
        (k.encode(), v.encode()) for k, v in _headers(key).items()
    ]

    def one(url: str) -> bytes:
        target = url.split(f"{parts.port}", 1)[1].encode()
        request = httpcore.Request(
            b"GET", httpcore.URL(scheme=b"http", host=host, port=parts.port, target=target), headers=headers
        )
        response = pool.handle_request(request)
        try:
            return b"".join(response.stream)
        finally:
            response.close()

    return _threads(one, urls)


def run_urllib3(urls: list[str], key: str) -> int:
    import urllib3

    parts = urlsplit(urls[0])
    pool = urllib3.HTTPConnectionPool(
        parts.hostname, parts.port, maxsize=IN_FLIGHT, block=True, headers=_headers(key), retries=False
    )

    def one(url: str) -> bytes:
        return pool.request("GET", url.split(f"{parts.port}", 1)[1]).data

    return _threads(one, urls)


def run_pycurl(urls: list[str], key: str) -> int:
    import io

    import pycurl

    handles: queue.Queue = queue.Queue()
    for _ in range(IN_FLIGHT):
        curl = pycurl.Curl()
        curl.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in _headers(key).items() if k != "Accept-Encoding"])
        curl.setopt(pycurl.ACCEPT_ENCODING, "gzip, deflate")
        curl.setopt(pycurl.NOSIGNAL, 1)
        handles.put(curl)

    def one(url: str) -> bytes:
        curl = handles.get()
        try:
            buffer = io.BytesIO()
            curl.setopt(pycurl.URL, url)
            curl.setopt(pycurl.WRITEDATA, buffer)
            curl.perform()
            return buffer.getvalue()
        finally:
            handles.put(curl)

    return _threads(one, urls)


def run_aiohttp(urls: list[str], key: str) -> int:
    import asyncio

    import aiohttp

    async def main() -> int:
        total = 0
        connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
        async with aiohttp.ClientSession(headers=_headers(key), connector=connector) as session:
            slots = asyncio.Semaphore(IN_FLIGHT)

            async def one(url: str) -> int:
                async with slots, session.get(url) as response:
                    body = await response.read()
                    assert isinstance(orjson.loads(body), dict)
                    return len(body)

            for size in await asyncio.gather(*(one(u) for u in urls)):
                total += size
        return total

    return asyncio.run(main())


def one_library(lib: str, urls: list[str], key: str) -> dict:
    runner = globals()[f"run_{lib}"]
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    size = runner(urls, key)
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "lib": lib,
        "requests": len(urls),
        "bytes": size,
        "wall_s": wall,
        "cpu_s": cpu,
        "user_s": after.ru_utime - before.ru_utime,
        "system_s": after.ru_stime - before.ru_stime,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--http", nargs="+", default=["1.0", "1.1"])
    parser.add_argument("--libs", nargs="+", default=list(LIBS))
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one library, URLs on stdin
    args = parser.parse_args()
    if args.one:
        spec = json.loads(sys.stdin.read())
        print(json.dumps(one_library(args.one, spec["urls"], spec["key"])))
        return
    from leadpanther_emulator import EmulatorConfig, run_emulator

    print(
        f"HTTP libraries, {IN_FLIGHT} in flight, {args.clients:,} clients' list pages, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    for http in args.http:
        config = EmulatorConfig(seed=7, preset="agency", clients=args.clients, http_version=http, warm=True)
        with run_emulator(config, process=True) as emu:
            urls = [
                f"{emu.base_url}/clients/{c}/{r}?limit=100&offset=0" for c in emu.client_ids("active") for r in ROUTES
            ]
            spec = json.dumps({"urls": urls, "key": emu.keys["full"]})
            for lib in args.libs:
                proc = subprocess.run(
                    [sys.executable, "-m", "bench.http_clients", "--one", lib],
                    input=spec,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode != 0:
                    print(f"  HTTP/{http} {lib:<16} failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                print(
                    f"  HTTP/{http} {lib:<16} {r['requests']:>6,} requests  CPU {r['cpu_s']:6.2f} s "
                    f"(user {r['user_s']:.2f} + system {r['system_s']:.2f})  {1000 * r['cpu_s'] / r['requests']:.3f} "
                    f"ms/request  {r['requests'] / r['cpu_s']:>6,.0f} requests/CPU-s  wall {r['wall_s']:.1f} s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
