"""The source's settings as dlt configspecs: one definition of every key, its type and its default.

dlt resolves a configspec field by field, nested configspecs included, so every key works in each of the
forms dlt users write: a TOML section (`[sources.leadpanther.pii_policy] email = "hash"`), a nested env var
(`SOURCES__LEADPANTHER__PII_POLICY__EMAIL=hash`) and, for the nested policy, a JSON env value
(`SOURCES__LEADPANTHER__PII_POLICY='{"email": "hash"}'`). A privacy setting that is mistyped must not be
dropped silently, so keys this module does not define are refused (`unknown_keys`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Optional

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.container import Container
from dlt.common.configuration.exceptions import ConfigFieldMissingException, ConfigValueCannotBeCoercedException
from dlt.common.configuration.providers import EnvironProvider
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext
from dlt.common.typing import AnyType, TSecretStrValue

from .helpers.classification import check_classification
from .helpers.config import (
    SECRET_HINT,
    check_api_key,
    check_base_url,
    check_client_ids,
    check_int,
    check_mode,
    check_page_size,
    check_positive,
    check_resources,
)
from .helpers.drift import check_schema_contract
from .helpers.errors import ConfigError, exception_chain
from .helpers.pii import PiiPolicy
from .settings import (
    DEFAULT_ANALYTICS_WINDOW_DAYS,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MODE,
    DEFAULT_PAGE_SIZE,
    DEFAULT_PII_POLICY,
    DEFAULT_SCHEMA_CONTRACT,
    DEFAULT_SYNC_RUNS_RETENTION_DAYS,
    LEAD_MAGNET_ANALYTICS_PATH,
    PII_CATEGORIES,
    POST_ENGAGEMENT_PATH,
)

SOURCE_SECTIONS = ("sources", "leadpanther", "leadpanther")  # dlt's sources.<module section>.<source name>
SECRET_FIELDS = frozenset({"api_key", "pii_salt"})


@configspec
class PiiPolicyConfiguration(BaseConfiguration):
    """keep | hash | redact per category of personal data (settings.PII_CATEGORIES; a test holds them equal)."""

    email: str = DEFAULT_PII_POLICY
    name: str = DEFAULT_PII_POLICY
    profile_url: str = DEFAULT_PII_POLICY
    platform_id: str = DEFAULT_PII_POLICY
    free_text: str = DEFAULT_PII_POLICY
    authored_text: str = DEFAULT_PII_POLICY
    phone: str = DEFAULT_PII_POLICY

    # A section makes dlt also look the whole policy up as one value (the JSON env form).
    __section__: ClassVar[str] = "pii_policy"

    def parse_native_representation(self, native_value: Any) -> None:
        """The policy as one JSON object (`SOURCES__LEADPANTHER__PII_POLICY='{"email": "hash"}'`)."""
        value = native_value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as error:
                raise ConfigError(f"pii_policy is not a JSON object: {error}") from None
        if not isinstance(value, Mapping):
            raise ConfigError(f"pii_policy must be a JSON object of category -> action, got {type(value).__name__}")
        unknown = sorted(set(value) - set(PII_CATEGORIES))
        if unknown:
            raise ConfigError(
                f"unknown PII category {', '.join(unknown)} in pii_policy; known: {', '.join(PII_CATEGORIES)}"
            )
        for category, action in value.items():
            setattr(self, category, action)

    def policies(self) -> dict[str, str]:
        return {category: getattr(self, category) for category in PII_CATEGORIES}


@configspec
class LeadPantherSourceConfiguration(BaseConfiguration):
    """Every `[sources.leadpanther]` key. Values are checked once resolved, before any request is made."""

    api_key: TSecretStrValue = None
    """agency key, `lp_live_...`; refused before any request if missing or not of the `lp_` form; never logged"""
    base_url: str = DEFAULT_BASE_URL
    """plain `http` is refused unless the host is loopback (the emulator)"""
    page_size: int = DEFAULT_PAGE_SIZE
    """1..100 (the API caps at 100; paging follows what the API returned, not what was asked)"""
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    """1..64 requests in flight for the whole run, over all clients and routes"""
    client_ids: Optional[list[str]] = None  # noqa: UP045 (dlt reads Optional[...] as "not required")
    """allow-list of client `user_id`s (default: every client the key can see)"""
    resources: Optional[list[str]] = None  # noqa: UP045
    """subset of the tables to load (an analytics table alone still reads its list route, without loading it)"""
    mode: str = DEFAULT_MODE
    """`auto` reconciles on the cadence below; `quick` never; `reconcile` always (a full re-read)"""
    reconcile_every_runs: int = 24
    """`auto`: a client-route is reconciled on its Nth run since its last full scan ..."""
    reconcile_max_age_hours: float = 24.0
    """... or when its last full scan is older than this"""
    cursor_lookback_s: float = 3600.0
    """rows changed up to this long before the cursor are read again (races, clock skew)"""
    post_engagement_path: str = POST_ENGAGEMENT_PATH
    """the ASSUMED per-post engagement route"""
    lead_magnet_analytics_path: str = LEAD_MAGNET_ANALYTICS_PATH
    """the ASSUMED per-lead-magnet analytics route"""
    analytics_window_days: int = DEFAULT_ANALYTICS_WINDOW_DAYS
    """records created less than this many days ago get a daily snapshot of their figures (first run a day)"""
    pii_policy: PiiPolicyConfiguration = None
    """`keep | hash | redact` per category of personal data (`[sources.leadpanther.pii_policy]`)"""
    pii_salt: Optional[TSecretStrValue] = None  # noqa: UP045
    """key for `hash`; required when any category is `hash`"""
    field_classification: Optional[dict[str, str]] = None  # noqa: UP045
    """"table.field" -> PII category or `not_personal`, for fields the contract does not know
    (docs/personal-data-drift.md); a TOML table `[sources.leadpanther.field_classification]` or a JSON env value"""
    schema_contract: str = DEFAULT_SCHEMA_CONTRACT
    """dlt's schema_contract for new columns: `evolve | freeze | discard_value | discard_row`"""
    timeout_s: float = 30.0
    """per request"""
    max_retries: int = 6
    """per request, for 429, 5xx, dropped connections and bad bodies (429 gets twice this)"""
    backoff_s: float = 0.5
    """first back-off; doubles per retry up to 30 s; `Retry-After` wins"""

    def on_resolved(self) -> None:
        self.api_key = check_api_key(self.api_key)
        self.base_url = check_base_url(self.base_url)
        self.page_size = check_page_size(self.page_size)
        self.max_concurrency = check_int("max_concurrency", self.max_concurrency, 1, 64)
        self.client_ids = list(ids) if (ids := check_client_ids(self.client_ids)) is not None else None
        self.resources = list(check_resources(self.resources))
        self.mode = check_mode(self.mode)
        self.reconcile_every_runs = check_int("reconcile_every_runs", self.reconcile_every_runs, 1, 10_000)
        self.reconcile_max_age_hours = check_positive("reconcile_max_age_hours", self.reconcile_max_age_hours)
        self.cursor_lookback_s = check_positive("cursor_lookback_s", self.cursor_lookback_s)
        self.analytics_window_days = check_int("analytics_window_days", self.analytics_window_days, 1, 3650)
        self.timeout_s = check_positive("timeout_s", self.timeout_s)
        self.max_retries = check_int("max_retries", self.max_retries, 0, 20)
        self.backoff_s = check_positive("backoff_s", self.backoff_s)
        for name in ("post_engagement_path", "lead_magnet_analytics_path"):
            if not str(getattr(self, name) or "").startswith("/"):
                raise ConfigError(f"{name} must be a path starting with '/', got {getattr(self, name)!r}")
        self.schema_contract = check_schema_contract(self.schema_contract)
        self.pii()  # checks categories, actions, the salt and field_classification

    def pii(self) -> PiiPolicy:
        policy = self.pii_policy.policies() if self.pii_policy is not None else {}
        classification = self.field_classification
        if isinstance(classification, str):  # a JSON env value dlt did not parse
            try:
                classification = json.loads(classification)
            except ValueError as error:
                raise ConfigError(f"field_classification is not a JSON object: {error}") from None
        return PiiPolicy.from_config(policy, self.pii_salt, check_classification(classification))


