"""One HTTP client per run: a pool of libcurl handles (keep-alive), bounded concurrency, retries.

Why one object: the concurrency bound (`max_concurrency`) and the 429 back-off are properties of the run,
not of a client-route, so every worker goes through the same pool of handles and the same "pause until" clock.

Why libcurl (pycurl): a first load of many small clients is one request per few records, so the HTTP
library's CPU per request bounds how many requests one core can make. Measured side by side on the same
URLs, 8 in flight (`python -m bench.http_clients`): per request 0.06 ms of CPU with pycurl on keep-alive
(0.17 ms on HTTP/1.0, a connection a request), 0.20/0.39 ms urllib3, 0.20/0.43 ms aiohttp, 0.34/0.44 ms
httpcore, 0.45/0.65 ms httpx's transport (what this client used), 0.53/0.83 ms httpx.Client. libcurl parses
HTTP, decodes gzip and waits on sockets in C without the GIL, so the threads that parse pages and build Arrow
tables meanwhile run.

Longer than ~300 lines because the libcurl handle pool, its retries and its error mapping are one unit.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass_environment

import certifi
import orjson
import pycurl

from .errors import (
    AuthenticationError,
    BadResponseError,
    LeadPantherError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)

USER_AGENT = "leadpanther-elt/0.1 (+dlt)"


@dataclass
class CallStats:
    """Counters for one client-route; the sync_runs table is built from these."""

    requests: int = 0
    retries: int = 0
    pages: int = 0
    last_request_id: str | None = None
    last_status: int | None = None


@dataclass
class RetryPolicy:
    max_retries: int = 6
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 120.0


@dataclass
class ApiResponse:
    payload: dict[str, Any]
    request_id: str | None
    status: int


@dataclass
class _PauseClock:
    """Shared 'no request before' time: a 429 slows every worker, not just the one that got it."""

    until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, seconds: float) -> None:
        with self.lock:
            self.until = max(self.until, time.monotonic() + seconds)

    def wait(self) -> None:
        delay = self.until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class _Retryable(Exception):
    def __init__(self, error: LeadPantherError, wait_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait_s = wait_s


@dataclass
class _Response:
    """What one exchange returned: status, body, and the raw header lines (parsed only when needed)."""

    status: int
    content: bytes
    header_lines: list[bytes]

    def header(self, name: str) -> str | None:
        """The last value of header `name` (case-insensitive) in the final response's headers."""
        wanted = name.lower().encode() + b":"
        value = None
        for line in self.header_lines:
            if line[: len(wanted)].lower() == wanted:
                value = line[len(wanted) :].strip().decode("latin-1")
        return value

    @property
    def reason_phrase(self) -> str:
        status_line = next((line for line in self.header_lines if line.startswith(b"HTTP/")), b"")
        parts = status_line.decode("latin-1").strip().split(" ", 2)
        return parts[2] if len(parts) == 3 else ""


