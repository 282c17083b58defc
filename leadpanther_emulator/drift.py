"""Drift: what a real account may send beyond the vendor's examples (docs/api-contract.md, "Fields nobody
listed"). One switch per kind, all off by default; each is applied where a record is served (lists, single
records, analytics, clients), so `truth()` shows exactly what the API sent. Deterministic: every choice is a
function of the seed-derived record hash.

Kinds: `extra_fields` (undocumented scalar fields on every route; personal ones among them: phones, emails,
job titles), `nested_objects` (undocumented objects, person-like ones among them, and unknown keys inside the
documented objects `grant` and `hosted_page`), `numbers_as_strings` (a share of analytics records send their
figures as JSON strings: "2743", "12.0"), `unconvertible_values` (a share of analytics records send a figure
as "n/a"), `timestamp_spellings` (a share of records spell timestamps `+00:00`, without or with more fraction
digits, or with another offset; same instant), `missing_field` (a documented field disappears from every
record), `type_change` (a figure becomes an object for good).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from .generator import fmt_ms, mix, parse_iso_ms

KINDS = ("extra_fields", "nested_objects", "numbers_as_strings", "unconvertible_values", "timestamp_spellings",
         "missing_field", "type_change")
# Shares used by `Drift.lossless()` / `Drift.everything()`.
DEFAULT_SHARE = 0.25
TIMESTAMP_FIELDS = ("created_at", "updated_at", "published_at", "scheduled_at", "captured_at")
FIGURES = {"post_engagement": ("impressions", "reactions", "comments", "reposts", "clicks"),
           "lead_magnet_analytics": ("views", "requests", "deliveries")}
# The documented field each route stops sending with missing_field (never a key, a cursor or a figure).
MISSING = {"clients": "account_status", "posts": "linkedin_url", "lead_magnets": "text_template",
           "leads": "headline", "activity": "keyword_matched", "post_engagement": "clicks",
           "lead_magnet_analytics": "deliveries"}
# The figure that becomes an object with type_change.
TYPE_CHANGE = {"post_engagement": "reposts", "lead_magnet_analytics": "requests"}
CITIES = (("Berlin", "DE"), ("Lisbon", "PT"), ("Austin", "US"), ("Leeds", "GB"), ("Osaka", "JP"))
JOBS = ("Head of Growth", "Founder", "Sales Lead", "CMO", "Recruiter")


@dataclass
class Drift:
    extra_fields: bool = False
    nested_objects: bool = False
    numbers_as_strings: float = 0.0
    unconvertible_values: float = 0.0
    timestamp_spellings: float = 0.0
    missing_field: bool = False
    type_change: bool = False

    def __post_init__(self) -> None:
        for name in ("numbers_as_strings", "unconvertible_values", "timestamp_spellings"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"drift.{name} is a share from 0 to 1")

    @property
    def on(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @classmethod
    def lossless(cls) -> Drift:
        """Every kind whose values the connector can load without losing one (no 'n/a' figures)."""
        return cls(True, True, DEFAULT_SHARE, 0.0, DEFAULT_SHARE, True, True)

    @classmethod
    def everything(cls) -> Drift:
        return cls(True, True, DEFAULT_SHARE, 0.1, DEFAULT_SHARE, True, True)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Drift:
        data = dict(data or {})
        unknown = set(data) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown drift switches: {sorted(unknown)}; choose from {KINDS}")
        return cls(**data)

    @classmethod
    def parse(cls, text: str) -> Drift:
        """CLI form: "all", "lossless", or kinds separated by commas (shares at their default)."""
        if text in ("all", "everything"):
            return cls.everything()
        if text == "lossless":
            return cls.lossless()
        values: dict[str, Any] = {}
        for kind in filter(None, (k.strip() for k in text.split(","))):
            if kind not in KINDS:
                raise ValueError(f"unknown drift kind {kind!r}; choose from {KINDS}, all, lossless")
            values[kind] = DEFAULT_SHARE if kind in ("numbers_as_strings", "timestamp_spellings") else (
                0.1 if kind == "unconvertible_values" else True)
        return cls(**values)

    def apply(self, record: dict[str, Any], resource: str, h: int) -> dict[str, Any]:
        """The record as this API serves it (a copy when anything changes)."""
        if not self.on:
            return record
        out = dict(record)
        h = mix(h ^ 0xD41F7)
        if self.extra_fields:
            out.update(_extra(resource, h, out))
        if self.nested_objects:
            _nested(resource, h, out)
        if self.missing_field:
            out.pop(MISSING[resource], None)
        if self.type_change and resource in TYPE_CHANGE:
            name = TYPE_CHANGE[resource]
            if isinstance(out.get(name), int):
                out[name] = {"count": out[name], "unique": out[name] // 2}
        if resource in FIGURES and _share(h, 1, self.numbers_as_strings):
            figures = [f for f in FIGURES[resource] if isinstance(out.get(f), int)]
            for k, name in enumerate(figures):
                out[name] = f"{out[name]}.0" if (h >> (8 + k)) & 1 else str(out[name])
        if resource in FIGURES and _share(h, 2, self.unconvertible_values):
            figures = [f for f in FIGURES[resource] if f in out and not isinstance(out[f], dict)]
            if figures:
                out[figures[(h >> 20) % len(figures)]] = "n/a"
        if _share(h, 3, self.timestamp_spellings):
            for name in TIMESTAMP_FIELDS:
                if isinstance(out.get(name), str):
                    out[name] = respell(out[name], h >> 24)
            grant = out.get("grant")
            if isinstance(grant, dict):
                out["grant"] = {**grant, **{k: respell(v, h >> 26) for k, v in grant.items()
                                            if k in ("created_at", "updated_at") and isinstance(v, str)}}
        return out


def _share(h: int, salt: int, share: float) -> bool:
    return share > 0 and (mix(h ^ salt) >> 11) / 9007199254740992.0 < share


def respell(stamp: str, h: int) -> str:
    """The same instant in another ISO 8601 spelling."""
    ms = parse_iso_ms(stamp)
    if ms is None:
        return stamp
    base = fmt_ms(ms)  # 2026-01-01T00:00:00.000Z
    kind = h % 4
    if kind == 0:
        return base[:-1] + "+00:00"
    if kind == 1:
        return base[:19] + "Z" if ms % 1000 == 0 else base[:-1] + "000Z"  # no fraction / microseconds
    if kind == 2:
        return base[:-1] + "000+00:00"
    shifted = fmt_ms(ms + 7_200_000)  # +02:00: the wall clock two hours later
    return shifted[:-1] + "+02:00"


def _phone(h: int) -> str:
    return f"+1 555 01{h % 100:02d} {(h >> 8) % 10_000:04d}"


def _extra(resource: str, h: int, record: dict[str, Any]) -> dict[str, Any]:
    n = h % 10_000
    if resource == "clients":
        return {"phone_number": _phone(h), "account_manager_email": f"manager{n}@agency.example", "seats": 1 + h % 9}
    if resource == "posts":
        return {"hashtags": ["#growth", "#b2b"][: 1 + h % 2], "reach_estimate": 100 + n,
                "owner_email": f"owner{n}@agency.example"}
    if resource == "lead_magnets":
        return {"conversion_goal": ("newsletter", "demo", "download")[h % 3], "contact_phone": _phone(h >> 3)}
    if resource == "leads":
        return {"phone_number": _phone(h), "job_title": JOBS[h % len(JOBS)], "lead_score": h % 100}
    if resource == "activity":
        return {"author_email": f"author{n}@mail.example", "author_location": CITIES[h % len(CITIES)][0]}
    if resource == "post_engagement":
        impressions = record.get("impressions")
        return {"reach": impressions // 2 if isinstance(impressions, int) else n, "saves": h % 50}
    return {"unique_visitors": n}


def _nested(resource: str, h: int, out: dict[str, Any]) -> None:
    city, country = CITIES[(h >> 5) % len(CITIES)]
    n = h % 10_000
    if resource == "clients":
        out["billing_contact"] = {"name": f"Billing Person {n}", "email": f"billing{n}@client.example"}
        if isinstance(out.get("grant"), dict):
            out["grant"] = {**out["grant"], "region": ("eu-west", "us-east")[h % 2]}
    elif resource == "posts":
        out["author"] = {"name": f"Author {n}", "profile_url": f"https://www.linkedin.com/in/author-{n}"}
    elif resource == "lead_magnets":
        out["settings"] = {"double_opt_in": bool(h & 1), "theme": "light"}
        if isinstance(out.get("hosted_page"), dict):
            out["hosted_page"] = {**out["hosted_page"], "seo_title": f"Guide {n}"}
    elif resource == "leads":
        out["location"] = {"city": city, "country": country}
    elif resource == "activity":
        out["author_profile"] = {"headline": JOBS[h % len(JOBS)], "followers": n}
    elif resource == "post_engagement":
        out["demographics"] = {"top_country": country, "share": round((h % 100) / 100, 2)}
    else:
        out["sources"] = {"linkedin": n, "direct": h % 100}
