"""Start the emulator: in a thread of this process (tests) or in a subprocess (benchmarks), same object API."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson

from .config import EmulatorConfig, Faults
from .drift import Drift
from .models import Backend
from .server import EmulatorServer, make_server


class Emulator:
    """Handle on an emulator served from a thread of this process."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.backend: Backend = server.backend
        self.base_url = server.base_url
        self.admin_url = self.base_url[: -len("/api/v1")] + "/_admin"
        self.keys: dict[str, str] = dict(self.backend.keys)
        self.ungranted_client_id = self.backend.ungranted_client_id

    def client_ids(self, status: str | None = None) -> list[str]:
        """Ids of the granted clients (in creation order), optionally only those with this grant status."""
        return [c.user_id for c in self.backend.clients if status is None or c.grant["status"] == status]

    def truth(self, resource: str, client_id: str | None = None) -> list[dict[str, Any]]:
        return list(self.backend.iter_truth(resource, client_id))

    def iter_truth(self, resource: str, client_id: str | None = None) -> Iterator[dict[str, Any]]:
        return self.backend.iter_truth(resource, client_id)

    def request_counts(self) -> Counter[str]:
        return self.server.request_counts()

    def request_peaks(self) -> Counter[str]:
        """Most requests in flight at once since the last reset: list, analytics, other, total, and how many
        analytics requests began while list requests were in flight."""
        return self.server.request_peaks()

    def reset_request_log(self) -> None:
        self.server.reset_request_log()

    def insert(self, resource: str, client_id: str, n: int = 1, created_ms: int | None = None) -> list[str]:
        return self.backend.insert(resource, client_id, n, created_ms)

    def now_ms(self) -> int:
        """The emulator's clock (epoch ms): the time its writes are stamped with."""
        return self.backend.clock

    def advance_clock(self, ms: int) -> int:
        return self.backend.advance_clock(ms)

    def update(self, resource: str, client_id: str, n: int = 1) -> list[str]:
        return self.backend.update(resource, client_id, n)

    def delete(self, resource: str, client_id: str, n: int = 1) -> list[str]:
        return self.backend.delete(resource, client_id, n)

    def set_grant(self, client_id: str, status: str) -> None:
        self.backend.set_grant(client_id, status)

    def add_client(self, active: bool = True) -> str:
        return self.backend.add_client(active)

    def set_faults(self, faults: Faults) -> None:
        self.server.set_faults(faults)

    def set_drift(self, drift: Drift) -> None:
        """Change what the API sends from now on (a field that appears, disappears or changes type for good)."""
        with self.backend.lock:
            self.backend.config.drift = drift


class RemoteEmulator:
    """The same API, for an emulator running in another process: driven through /_admin routes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.admin_url = self.base_url[: -len("/api/v1")] + "/_admin"
        info = self._call("GET", "/info")
        self.keys: dict[str, str] = info["keys"]
        self.ungranted_client_id: str = info["ungranted_client_id"]
        self._client_ids: list[str] = info["client_ids"]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        req = urllib.request.Request(self.admin_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as resp:
            return orjson.loads(resp.read())

    def client_ids(self, status: str | None = None) -> list[str]:
        clients = self.truth("clients")
        by_id = {c["user_id"]: c["grant"]["status"] for c in clients}
        ids = self._call("GET", "/info")["client_ids"]
        return [cid for cid in ids if status is None or by_id.get(cid) == status]

    def iter_truth(self, resource: str, client_id: str | None = None) -> Iterator[dict[str, Any]]:
        query = "" if client_id is None else f"?client_id={client_id}"
        with urllib.request.urlopen(f"{self.admin_url}/truth/{resource}{query}", timeout=600) as resp:
            for line in resp:
                if line.strip():
                    yield orjson.loads(line)

    def truth(self, resource: str, client_id: str | None = None) -> list[dict[str, Any]]:
        return list(self.iter_truth(resource, client_id))

    def request_counts(self) -> Counter[str]:
        return Counter(self._call("GET", "/requests")["counts"])

    def request_peaks(self) -> Counter[str]:
        return Counter(self._call("GET", "/requests")["peaks"])

    def server_cpu_seconds(self) -> float:
        """CPU time used so far by the server process (for benchmarks)."""
        return float(self._call("GET", "/stats")["cpu_s"])

    def reset_request_log(self) -> None:
        self._call("POST", "/reset-requests", {})

    def _mutate(self, op: str, resource: str, client_id: str, n: int, **extra: Any) -> list[str]:
        body = {"op": op, "resource": resource, "client_id": client_id, "n": n, **extra}
        return self._call("POST", "/mutate", body)["ids"]

    def insert(self, resource: str, client_id: str, n: int = 1, created_ms: int | None = None) -> list[str]:
        extra = {} if created_ms is None else {"created_ms": created_ms}
        return self._mutate("insert", resource, client_id, n, **extra)

    def now_ms(self) -> int:
        return int(self._call("GET", "/info")["now_ms"])

    def advance_clock(self, ms: int) -> int:
        return int(self._call("POST", "/clock", {"ms": ms})["now_ms"])

    def update(self, resource: str, client_id: str, n: int = 1) -> list[str]:
        return self._mutate("update", resource, client_id, n)

    def delete(self, resource: str, client_id: str, n: int = 1) -> list[str]:
        return self._mutate("delete", resource, client_id, n)

    def set_grant(self, client_id: str, status: str) -> None:
        self._call("POST", "/grant", {"client_id": client_id, "status": status})

    def add_client(self, active: bool = True) -> str:
        return self._call("POST", "/add-client", {"active": active})["client_id"]

    def set_faults(self, faults: Faults) -> None:
        self._call("POST", "/faults", faults.to_dict())


@contextlib.contextmanager
def run_emulator(config: EmulatorConfig | None = None, process: bool = False, host: str = "127.0.0.1",
                 port: int = 0) -> Iterator[Emulator | RemoteEmulator]:
    """Serve the emulator on a free port (or `port`) for the duration of the block.

    process=False: a thread of this process. process=True: `python -m leadpanther_emulator serve` in a
    subprocess (own GIL), driven through the admin routes."""
    config = config or EmulatorConfig()
    if process:
        with _run_process(config, host, port) as emu:
            yield emu
        return
    server = make_server(Backend(config), host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="leadpanther-emulator", daemon=True)
    thread.start()
    try:
        yield Emulator(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def _run_process(config: EmulatorConfig, host: str, port: int) -> Iterator[RemoteEmulator]:
    cmd = [sys.executable, "-m", "leadpanther_emulator", "serve", "--host", host, "--port", str(port),
           "--config-json", json.dumps(config.to_dict()), "--machine-readable"]
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("LEADPANTHER_EMULATOR_URL="):
            raise RuntimeError(f"emulator subprocess failed to start (got {line!r})")
        yield RemoteEmulator(line.strip().split("=", 1)[1])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
