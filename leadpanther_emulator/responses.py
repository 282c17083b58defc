"""Thin request -> model -> payload layer for /api/v1 routes (no state here, no sockets)."""

from __future__ import annotations

from typing import Any

from . import exceptions as exc
from .models import Backend

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def _int_param(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    text = raw.strip()
    body = text[1:] if text.startswith("-") else text
    if not body.isdigit() or not body.isascii():
        raise exc.InvalidPagination(f"'{name}' must be an integer")
    return int(text)


def paging(query: dict[str, str]) -> tuple[int, int]:
    limit = _int_param(query, "limit")
    offset = _int_param(query, "offset")
    if limit is None:
        limit = DEFAULT_LIMIT
    elif limit < 1:
        raise exc.InvalidPagination("'limit' must be at least 1")
    if offset is None:
        offset = 0
    elif offset < 0:
        raise exc.InvalidPagination("'offset' must be 0 or more")
    return min(limit, MAX_LIMIT), offset


def _bool_filter(query: dict[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise exc.InvalidFilter(f"'{name}' must be true or false")


class ApiHandlers:
    """One method per route in urls.ROUTES. Each returns (data, pagination or None)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _list(self, params: dict[str, str], query: dict[str, str], kind: str,
              flt: tuple[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        limit, offset = paging(query)
        rows, has_more = self.backend.list_records(params["clientId"], kind, offset, limit, flt)
        return rows, {"limit": limit, "offset": offset, "has_more": has_more}

    def list_clients(self, params, query, body):
        limit, offset = paging(query)
        rows, has_more = self.backend.list_clients(offset, limit)
        return rows, {"limit": limit, "offset": offset, "has_more": has_more}

    def get_client(self, params, query, body):
        return self.backend.client_record(self.backend.client(params["clientId"])), None

    def list_posts(self, params, query, body):
        return self._list(params, query, "posts")

    def list_lead_magnets(self, params, query, body):
        return self._list(params, query, "lead_magnets")

    def list_leads(self, params, query, body):
        has_email = _bool_filter(query, "has_email")
        return self._list(params, query, "leads", None if has_email is None else ("has_email", has_email))

    def list_activity(self, params, query, body):
        source = query.get("source")
        if source is not None and source not in ("comments", "messages"):
            raise exc.InvalidFilter("'source' must be comments or messages")
        return self._list(params, query, "activity", None if source is None else ("source", source))

    def get_post(self, params, query, body):
        return self.backend.get_record(params["clientId"], "posts", params["postId"]), None

    def get_lead_magnet(self, params, query, body):
        return self.backend.get_record(params["clientId"], "lead_magnets", params["leadMagnetId"]), None

    def get_engagement(self, params, query, body):
        return self.backend.get_derived(params["clientId"], "post_engagement", params["postId"]), None

    def get_analytics(self, params, query, body):
        return self.backend.get_derived(params["clientId"], "lead_magnet_analytics", params["leadMagnetId"]), None

    def create_post(self, params, query, body):
        return self.backend.create_post(params["clientId"], body), None

    def update_post(self, params, query, body):
        return self.backend.update_post(params["clientId"], params["postId"], body), None

    def delete_post(self, params, query, body):
        return self.backend.delete_post(params["clientId"], params["postId"]), None

    def create_lead_magnet(self, params, query, body):
        return self.backend.create_lead_magnet(params["clientId"], body), None

    def update_lead_magnet(self, params, query, body):
        return self.backend.update_lead_magnet(params["clientId"], params["leadMagnetId"], body), None

    def archive_lead_magnet(self, params, query, body):
        return self.backend.archive_lead_magnet(params["clientId"], params["leadMagnetId"]), None

    def upload_url(self, params, query, body):
        return self.backend.upload_url(params["clientId"], body), None
