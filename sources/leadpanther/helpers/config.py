"""Config checks that run before any request, so a bad value fails early with a message to act on."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from ..settings import ALL_RESOURCES, API_KEY_PREFIX, MAX_PAGE_SIZE, MODES
from .errors import ConfigError

SECRET_HINT = "set [sources.leadpanther] api_key in .dlt/secrets.toml or the env var SOURCES__LEADPANTHER__API_KEY"


def check_api_key(api_key: object) -> str:
    if not isinstance(api_key, str) or not api_key.strip():
        raise ConfigError(f"no LeadPanther API key configured: {SECRET_HINT}")
    key = api_key.strip()
    if not key.startswith(API_KEY_PREFIX) or len(key) < 12 or any(c.isspace() for c in key):
        # Never echo the value: a mistyped key is still a key.
        raise ConfigError(
            f"the configured API key is not a LeadPanther key (expected the form lp_live_..., "
            f"{len(key)} characters given): {SECRET_HINT}"
        )
    return key


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: object) -> str:
    if not isinstance(base_url, str) or not base_url.strip():
        raise ConfigError("base_url is empty: set [sources.leadpanther] base_url or leave it out for the default")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base_url {base_url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ConfigError("base_url must not contain credentials; the key goes in api_key")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"base_url {base_url!r} uses plain http to a non-loopback host: the API key would travel "
            "unencrypted. Use https (plain http is accepted only for 127.0.0.1/localhost emulators)."
        )
    return base_url.strip().rstrip("/")


def check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def check_page_size(value: object) -> int:
    return check_int("page_size", value, 1, MAX_PAGE_SIZE)


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return str(mode)


def check_resources(resources: Sequence[str] | str | None) -> tuple[str, ...]:
    if resources is None or resources == "" or resources == []:
        return ALL_RESOURCES
    if isinstance(resources, str):
        resources = [r.strip() for r in resources.split(",") if r.strip()]
    unknown = [r for r in resources if r not in ALL_RESOURCES]
    if unknown:
        raise ConfigError(f"unknown resource(s) {', '.join(unknown)}; choose from {', '.join(ALL_RESOURCES)}")
    return tuple(r for r in ALL_RESOURCES if r in resources)


def check_client_ids(client_ids: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if client_ids is None or client_ids == "" or client_ids == []:
        return None
    if isinstance(client_ids, str):
        client_ids = [c.strip() for c in client_ids.split(",") if c.strip()]
    if not all(isinstance(c, str) and c for c in client_ids):
        raise ConfigError("client_ids must be a list of client user_ids (strings)")
    # Once each: a client listed twice would be scanned twice, and list tables' staged rows must be unique.
    return tuple(dict.fromkeys(client_ids))


def check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)
