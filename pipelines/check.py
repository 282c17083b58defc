"""`leadpanther-elt check`: what the configured key may read, per client and route, before a first run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.leadpanther_pipeline import config_value
from sources.leadpanther.helpers.client import LeadPantherClient, RetryPolicy
from sources.leadpanther.helpers.config import check_api_key, check_base_url
from sources.leadpanther.helpers.errors import AuthenticationError, LeadPantherError
from sources.leadpanther.settings import CLIENTS_PATH, DEFAULT_BASE_URL, POST_ENGAGEMENT_PATH, ROUTE_PATHS

COLUMNS = (*ROUTE_PATHS, "analytics")


def probe(client: LeadPantherClient, client_id: str) -> dict[str, str]:
    """One limit=1 request per list route: 'ok', or the HTTP status that refused it."""
    out: dict[str, str] = {}
    first_post: Any = None
    for resource, template in ROUTE_PATHS.items():
        try:
            response = client.get(
                template.format(client_id=client_id), {"limit": 1}, route=resource, client_id=client_id
            )
            out[resource] = "ok"
            if resource == "posts":
                first_post = next(iter(response.payload.get("data") or []), None)
        except AuthenticationError:
            raise
        except LeadPantherError as error:
            out[resource] = f"{error.status or 'error'}"
    # analytics:read, through the (assumed) engagement route of one post, when there is a post to ask about
    out["analytics"] = "-"
    if isinstance(first_post, dict) and isinstance(first_post.get("id"), str):
        path = POST_ENGAGEMENT_PATH.format(client_id=client_id, post_id=first_post["id"])
        try:
            client.get(path, route="post_engagement", client_id=client_id)
            out["analytics"] = "ok"
        except AuthenticationError:
            raise
        except LeadPantherError as error:
            out["analytics"] = f"{error.status or 'error'}"
    return out


def run_check(
    print_line: Callable[[str], None] = print, api_key: str | None = None, base_url: str | None = None
) -> int:
    key = check_api_key(api_key or config_value("sources.leadpanther.api_key", secret=True))
    url = check_base_url(base_url or config_value("sources.leadpanther.base_url") or DEFAULT_BASE_URL)
    with LeadPantherClient(url, key, max_concurrency=2, retry=RetryPolicy(max_retries=2)) as client:
        try:
            response = client.get(CLIENTS_PATH, {"limit": 100}, route="clients")
        except AuthenticationError as error:
            print_line(f"Key rejected: {error}")
            return 1
        except LeadPantherError as error:
            print_line(f"GET /clients failed: {error}")
            return 1
        clients: list[Any] = response.payload.get("data") or []
        print_line(f"Key accepted by {url} (request_id {response.request_id}); {len(clients)} client(s) visible.")
        header = f"{'client_id':<38} {'grant':<9} " + " ".join(f"{r:<12}" for r in COLUMNS)
        print_line(header)
        partial = False
        for record in clients:
            client_id = record.get("user_id", "?")
            grant = (record.get("grant") or {}).get("status", "-")
            results = probe(client, client_id)
            partial = partial or any(v not in ("ok", "-") for v in results.values())
            print_line(f"{client_id:<38} {grant:<9} " + " ".join(f"{results[r]:<12}" for r in COLUMNS))
        print_line(
            "ok = readable; 403 = missing scope or grant not active; 404 = unknown client or path; "
            "analytics = analytics:read through one post's engagement route (- = no post to ask about)"
        )
    return 3 if partial else 0
