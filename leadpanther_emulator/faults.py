"""Fault decisions. Every draw comes from (seed, method, path, query, times this exact request was seen),
so a run is reproducible regardless of thread interleaving and a retry gets a fresh draw."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from .config import Faults
from .generator import GOLD, MASK64, frac, key_of, mix


@dataclass
class Decision:
    delay_s: float = 0.0
    rate_limited: bool = False
    error_status: int | None = None
    drop: bool = False
    drop_fraction: float = 0.5
    truncate: bool = False
    non_json: bool = False
    churn: bool = False


class FaultEngine:
    def __init__(self, seed: int, faults: Faults) -> None:
        self.seed = seed
        self.faults = faults
        self.lock = threading.Lock()
        self.seen: Counter[tuple[str, str, str]] = Counter()
        self.burst_left = 0
        self.client_requests: Counter[str] = Counter()

    def set(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self.burst_left = 0
            self.client_requests.clear()

    def count_client_request(self, client_id: str) -> bool:
        """Count an API request for a client; True (once) when its grant must now be revoked (revoke_after)."""
        limit = self.faults.revoke_after.get(client_id)
        if limit is None:
            return False
        with self.lock:
            self.client_requests[client_id] += 1
            return self.client_requests[client_id] == limit + 1

    def decide(self, method: str, path: str, query: str, is_list: bool) -> Decision:
        f = self.faults
        key = (method, path, query)
        with self.lock:
            n = self.seen[key]
            self.seen[key] = n + 1
        h = key_of(self.seed, method, path, query, n)
        draws = [frac(mix((h + k * GOLD) & MASK64)) for k in range(1, 10)]
        d = Decision()
        d.delay_s = max(0.0, (f.latency_ms + draws[0] * f.jitter_ms) / 1000.0)
        with self.lock:
            if self.burst_left > 0:
                self.burst_left -= 1
                d.rate_limited = True
            elif draws[1] < f.rate_limit_rate:
                d.rate_limited = True
                self.burst_left = max(0, int(f.rate_limit_burst))
        if draws[2] < f.error_rate:
            d.error_status = (500, 502, 503)[int(draws[3] * 3) % 3]
        d.drop = draws[4] < f.drop_rate
        d.drop_fraction = 0.2 + 0.6 * draws[3]
        d.truncate = draws[5] < f.truncated_rate
        d.non_json = draws[6] < f.non_json_rate
        d.churn = is_list and draws[7] < f.churn_rate
        return d
