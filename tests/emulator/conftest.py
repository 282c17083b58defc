from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator

REQUEST_ID = re.compile(r"^req_[0-9a-zA-Z]{24}$")


def api(emu: Any, key: str | None = "full") -> httpx.Client:
    """An httpx client for this emulator and key, reused (creating one builds an SSL context: slow)."""
    cache = emu.__dict__.setdefault("_test_clients", {})
    if key not in cache:
        headers = {} if key is None else {"Authorization": f"Bearer {emu.keys.get(key, key)}"}
        cache[key] = httpx.Client(base_url=emu.base_url, headers=headers, timeout=30)
    return cache[key]


def scan(client: httpx.Client, path: str, limit: int = 100, **params: Any) -> tuple[list[dict], int]:
    """Page through a list route; returns (rows, number of requests)."""
    rows: list[dict] = []
    offset = 0
    requests = 0
    while True:
        resp = client.get(path, params={"limit": limit, "offset": offset, **params})
        requests += 1
        assert resp.status_code == 200, resp.text
        body = resp.json()
        rows.extend(body["data"])
        if not body["pagination"]["has_more"]:
            return rows, requests
        offset += len(body["data"])


@pytest.fixture(scope="module")
def tiny() -> Iterator[Any]:
    with run_emulator(EmulatorConfig(seed=7, preset="tiny")) as emu:
        yield emu


@pytest.fixture
def fresh() -> Iterator[Any]:
    with run_emulator(EmulatorConfig(seed=7, preset="tiny")) as emu:
        yield emu
