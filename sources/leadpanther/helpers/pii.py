"""Personal-data policy, applied to values before dlt sees them.

Why at extract: with `hash` or `redact` the raw value must never reach a load package on disk, the dlt
trace or the destination, so the policy runs on the page's column values as they are turned into Arrow.
`hash` is HMAC-SHA256 keyed with a secret salt: the same input always gives the same digest, so joins and
distinct counts still work, but the value cannot be recovered or brute-forced without the salt.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..settings import DEFAULT_PII_POLICY, PII_CATALOG, PII_CATEGORIES, PII_POLICIES
from .errors import ConfigError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PROFILE_URL_RE = re.compile(r"^https?://([a-z]{2,3}\.)?linkedin\.com/in/", re.IGNORECASE)
SUSPECT_PATTERNS: dict[str, re.Pattern[str]] = {"email": EMAIL_RE, "profile_url": PROFILE_URL_RE}
SUSPECT_SHARE = 0.5  # a column is suspected when at least half of its non-null string values match
SUSPECTED_PREFIX = "suspected_"  # category of a column that only looks like personal data: suspected_email


def suspected(category: str) -> str:
    return f"{SUSPECTED_PREFIX}{category}"


def base_category(category: str) -> tuple[str, bool]:
    """('email', True) for 'suspected_email', ('email', False) for 'email'."""
    is_suspected = category.startswith(SUSPECTED_PREFIX)
    return category.removeprefix(SUSPECTED_PREFIX), is_suspected


@dataclass(frozen=True)
class PiiPolicy:
    """Policy per category plus the salt; built once per run from config."""

    policies: Mapping[str, str] = field(default_factory=dict)
    salt: bytes | None = None

    @classmethod
    def from_config(cls, policies: Mapping[str, str] | None, salt: str | None) -> PiiPolicy:
        policies = dict(policies or {})
        for category, action in policies.items():
            if category not in PII_CATEGORIES:
                raise ConfigError(
                    f"unknown PII category {category!r} in pii_policy; known: {', '.join(PII_CATEGORIES)}"
                )
            if action not in PII_POLICIES:
                raise ConfigError(f"pii_policy.{category} = {action!r} is not one of {', '.join(PII_POLICIES)}")
        if "hash" in policies.values() and not salt:
            raise ConfigError(
                "pii_policy uses 'hash' but no salt is set: add [sources.leadpanther] pii_salt to "
                ".dlt/secrets.toml or SOURCES__LEADPANTHER__PII_SALT (a long random string; keep it secret)"
            )
        if salt is not None and len(salt) < 16:
            raise ConfigError("pii_salt is too short: use at least 16 random characters")
        return cls(policies, salt.encode() if salt else None)

    def action(self, category: str) -> str:
        return self.policies.get(base_category(category)[0], DEFAULT_PII_POLICY)

    def effective(self) -> dict[str, str]:
        """The action per category, defaults included (what the run summary and `check` print)."""
        return {category: self.action(category) for category in PII_CATEGORIES}

    def describe(self) -> str:
        return ", ".join(f"{category} {action}" for category, action in self.effective().items())

    def apply(self, category: str, values: list[Any]) -> list[Any]:
        action = self.action(category)
        if action == "keep":
            return values
        if action == "redact":
            return [None] * len(values)
        return [None if v is None else self.digest(v) for v in values]

    def apply_one(self, category: str, value: Any) -> Any:
        return self.apply(category, [value])[0]

    def digest(self, value: Any) -> str:
        assert self.salt is not None
        text = value if isinstance(value, str) else repr(value)
        return hmac.new(self.salt, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def scrub_record(self, table: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """A raw record with its catalogued and suspect-looking values treated by the policy (for quarantine)."""
        catalog = PII_CATALOG.get(table, {})
        out: dict[str, Any] = {}
        for key, value in record.items():
            category = catalog.get(key) or (suspect_category([value]) if isinstance(value, str) else None)
            out[key] = self.apply_one(category, value) if category else value
        return out


def suspect_category(values: Iterable[Any]) -> str | None:
    """'suspected_email' / 'suspected_profile_url' when the string values look like personal data."""
    strings = [v for v in values if isinstance(v, str) and v]
    if not strings:
        return None
    for category, pattern in SUSPECT_PATTERNS.items():
        hits = sum(1 for v in strings if pattern.search(v))
        if hits / len(strings) >= SUSPECT_SHARE:
            return suspected(category)
    return None