@configspec
class SyncRunsRetentionConfiguration(BaseConfiguration):
    """`[sources.leadpanther] sync_runs_retention_days`: the connector's own `sync_runs` table gets a row per
    client-route per run (at 10,000 clients and hourly runs, ~1.4M rows a day), so rows older than this many
    days are deleted after each load. Read by the pipeline, not the source; in the same section so a user
    finds it beside the other keys (and unknown-key checking knows it)."""

    sync_runs_retention_days: int = DEFAULT_SYNC_RUNS_RETENTION_DAYS
    """`sync_runs` rows older than this are deleted after each load; at thousands of clients run hourly choose
    7-14 (docs/performance.md)"""

    def on_resolved(self) -> None:
        self.sync_runs_retention_days = check_int("sync_runs_retention_days", self.sync_runs_retention_days, 1, 36500)


def resolve_sync_runs_retention_days() -> int:
    return resolve_configuration(SyncRunsRetentionConfiguration(), sections=SOURCE_SECTIONS).sync_runs_retention_days


def resolve_source_config(accept_partial: bool = False, **explicit: Any) -> LeadPantherSourceConfiguration:
    """The source's settings as the source itself sees them (for `check`, `start` and the run summary)."""
    refuse_unknown_keys()
    return resolve_configuration(
        LeadPantherSourceConfiguration(),
        sections=SOURCE_SECTIONS,
        explicit_value=explicit or None,
        accept_partial=accept_partial,
    )


