"""`leadpanther-elt check`: what the configured key may read, per client and scope, before a first run.

The probes come from `RESOURCE_SCOPES` (one per scope, through the first resource needing it) and use the
configured routes, so `check` asks exactly what a run would ask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sources.leadpanther.configuration import LeadPantherSourceConfiguration, resolve_source_config
from sources.leadpanther.helpers.client import LeadPantherClient, RetryPolicy
from sources.leadpanther.helpers.client_list import ClientList
from sources.leadpanther.helpers.errors import AuthenticationError, LeadPantherError
from sources.leadpanther.helpers.sync_log import SyncLog
from sources.leadpanther.settings import ANALYTICS_PARENTS, CLIENTS_PATH, RESOURCE_SCOPES, ROUTE_PATHS

# Scopes to probe per client (clients:read is what GET /clients itself proves), in RESOURCE_SCOPES order.
PROBED_SCOPES = tuple(dict.fromkeys(s for r, s in RESOURCE_SCOPES.items() if r != "clients"))


def _status(error: LeadPantherError) -> str:
    return f"{error.status or 'error'}"


def probe(client: LeadPantherClient, client_id: str, paths: dict[str, str]) -> dict[str, str]:
    """Per scope: 'ok', the HTTP status that refused it, or '-' (nothing to ask about: a per-record route and
    no record)."""
    out: dict[str, str] = {}
    first_ids: dict[str, str] = {}
    for scope in PROBED_SCOPES:
        out[scope] = "-"
        for resource in (r for r, s in RESOURCE_SCOPES.items() if s == scope):
            if resource in ROUTE_PATHS:
                path, params = ROUTE_PATHS[resource].format(client_id=client_id), {"limit": 1}
            elif resource in ANALYTICS_PARENTS and ANALYTICS_PARENTS[resource] in first_ids:
                record_id = first_ids[ANALYTICS_PARENTS[resource]]
                path, params = (
                    paths[resource].format(client_id=client_id, post_id=record_id, lead_magnet_id=record_id),
                    None,
                )
            else:
                continue
            try:
                response = client.get(path, params, route=resource, client_id=client_id)
            except AuthenticationError:
                raise
            except LeadPantherError as error:
                out[scope] = _status(error)
                break
            out[scope] = "ok"
            record = next(iter(response.payload.get("data") or []), None) if resource in ROUTE_PATHS else None
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                first_ids[resource] = record["id"]
            if resource not in ROUTE_PATHS:
                break
    return out


def pii_policy_line(config: LeadPantherSourceConfiguration) -> str:
    return "PII policy: " + config.pii().describe()


DEFAULT_MAX_CLIENTS = 50  # clients probed (4 requests each); an agency's 10,000 would take a while


def _grant(record: Any) -> str:
    return str(((record.get("grant") or {}) if isinstance(record, dict) else {}).get("status", "-"))


def run_check(
    print_line: Callable[[str], None] = print,
    api_key: str | None = None,
    base_url: str | None = None,
    max_clients: int = DEFAULT_MAX_CLIENTS,
) -> int:
    explicit: dict[str, Any] = {k: v for k, v in {"api_key": api_key, "base_url": base_url}.items() if v}
    config = resolve_source_config(**explicit)
    paths = {"post_engagement": config.post_engagement_path, "lead_magnet_analytics": config.lead_magnet_analytics_path}
    retry = RetryPolicy(max_retries=2)
    with LeadPantherClient(config.base_url, config.api_key, max_concurrency=2, retry=retry) as client:
        try:
            response = client.get(CLIENTS_PATH, {"limit": 1}, route="clients")
            listed = ClientList(client, SyncLog(), tuple(config.client_ids) if config.client_ids else None)
            clients = listed.selected_records()  # every page, as a run reads them
        except AuthenticationError as error:
            print_line(f"Key rejected: {error}")
            return 1
        except LeadPantherError as error:
            print_line(f"GET /clients failed: {error}")
            return 1
        grants = Counter(_grant(r) for r in clients)
        print_line(
            f"Key accepted by {config.base_url} (request_id {response.request_id}); {len(clients)} client(s) "
            f"visible (grants: {', '.join(f'{n} {g}' for g, n in sorted(grants.items()))})."
        )
        print_line(pii_policy_line(config))
        if len(clients) > max_clients:
            print_line(f"Probing the first {max_clients} of {len(clients)} clients (--max-clients N for more).")
        header = f"{'client_id':<38} {'grant':<9} " + " ".join(f"{s:<17}" for s in PROBED_SCOPES)
        print_line(header)
        partial = False
        for record in clients[:max_clients]:
            client_id = record.get("user_id", "?")
            grant = _grant(record)
            results = probe(client, client_id, paths)
            partial = partial or any(v not in ("ok", "-") for v in results.values())
            print_line(f"{client_id:<38} {grant:<9} " + " ".join(f"{results[s]:<17}" for s in PROBED_SCOPES))
        print_line(
            "ok = readable; 403 = missing scope or grant not active; 404 = unknown client or path; "
            "analytics:read is asked through one post's (else one lead magnet's) configured analytics route; "
            "- = no record to ask about"
        )
    return 3 if partial else 0
