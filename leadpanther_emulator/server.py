"""The HTTP layer: a keep-alive ThreadingHTTPServer that dispatches /api/v1 to responses.ApiHandlers, applies
faults, logs requests per route template, and serves loopback-only admin routes under /_admin."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from . import exceptions as exc
from .config import ABSENTABLE_ROUTES, Faults
from .faults import FaultEngine
from .models import Backend
from .openapi import openapi_document
from .responses import ApiHandlers
from .urls import match

API_PREFIX = "/api/v1"
ADMIN_PREFIX = "/_admin"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_REASONS = {s.value: s.phrase for s in HTTPStatus}
HTML_BODY = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def new_request_id() -> str:
    return "req_" + os.urandom(12).hex()


def error_body(error: exc.ApiError, request_id: str) -> bytes:
    return orjson.dumps({"error": {"code": error.code, "message": error.message}, "request_id": request_id})


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        super().__init__(address, Handler)
        self.backend = backend
        self.handlers = ApiHandlers(backend)
        self.faults = FaultEngine(backend.seed, backend.faults)
        self.log_lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.peaks: Counter[str] = Counter()
        self.openapi = orjson.dumps(openapi_document())

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    def set_faults(self, faults: Faults) -> None:
        self.backend.set_faults(faults)
        self.faults.set(faults)

    def log_request_key(self, key: str) -> None:
        with self.log_lock:
            self.counts[key] += 1
            self.counts["total"] += 1

    def request_counts(self) -> Counter[str]:
        with self.log_lock:
            return Counter(self.counts)

    def reset_request_log(self) -> None:
        with self.log_lock:
            self.counts.clear()
            self.peaks.clear()

    def enter(self, kind: str) -> None:
        """A request of this kind (list, analytics, other) is being answered: track the peak in flight, and
        how many analytics requests began while list requests were in flight (do they overlap the scans?)."""
        with self.log_lock:
            self.in_flight[kind] += 1
            self.in_flight["total"] += 1
            for key in (kind, "total"):
                self.peaks[key] = max(self.peaks[key], self.in_flight[key])
            if kind == "analytics" and self.in_flight["list"]:
                self.peaks["analytics_started_during_lists"] += 1

    def leave(self, kind: str) -> None:
        with self.log_lock:
            self.in_flight[kind] -= 1
            self.in_flight["total"] -= 1

    def request_peaks(self) -> Counter[str]:
        with self.log_lock:
            return Counter(self.peaks)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence default stderr logging
        pass

    def setup(self) -> None:
        super().setup()
        if self.server.backend.config.http_version == "1.0":  # no keep-alive: one request per connection
            self.protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_GET

    # --- plumbing ---------------------------------------------------------------------------------------
    _due = 0.0
    _started = 0.0

    def _send(self, status: int, body: bytes, request_id: str = "", content_type: str = "application/json",
              headers: dict[str, str] | None = None, cut: int | None = None) -> None:
        wait = self._due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        self._due = 0.0
        lines = [f"{self.protocol_version} {status} {_REASONS.get(status, 'Status')}", f"Content-Type: {content_type}",
                 f"Content-Length: {len(body)}"]
        if request_id:
            lines.append(f"X-Request-Id: {request_id}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if cut is not None:  # dropped connection: headers promise the full body, only part is sent
            self.wfile.write(head + body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(head + (b"" if self.command == "HEAD" else body))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        path = split.path
        try:
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                self._api(path[len(API_PREFIX):] or "/", split.query)
            elif path.startswith(ADMIN_PREFIX + "/"):
                self._admin(path[len(ADMIN_PREFIX):], split.query)
            else:
                self._read_body()
                rid = new_request_id()
                self._send(404, error_body(exc.RouteNotFound("no such path"), rid), rid)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # --- /api/v1 ----------------------------------------------------------------------------------------
    def _api(self, path: str, query: str) -> None:
        self._started = time.perf_counter()
        self._due = 0.0
        srv = self.server
        raw_body = self._read_body()
        method = self.command
        if path == "/openapi.json" and method == "GET":
            srv.log_request_key("GET /openapi.json")
            self._send(200, srv.openapi)
            return
        routes, params = match(path)
        route = next((r for r in routes if r.method == method), None)
        srv.log_request_key(route.key if route else f"{method} <unmatched>")
        kind = "list" if route and route.list_resource else ("analytics" if route and route.handler in ABSENTABLE_ROUTES
                                                             else "other")
        srv.enter(kind)
        try:
            self._answer(srv, path, query, method, raw_body, routes, route, params)
        finally:
            srv.leave(kind)

    def _answer(self, srv: EmulatorServer, path: str, query: str, method: str, raw_body: bytes, routes: list[Any],
                route: Any, params: dict[str, str]) -> None:
        client_id = params.get("clientId")
        if client_id and srv.faults.count_client_request(client_id):
            state = srv.backend.by_id.get(client_id)
            if state is not None and state.granted and state.grant["status"] == "active":
                srv.backend.set_grant(client_id, "revoked")
        decision = srv.faults.decide(method, path, query, bool(route and route.list_resource))
        rid = new_request_id()
        # Latency is the response time floor: the page is built while the "network" delay runs, and the
        # answer leaves at start + delay (or later when building took longer).
        self._due = self._started + decision.delay_s
        if decision.rate_limited:
            error = exc.RateLimited("too many requests")
            retry = str(int(srv.backend.faults.retry_after_s))
            self._send(429, error_body(error, rid), rid, headers={"Retry-After": retry})
            return
        if decision.error_status:
            error = {500: exc.ServerError, 502: exc.BadGateway, 503: exc.ServiceUnavailable}[decision.error_status]()
            self._send(error.status, error_body(error, rid), rid)
            return
        try:
            scopes = srv.backend.authenticate(self.headers.get("Authorization"))
            if not routes or ABSENTABLE_ROUTES.get(routes[0].handler) in srv.backend.faults.absent_routes:
                raise exc.RouteNotFound(f"no route {path}")
            if route is None:
                raise exc.MethodNotAllowed(f"{method} is not allowed on {path}")
            srv.backend.require_scope(scopes, route.scope)
            body: Any = None
            if route.body is not None:
                try:
                    body = orjson.loads(raw_body) if raw_body else None
                except orjson.JSONDecodeError:
                    raise exc.InvalidJson("the request body is not valid JSON") from None
            if decision.churn and client_id and route.list_resource != "clients":
                state = srv.backend.by_id.get(client_id)
                if state is not None and state.granted and state.grant["status"] == "active":
                    srv.backend.churn(client_id, route.list_resource, max(1, srv.backend.faults.churn_rows))
            qdict = dict(parse_qsl(query, keep_blank_values=True))
            data, pagination = getattr(srv.handlers, route.handler)(params, qdict, body)
        except exc.ApiError as error:
            self._send(error.status, error_body(error, rid), rid)
            return
        except Exception as error:  # a bug in the emulator: answer like a server would, keep serving
            self._send(500, error_body(exc.ServerError(f"emulator error: {error!r}"), rid), rid)
            return
        status = 201 if method == "POST" and route.handler.startswith("create") else 200
        payload: dict[str, Any] = {"data": data}
        if pagination is not None:
            payload["pagination"] = pagination
        payload["request_id"] = rid
        out = orjson.dumps(payload)
        if decision.drop:
            self._send(status, out, rid, cut=max(1, int(len(out) * decision.drop_fraction)))
        elif decision.truncate:
            self._send(status, out[: max(1, int(len(out) * decision.drop_fraction))], rid)
        elif decision.non_json:
            self._send(status, HTML_BODY, rid, content_type="text/html")
        else:
            self._send(status, out, rid)

    # --- /_admin ----------------------------------------------------------------------------------------
    def _admin(self, path: str, query: str) -> None:
        srv = self.server
        raw = self._read_body()
        if self.client_address[0] not in LOOPBACK:
            self._send(403, b'{"error": {"code": "forbidden", "message": "admin routes are loopback only"}}')
            return
        q = dict(parse_qsl(query))
        try:
            body = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            self._send(400, b'{"error": {"code": "invalid_json", "message": "bad JSON"}}')
            return
        backend = srv.backend
        try:
            if self.command == "GET" and path == "/info":
                out: Any = {"base_url": srv.base_url, "keys": backend.keys, "config": backend.config.to_dict(),
                            "ungranted_client_id": backend.ungranted_client_id,
                            "client_ids": [c.user_id for c in backend.clients], "now_ms": backend.clock}
            elif self.command == "GET" and path == "/openapi.json":
                self._send(200, srv.openapi)
                return
            elif self.command == "GET" and path.startswith("/truth/"):
                self._stream_truth(path[len("/truth/"):], q.get("client_id") or None)
                return
            elif self.command == "GET" and path == "/stats":
                out = {"cpu_s": time.process_time(), "requests": srv.request_counts()["total"]}
            elif self.command == "GET" and path == "/requests":
                out = {"counts": dict(srv.request_counts()), "peaks": dict(srv.request_peaks())}
            elif self.command == "POST" and path == "/reset-requests":
                srv.reset_request_log()
                out = {"ok": True}
            elif self.command == "GET" and path == "/faults":
                out = backend.faults.to_dict()
            elif self.command == "POST" and path == "/faults":
                srv.set_faults(Faults.from_dict(body))
                out = backend.faults.to_dict()
            elif self.command == "POST" and path == "/mutate":
                op = body.get("op")
                if op not in ("insert", "update", "delete"):
                    raise ValueError("op must be insert, update or delete")
                args = (body["resource"], body["client_id"], int(body.get("n", 1)))
                extra = {"created_ms": int(body["created_ms"])} if op == "insert" and "created_ms" in body else {}
                out = {"ids": getattr(backend, op)(*args, **extra)}
            elif self.command == "POST" and path == "/clock":
                out = {"now_ms": backend.advance_clock(int(body.get("ms", 0)))}
            elif self.command == "POST" and path == "/grant":
                backend.set_grant(body["client_id"], body["status"])
                out = {"ok": True}
            elif self.command == "POST" and path == "/add-client":
                out = {"client_id": backend.add_client(bool(body.get("active", True)))}
            else:
                self._send(404, b'{"error": {"code": "not_found", "message": "no such admin route"}}')
                return
        except (KeyError, ValueError, TypeError) as error:
            self._send(400, orjson.dumps({"error": {"code": "bad_request", "message": repr(error)}}))
            return
        self._send(200, orjson.dumps(out))

    def _stream_truth(self, resource: str, client_id: str | None) -> None:
        try:
            rows = self.server.backend.iter_truth(resource, client_id)
            first = next(rows, None)
        except (KeyError, ValueError) as error:
            self._send(400, orjson.dumps({"error": {"code": "bad_request", "message": repr(error)}}))
            return
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
        buf: list[bytes] = []
        if first is not None:
            buf.append(orjson.dumps(first, option=orjson.OPT_APPEND_NEWLINE))
        for row in rows:
            buf.append(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
            if len(buf) >= 1000:
                self._chunk(b"".join(buf))
                buf.clear()
        if buf:
            self._chunk(b"".join(buf))
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def make_server(backend: Backend, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
    return EmulatorServer((host, port), backend)
