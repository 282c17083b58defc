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

from ..settings import DEFAULT_PII_POLICY, PII_CATEGORIES, PII_POLICIES, UNCLASSIFIED
from .errors import ConfigError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PROFILE_URL_RE = re.compile(
    r"^https?://([a-z]{2,3}\.)?(linkedin\.com/(in|pub)/|(twitter|x|facebook|instagram|github)\.com/[^/?#\s]+/?$)",
    re.IGNORECASE,
)
# A phone number: 7-15 digits with at least one separator or a leading "+", so figures sent as strings
# ("2743", "1234567") and ISO dates do not look like phones.
PHONE_RE = re.compile(r"^(?=(?:\D*\d){7,15}\D*$)(\+\d|\(?\d{2,4}\)?[\s.-])[\d\s().-]{5,}$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d")
SUSPECT_PATTERNS: dict[str, re.Pattern[str]] = {"email": EMAIL_RE, "profile_url": PROFILE_URL_RE, "phone": PHONE_RE}
# Keys that make an object look like a person (or a person's contact card): its values are a person's data.
PERSON_KEYS = frozenset(
    {
        "name",
        "full_name",
        "first_name",
        "last_name",
        "display_name",
        "email",
        "phone",
        "phone_number",
        "mobile",
        "linkedin_profile_url",
        "profile_url",
        "address",
    }
)
SUSPECT_SHARE = 0.5  # a column is suspected when at least half of its non-null values match
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
    # "table.field" -> category or not_personal, for fields the catalog does not know (classification.py)
    classification: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls, policies: Mapping[str, str] | None, salt: str | None, classification: Mapping[str, str] | None = None
    ) -> PiiPolicy:
        """`classification` must already be checked (classification.check_classification)."""
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
        return cls(policies, salt.encode() if salt else None, dict(classification or {}))

    def action(self, category: str) -> str:
        if category == UNCLASSIFIED:
            return self.strictest()
        return self.policies.get(base_category(category)[0], DEFAULT_PII_POLICY)

    def strictest(self) -> str:
        """The strictest action in force (redact > hash > keep): what an unclassified personal field gets."""
        actions = set(self.policies.values())
        return next((a for a in ("redact", "hash") if a in actions), DEFAULT_PII_POLICY)

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


def serialized(value: Any) -> Any:
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value, default=str).decode()
    return value


def suspect_category(values: Iterable[Any]) -> str | None:
    """'suspected_email' / '_phone' / '_profile_url' / '_name' when the values look like personal data: strings
    by pattern, objects (or lists of them) by their keys (a person-like object) and by their string leaves."""
    hits: dict[str, int] = {}
    checked = 0
    for value in values:
        if value is None or value == "":
            continue
        checked += 1
        found = _string_category(value) if isinstance(value, str) else _object_category(value)
        if found:
            hits[found] = hits.get(found, 0) + 1
    if not checked:
        return None
    for category in ("name", *SUSPECT_PATTERNS):
        if hits.get(category, 0) / checked >= SUSPECT_SHARE:
            return suspected(category)
    return None


def _string_category(value: str) -> str | None:
    if ISO_DATE_RE.match(value):
        return None
    return next((c for c, pattern in SUSPECT_PATTERNS.items() if pattern.search(value)), None)


def _object_category(value: Any, depth: int = 0) -> str | None:
    """'name' for a person-like object, else the category of its first personal-looking string leaf."""
    if depth > 4:
        return None
    if isinstance(value, dict):
        if PERSON_KEYS & {str(k).lower() for k in value}:
            return "name"
        items: Iterable[Any] = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return _string_category(value) if isinstance(value, str) else None
    for item in items:
        found = _object_category(item, depth + 1)
        if found:
            return found
    return None
