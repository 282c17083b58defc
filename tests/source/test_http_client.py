"""The HTTP client is libcurl (pycurl), configured by us rather than by its own environment lookup, so what a
plain client did for free is checked here: proxies from the environment, NO_PROXY, and the headers the API
sees."""

from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from sources.leadpanther.helpers.client import LeadPantherClient, _environment_proxy

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_proxy_comes_from_the_environment_unless_no_proxy_exempts_the_host(clean_proxy_env) -> None:
    api = "https://app.leadpanther.ai/api/v1"
    assert _environment_proxy(api) is None
    clean_proxy_env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert _environment_proxy(api) == "http://proxy.internal:3128"
    assert _environment_proxy("http://127.0.0.1:8080/api/v1") is None  # HTTPS_PROXY is for https only
    clean_proxy_env.setenv("NO_PROXY", "leadpanther.ai")
    assert _environment_proxy(api) is None


class _ForwardingProxy(BaseHTTPRequestHandler):
    """A plain HTTP forward proxy: relays absolute-form GETs and remembers what it relayed."""

    seen: list[tuple[str, dict[str, str]]] = []
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.seen.append((self.path, dict(self.headers)))
        request = urllib.request.Request(self.path, headers={"Authorization": self.headers["Authorization"]})
        with self.direct.open(request, timeout=10) as upstream:
            body = upstream.read()
            status = upstream.status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_requests_go_through_the_environment_proxy_with_the_api_headers(clean_proxy_env) -> None:
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    _ForwardingProxy.seen.clear()
    try:
        with run_emulator(EmulatorConfig(seed=3, preset="tiny")) as emu:
            clean_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
            with LeadPantherClient(emu.base_url, emu.keys["full"]) as client:
                response = client.get("clients", {"limit": 5, "offset": 0}, route="clients")
    finally:
        proxy.shutdown()
    assert response.status == 200 and len(response.payload["data"]) == len(emu.client_ids())
    ((path, headers),) = _ForwardingProxy.seen
    assert path == f"{emu.base_url}/clients?limit=5&offset=0"
    assert headers["Authorization"] == f"Bearer {emu.keys['full']}"
    assert headers["User-Agent"].startswith("leadpanther-elt/")
    assert headers["Accept"] == "application/json"
