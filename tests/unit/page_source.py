"""The unit tier: the connector's pure logic (paging, planning, the overlap gate, record building, config
checks) with no server, no database and no dlt pipeline, so each case costs milliseconds and many can run.

The behaviour end to end (real HTTP to the emulator, a real DuckDB file) stays covered by tests/source and
tests/faults; here the same rules meet the corner cases that are slow or awkward to stage over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sources.leadpanther.helpers.client import ApiResponse, CallStats

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def stamp(minutes: int) -> str:
    """An API timestamp `minutes` after T0 (the API's ISO 8601 form, with Z)."""
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def row(i: int, *, created: int | None = None, updated: int | None = None) -> dict[str, Any]:
    """A list row with id `r<i>`, created `created` (default i) minutes after T0 and updated `updated`."""
    created = i if created is None else created
    return {
        "id": f"r{i:04d}",
        "created_at": stamp(created),
        "updated_at": stamp(created if updated is None else updated),
    }


class PageSource:
    """Stands in for LeadPantherClient.get on one route: serves `rows` by limit/offset in the API's envelope.

    `before_page(source, offset)` runs before each page is cut, so a test can move the data while a scan
    pages (insert or delete rows before its position: offset drift). `envelopes` maps a request number to a
    body to serve instead (a broken envelope). Every (offset, limit) asked is kept in `asked`."""

    def __init__(
        self,
        rows: list[dict[str, Any]],
        *,
        before_page: Callable[[PageSource, int], None] | None = None,
        envelopes: dict[int, Any] | None = None,
    ) -> None:
        self.rows = list(rows)
        self.before_page = before_page
        self.envelopes = envelopes or {}
        self.asked: list[tuple[int, int]] = []

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        route: str,
        client_id: str | None = None,
        stats: CallStats | None = None,
    ) -> ApiResponse:
        params = params or {}
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 50))
        number = len(self.asked)
        self.asked.append((offset, limit))
        if stats is not None:
            stats.requests += 1
            stats.last_request_id = f"req_{number:024d}"
        if self.before_page is not None:
            self.before_page(self, offset)
        if number in self.envelopes:
            return ApiResponse(self.envelopes[number], f"req_{number:024d}", 200)
        page = self.rows[offset : offset + limit]
        body = {
            "data": page,
            "pagination": {"limit": limit, "offset": offset, "has_more": offset + limit < len(self.rows)},
        }
        return ApiResponse(body, f"req_{number:024d}", 200)
