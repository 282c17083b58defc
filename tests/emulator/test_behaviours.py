"""Behaviours the vendor's page leaves open, each an emulator switch: HTTP/1.0 without keep-alive, and
low-impression posts with more engagements than impressions (order has its own tests in test_pagination)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from tests.emulator.conftest import api


def _raw_exchange(base_url: str, key: str, http_version: str) -> tuple[bytes, bytes]:
    """Two GETs written on one connection; returns (everything read, what came after the first response)."""
    parts = urlsplit(base_url)
    request = (
        f"GET {parts.path}/clients?limit=1 HTTP/{http_version}\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {key}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request + request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if received.count(b"HTTP/1.") >= 2:
                    break
        except TimeoutError:
            pass
    first_end = received.find(b"\r\n\r\n")
    return received, received[first_end:]


def engagements(record: dict) -> int:
    return record["reactions"] + record["comments"] + record["reposts"] + record["clicks"]


@pytest.mark.parametrize("http_version", ["1.0", "1.1"])
def test_http_version_switch(http_version: str) -> None:
    with run_emulator(EmulatorConfig(seed=2, preset="tiny", http_version=http_version)) as emu:
        received, _ = _raw_exchange(emu.base_url, emu.keys["full"], "1.1")
        head = received.split(b"\r\n\r\n", 1)[0].decode()
        assert head.startswith(f"HTTP/{http_version} 200")
        if http_version == "1.0":
            # no keep-alive: the server closed after the first response, the second request got nothing
            assert "Connection: close" in head and received.count(b"HTTP/1.") == 1
        else:
            assert "Connection: close" not in head and received.count(b"HTTP/1.1 200") == 2


def test_engagement_above_impressions_switch() -> None:
    share = 0.3
    with run_emulator(EmulatorConfig(seed=4, preset="demo", engagement_above_impressions=share)) as emu:
        records = list(emu.iter_truth("post_engagement"))
        served = [r for r in records if r["impressions"] > 0]
        above = [r for r in served if engagements(r) > r["impressions"]]
        assert 0.2 * len(served) < len(above) < 0.4 * len(served), (len(above), len(served))
        assert all(r["impressions"] < 15 for r in above)  # low-impression posts
        sample = above[0]
        client_id = next(c for c in emu.client_ids("active")
                         if any(p["id"] == sample["post_id"] for p in emu.truth("posts", c)))
        body = api(emu).get(f"/clients/{client_id}/posts/{sample['post_id']}/engagement").json()
        assert body["data"] == sample
    with run_emulator(EmulatorConfig(seed=4, preset="demo")) as emu:  # off by default
        records = list(emu.iter_truth("post_engagement"))
        assert not [r for r in records if engagements(r) > r["impressions"]]
