"""Per-record analytics (post engagement, lead-magnet analytics): one request per record a list scan read.

Why apart from the list scans: these routes have no paging and no cursor; their cost is one request per
record, their failures are per client-route (a missing scope), and their statuses stay open while records
keep arriving.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..settings import ENGAGED_POST_STATUSES
from .arrow_items import build_items
from .client import CallStats, LeadPantherClient
from .errors import AuthenticationError, LeadPantherError, NotFoundError, PermissionDeniedError
from .fanout import fan_out
from .pii import PiiPolicy
from .records import TableBuilder
from .sync_log import RouteStatus, SyncLog

# The record id field each analytics route's records carry.
ANALYTICS_KEY = {"post_engagement": "post_id", "lead_magnet_analytics": "lead_magnet_id"}


class AnalyticsFetcher:
    """Fetches the analytics route of each record of a parent batch, concurrently over clients."""

    def __init__(
        self, client: LeadPantherClient, policy: PiiPolicy, log: SyncLog, paths: dict[str, str], *, max_concurrency: int
    ) -> None:
        self.client = client
        self.policy = policy
        self.log = log
        self.paths = paths  # resource -> path template
        self.max_concurrency = max_concurrency
        self._status: dict[tuple[str, str], RouteStatus] = {}
        self._denied: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def fetch(self, resource: str, parent: pa.Table) -> Iterator[pa.Table]:
        if parent.num_rows == 0 or "id" not in parent.column_names:
            return
        if resource == "post_engagement":
            parent = parent.filter(pc.is_in(parent.column("status"), pa.array(ENGAGED_POST_STATUSES)))
        by_client: dict[str, list[str]] = {}
        for client_id, record_id in zip(
            parent.column("client_id").to_pylist(), parent.column("id").to_pylist(), strict=True
        ):
            if (client_id, resource) not in self._denied:
                by_client.setdefault(client_id, []).append(record_id)
        builder = TableBuilder(resource, self.policy, self.log.synced_at)

        def work(task: tuple[str, list[str]]) -> Iterator[Any]:
            return self._fetch_client(resource, builder, *task)

        yield from fan_out(by_client.items(), work, workers=self.max_concurrency)

    def _fetch_client(
        self, resource: str, builder: TableBuilder, client_id: str, record_ids: list[str]
    ) -> Iterator[Any]:
        path = self.paths[resource]
        key_field = ANALYTICS_KEY[resource]
        status = self._route_status(resource, client_id)
        stats = CallStats()
        records = []
        try:
            for record_id in record_ids:
                if (client_id, resource) in self._denied:
                    break
                url = path.format(client_id=client_id, post_id=record_id, lead_magnet_id=record_id)
                try:
                    response = self.client.get(url, route=resource, client_id=client_id, stats=stats)
                except NotFoundError:
                    continue  # the record vanished between the list and this call
                data = response.payload.get("data")
                if isinstance(data, dict):
                    data.setdefault(key_field, record_id)
                records.append(data)
        except PermissionDeniedError as error:
            self._denied.add((client_id, resource))
            self.log.finish(status, stats, outcome="skipped", error=error)
            return
        except AuthenticationError as error:
            self.log.fatal = error
            raise
        except LeadPantherError as error:
            self.log.finish(status, stats, outcome="failed", error=error)
            return
        stats.pages = len(records)
        status.add(stats)
        yield from build_items(builder, records, client_id, status, self.log)

    def _route_status(self, resource: str, client_id: str) -> RouteStatus:
        key = (resource, client_id)
        with self._lock:
            if key not in self._status:
                self._status[key] = self.log.start(resource, client_id, "per_record")
            return self._status[key]
