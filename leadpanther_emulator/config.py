"""Configuration of the emulator: dataset presets, size knobs and fault switches (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .drift import Drift

# Size knobs per preset. Record counts are per client; engagement/analytics records come on top (one per post
# and per lead magnet).
PRESETS: dict[str, dict[str, int]] = {
    # tests: 4 clients (2 active, 1 revoked, 1 pending), ~500 list records
    "tiny": {"clients": 4, "posts_per_client": 20, "lead_magnets_per_client": 5, "leads_per_client": 40,
             "activity_per_client": 60},
    # demo: 6 clients, ~5,000 list records
    "demo": {"clients": 6, "posts_per_client": 150, "lead_magnets_per_client": 12, "leads_per_client": 250,
             "activity_per_client": 420},
    # medium: 50 clients (40 with an active grant), 316,000 list records (252,800 readable)
    "medium": {"clients": 50, "posts_per_client": 1200, "lead_magnets_per_client": 20,
               "leads_per_client": 2300, "activity_per_client": 2800},
    # agency: 10,000 client accounts (8,000 with an active grant) of 22 list records each, 176,000 readable
    # list records + ~45,000 engagement/analytics records: many small clients, the shape that scales with
    # the number of clients rather than records (run with warm=True in benchmarks)
    "agency": {"clients": 10_000, "posts_per_client": 5, "lead_magnets_per_client": 2, "leads_per_client": 7,
               "activity_per_client": 8},
    # large: 60 clients (48 active), 1,261,500 list records (1,009,200 readable) + engagement/analytics
    "large": {"clients": 60, "posts_per_client": 3000, "lead_magnets_per_client": 25,
              "leads_per_client": 9000, "activity_per_client": 9000},
}

ORDERS = ("newest", "oldest", "unstable")
HTTP_VERSIONS = ("1.1", "1.0")
# Route handler -> name in Faults.absent_routes (the ASSUMED routes a real account may not have).
ABSENTABLE_ROUTES = {"get_engagement": "post_engagement", "get_analytics": "lead_magnet_analytics"}


@dataclass
class Faults:
    """Fault switches, all off by default. Every random decision is drawn from the seed plus a hash of the
    exact request (method, path, query) and how many times that exact request was seen before."""

    latency_ms: float = 0.0  # fixed delay added to every API request
    jitter_ms: float = 0.0  # plus a uniform random delay in [0, jitter_ms)
    rate_limit_rate: float = 0.0  # fraction of requests answered 429
    rate_limit_burst: int = 0  # how many following requests also get 429
    retry_after_s: int = 1  # Retry-After header on 429
    error_rate: float = 0.0  # fraction answered 500/502/503 with the error body
    drop_rate: float = 0.0  # fraction of 200s where headers + part of the body are sent, then the socket closes
    truncated_rate: float = 0.0  # fraction of 200s whose body is cut mid-JSON (Content-Length matches the cut)
    non_json_rate: float = 0.0  # fraction of 200s answered with an HTML body
    bad_record_rate: float = 0.0  # fraction of records served with a wrong-typed or missing field (stable)
    revoke_after: dict[str, int] = field(default_factory=dict)  # client_id -> grant revoked after n requests
    churn_rate: float = 0.0  # fraction of list requests before which that client-route churns
    churn_rows: int = 1  # rows inserted, updated and deleted per churn event (each)
    # Routes this API does not have (the vendor documents neither analytics path): answered 404
    # route_not_found for every id. Names: "post_engagement", "lead_magnet_analytics".
    absent_routes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Faults:
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}")
        absent = set(data.get("absent_routes") or ()) - set(ABSENTABLE_ROUTES)
        if absent:
            raise ValueError(f"absent_routes: unknown route(s) {sorted(absent)}; choose from {ABSENTABLE_ROUTES}")
        return cls(**data)


@dataclass
class EmulatorConfig:
    seed: int = 7
    preset: str = "demo"
    clients: int | None = None
    posts_per_client: int | None = None
    lead_magnets_per_client: int | None = None
    leads_per_client: int | None = None
    activity_per_client: int | None = None
    order: str = "newest"  # newest | oldest | unstable
    # Behaviours the vendor leaves open (not faults: a real API may simply do this).
    # "1.0": every response is HTTP/1.0 and closes its connection (no keep-alive).
    http_version: str = "1.1"
    # Share of published posts that are low-impression posts whose reactions + comments + reposts + clicks
    # exceed their impressions (each engagement counts; impressions are viewable views only).
    engagement_above_impressions: float = 0.0
    faults: Faults = field(default_factory=Faults)
    # What the API sends beyond the documented fields and types (drift.py), all off by default.
    drift: Drift = field(default_factory=Drift)
    # Pre-generate every record at start-up (benchmarks: serving then costs no generation; ~2 KB a record).
    warm: bool = False

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose from {sorted(PRESETS)}")
        if self.order not in ORDERS:
            raise ValueError(f"unknown order {self.order!r}; choose from {ORDERS}")
        if self.http_version not in HTTP_VERSIONS:
            raise ValueError(f"unknown http_version {self.http_version!r}; choose from {HTTP_VERSIONS}")
        if not 0.0 <= self.engagement_above_impressions <= 1.0:
            raise ValueError("engagement_above_impressions is a share from 0 to 1")
        if isinstance(self.faults, dict):
            self.faults = Faults.from_dict(self.faults)
        if isinstance(self.drift, dict):
            self.drift = Drift.from_dict(self.drift)

    def knobs(self) -> dict[str, int]:
        knobs = dict(PRESETS[self.preset])
        for name in knobs:
            value = getattr(self, name)
            if value is not None:
                if value < 0:
                    raise ValueError(f"{name} must be >= 0")
                knobs[name] = int(value)
        return knobs

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["faults"] = self.faults.to_dict()
        data["drift"] = self.drift.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmulatorConfig:
        data = dict(data)
        data["faults"] = Faults.from_dict(data.get("faults"))
        data["drift"] = Drift.from_dict(data.get("drift"))
        return cls(**data)