def _known_tree() -> dict[str, Any]:
    """Key -> None (a value) or the keys of a nested section."""
    tree: dict[str, Any] = {name: None for name in LeadPantherSourceConfiguration.get_resolvable_fields()}
    tree.update(dict.fromkeys(SyncRunsRetentionConfiguration.get_resolvable_fields()))
    tree["pii_policy"] = dict.fromkeys(PiiPolicyConfiguration.get_resolvable_fields())
    tree["pii_policy"].pop("__section__", None)
    return tree


def _walk(mapping: Mapping[str, Any], known: Mapping[str, Any], prefix: str, nested_source: bool) -> Iterator[str]:
    for key, value in mapping.items():
        if key in known:
            if known[key] is not None and isinstance(value, Mapping):
                yield from _walk(value, known[key], f"{prefix}.{key}", False)
        elif nested_source and key == SOURCE_SECTIONS[2] and isinstance(value, Mapping):
            yield from _walk(value, known, f"{prefix}.{key}", False)  # [sources.leadpanther.leadpanther]
        else:
            yield f"{prefix}.{key}"


def _env_unknown(known: Mapping[str, Any]) -> Iterator[str]:
    prefix = "SOURCES__LEADPANTHER__"
    for name in sorted(os.environ):
        if not name.startswith(prefix):
            continue
        parts = [p.lower() for p in name[len(prefix) :].split("__")]
        if parts and parts[0] == SOURCE_SECTIONS[2] and parts[0] not in known and len(parts) > 1:
            parts = parts[1:]
        node: Any = known
        for part in parts:
            if not isinstance(node, Mapping) or part not in node:
                yield name
                break
            node = node[part]


def unknown_keys() -> list[str]:
    """`SOURCES__LEADPANTHER__*` env vars and `[sources.leadpanther]` keys (config.toml, secrets.toml, any dlt
    provider with sections) that no setting of this source reads."""
    known = _known_tree()
    found = list(_env_unknown(known))
    for provider in Container()[PluggableRunContext].providers.providers:
        if isinstance(provider, EnvironProvider) or not provider.supports_sections or provider.is_empty:
            continue
        section, _ = provider.get_value(SOURCE_SECTIONS[1], AnyType, None, SOURCE_SECTIONS[0])
        if isinstance(section, Mapping):
            where = f"{provider.name}: [sources.leadpanther]"
            found += [f"{key} ({where})" for key in _walk(section, known, "sources.leadpanther", True)]
    return found


def refuse_unknown_keys() -> None:
    unknown = unknown_keys()
    if unknown:
        known = ", ".join(sorted(k for k in _known_tree()))
        raise ConfigError(
            f"unknown setting(s) for the leadpanther source: {'; '.join(unknown)}. A mistyped key would be "
            f"ignored (a privacy setting among them), so nothing runs. Known keys: {known}; pii_policy "
            f"categories: {', '.join(PII_CATEGORIES)}"
        )


def check_explicit_pii_policy(policy: Any) -> None:
    """A policy passed in code as a dict: dlt skips a whole dict when one key is not a field of the configspec
    (the policy would fail open), so `run_sync` refuses it here first. Callers of `leadpanther_source` itself
    should pass a `PiiPolicyConfiguration` or call this."""
    if isinstance(policy, Mapping) and not isinstance(policy, BaseConfiguration):
        PiiPolicyConfiguration().parse_native_representation(policy)


def config_error(exc: BaseException) -> ConfigError | None:
    """dlt's config exceptions, re-said in terms of this connector's settings (never with values of secrets)."""
    dlt_config_errors = (ConfigFieldMissingException, ConfigValueCannotBeCoercedException)
    exc = next((e for e in exception_chain(exc) if isinstance(e, dlt_config_errors)), exc)
    if isinstance(exc, ConfigFieldMissingException) and exc.spec_name == LeadPantherSourceConfiguration.__name__:
        if "api_key" in exc.fields:
            return ConfigError(f"no LeadPanther API key configured: {SECRET_HINT}")
        return ConfigError(f"missing configuration: {', '.join(exc.fields)} in [sources.leadpanther]")
    if isinstance(exc, ConfigValueCannotBeCoercedException):
        shown = "<secret>" if exc.field_name in ("api_key", "pii_salt") else repr(exc.field_value)[:60]
        return ConfigError(
            f"[sources.leadpanther] {exc.field_name} = {shown} is not a valid {getattr(exc.hint, '__name__', exc.hint)}"
        )
    return None