class _HeaderLines:
    """HEADERFUNCTION target: keeps only the last response's header lines (a 100 Continue comes first)."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def add(self, line: bytes) -> None:
        if line.startswith(b"HTTP/"):
            self.lines = []
        self.lines.append(line)


class LeadPantherClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        max_concurrency: int = 8,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._pause = _PauseClock()
        self._headers = [
            f"Authorization: Bearer {api_key}",
            f"User-Agent: {USER_AGENT}",
            "Accept: application/json",
        ]
        self._timeout_s = timeout_s
        self._proxy = _environment_proxy(self.base_url)
        # One handle per slot: taking a handle is taking one of the `max_concurrency` requests in flight, and
        # each handle keeps its own connection alive. Last in, first out: the warmest connection goes next.
        self._handles: queue.LifoQueue[pycurl.Curl] = queue.LifoQueue()
        self._all: list[pycurl.Curl] = [self._new_handle() for _ in range(max_concurrency)]
        for handle in self._all:
            self._handles.put(handle)

    def _new_handle(self) -> pycurl.Curl:
        curl = pycurl.Curl()
        curl.setopt(pycurl.NOSIGNAL, 1)  # threads: no SIGALRM for DNS timeouts
        curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        curl.setopt(pycurl.HTTPHEADER, self._headers)
        curl.setopt(pycurl.ACCEPT_ENCODING, "gzip, deflate")  # decoded by libcurl
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(min(self._timeout_s, 10.0) * 1000))
        # A read timeout as httpx had: fail when nothing arrives for timeout_s (not a cap on a slow, moving body).
        curl.setopt(pycurl.LOW_SPEED_LIMIT, 1)
        curl.setopt(pycurl.LOW_SPEED_TIME, max(1, round(self._timeout_s)))
        curl.setopt(pycurl.CAINFO, os.environ.get("SSL_CERT_FILE") or certifi.where())
        # Proxies from the environment as httpx honoured them (HTTP_PROXY too, which libcurl alone ignores);
        # "" = no proxy, so libcurl's own environment lookup cannot differ from ours.
        curl.setopt(pycurl.PROXY, self._proxy or "")
        return curl

    def close(self) -> None:
        for handle in self._all:
            handle.close()
        self._all = []

    def __enter__(self) -> LeadPantherClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        route: str,
        client_id: str | None = None,
        stats: CallStats | None = None,
    ) -> ApiResponse:
        """GET a JSON object, retrying what a retry can fix and raising a typed error for the rest."""
        stats = stats if stats is not None else CallStats()
        attempts = {"rate_limited": 0, "other": 0}  # 429s have their own (doubled) budget
        url = self._url(path, params)
        while True:
            self._pause.wait()
            stats.requests += 1
            try:
                response = self._send(url, path)
                result = self._interpret(response, route=route, client_id=client_id)
                stats.last_request_id, stats.last_status = result.request_id, result.status
                return result
            except _Retryable as retryable:
                stats.last_request_id = retryable.error.request_id
                stats.last_status = retryable.error.status
                limited = isinstance(retryable.error, RateLimitedError)
                kind = "rate_limited" if limited else "other"
                attempts[kind] += 1
                budget = self.retry.max_retries * (2 if limited else 1)
                if attempts[kind] > budget:
                    raise retryable.error from None
                stats.retries += 1
                self._back_off(attempts[kind], retryable.wait_s)
            except LeadPantherError as error:
                stats.last_request_id, stats.last_status = error.request_id, error.status
                raise

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        return f"{self.base_url}/{path.lstrip('/')}" + (f"?{urlencode(params)}" if params else "")

    @contextlib.contextmanager
    def _slot(self) -> Iterator[pycurl.Curl]:
        """A handle, i.e. one of the requests in flight: held for the exchange only."""
        handle = self._handles.get()
        try:
            yield handle
        finally:
            self._handles.put(handle)

    def _send(self, url: str, path: str) -> _Response:
        body, headers = io.BytesIO(), _HeaderLines()
        with self._slot() as curl:
            curl.setopt(pycurl.URL, url)
            curl.setopt(pycurl.WRITEDATA, body)
            curl.setopt(pycurl.HEADERFUNCTION, headers.add)
            try:
                curl.perform()
            except pycurl.error as exc:
                # Refused, dropped or reset connection, timeout, a body cut short or badly encoded: the request
                # can be repeated safely. libcurl's message names the host, never the headers (the key).
                code = exc.args[0] if exc.args else "?"
                raise _Retryable(ServerError(f"connection failed: curl error {code}", route=path)) from None
            status = int(curl.getinfo(pycurl.RESPONSE_CODE))
        return _Response(status, body.getvalue(), headers.lines)

    def _interpret(self, response: _Response, *, route: str, client_id: str | None) -> ApiResponse:
        status = response.status
        body, parse_error = _parse_json(response.content)
        request_id = body.get("request_id") if isinstance(body, dict) else None
        request_id = request_id if isinstance(request_id, str) else response.header("x-request-id")
        ctx = {"request_id": request_id, "status": status, "route": route, "client_id": client_id}
        if status == 200:
            if parse_error or not isinstance(body, dict):
                raise _Retryable(BadResponseError(f"response body is not JSON ({parse_error})", **ctx))
            return ApiResponse(body, request_id, status)
        message = _error_message(body) or response.reason_phrase
        code = _error_code(body)
        if status == 401:
            raise AuthenticationError(f"LeadPanther rejected the API key: {message}", code=code, **ctx)
        if status == 403:
            raise PermissionDeniedError(f"access denied: {message}", code=code, **ctx)
        if status == 404:
            raise NotFoundError(f"not found: {message}", code=code, **ctx)
        if status == 429:
            raise _Retryable(
                RateLimitedError(f"rate limited: {message}", code=code, **ctx),
                wait_s=_retry_after(response.header("retry-after"), self.retry.max_retry_after_s),
            )
        if status >= 500:
            raise _Retryable(ServerError(f"server error: {message}", code=code, **ctx))
        raise LeadPantherError(f"request refused: {message}", code=code, **ctx)

    def _back_off(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            self._pause.push(retry_after)
            self._pause.wait()
            return
        delay = min(self.retry.backoff_max_s, self.retry.backoff_s * 2 ** (attempt - 1))
        time.sleep(delay * (0.5 + random.random() / 2))


def _environment_proxy(base_url: str) -> str | None:
    """HTTPS_PROXY / HTTP_PROXY / ALL_PROXY for the API's scheme, unless NO_PROXY exempts its host."""
    parts = urlsplit(base_url)
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or proxy_bypass_environment(parts.hostname or "", proxies):
        return None
    return proxy


def _parse_json(content: bytes) -> tuple[Any, str | None]:
    try:
        return orjson.loads(content), None
    except orjson.JSONDecodeError as exc:
        return None, f"{len(content)} bytes, {str(exc)[:80]}"


def _error_message(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        return str(message)[:300] if message else None
    return None


def _error_code(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return str(code)[:80] if code else None
    return None


def _retry_after(value: str | None, cap: float) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, min(float(value), cap))
    except ValueError:
        return None
