"""Running the list scans of a run: one drift-safe scan per client-route, all routes at once.

Why all routes at once: the `max_concurrency` requests in flight are shared by every client-route of the
run; with few clients a route alone cannot fill them, and no route should wait for the slowest client of
the one before. The scans start when dlt asks for the first list resource and hand Arrow batches to each
route's bounded queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dlt

from .arrow_items import BATCH_ROWS, build_items
from .client import LeadPantherClient
from .client_list import ClientList
from .errors import AuthenticationError, LeadPantherError, NotFoundError, PermissionDeniedError
from .fanout import FanOut
from .pages import Scan
from .pii import PiiPolicy
from .planning import ScanPlanner
from .records import TableBuilder
from .shards import prune_foreign_cursors
from .sync_log import SyncLog


class ScanRunner:
    """Starts every list route's scans together and serves each route's batches to its dlt resource."""

    def __init__(
        self,
        client: LeadPantherClient,
        clients: ClientList,
        planner: ScanPlanner,
        policy: PiiPolicy,
        log: SyncLog,
        *,
        max_concurrency: int,
    ) -> None:
        self.client = client
        self.clients = clients
        self.planner = planner
        self.policy = policy
        self.log = log
        self.max_concurrency = max_concurrency
        self.routes: list[str] = []  # set by the source: the list routes this run extracts
        self._scans: dict[str, FanOut[str, Any]] = {}

    def batches(self, resource: str) -> Iterator[Any]:
        """The Arrow batches of every client's scan of one route (starting all routes' scans on first use)."""
        if not self._scans:
            for route in self.routes or [resource]:
                self._scans[route] = self._fan_out(route).start()
            self.log.cleanups.append(self.close)
        scans = self._scans.get(resource)
        if scans is None:  # a route outside `routes`: read on its own
            scans = self._fan_out(resource)
        yield from scans

    def _fan_out(self, route: str) -> FanOut[str, Any]:
        state = dlt.current.resource_state(route)
        prune_foreign_cursors(state.get("clients", {}), self.clients.shard)
        work: Callable[[str], Iterator[Any]] = lambda cid: self.scan_client(route, cid, state)  # noqa: E731
        return FanOut(
            self.clients.targets(route), work, workers=self.max_concurrency, queue_size=2 * self.max_concurrency
        )

    def close(self) -> None:
        for scans in self._scans.values():
            scans.close()

    def scan_client(self, resource: str, client_id: str, state: dict[str, Any]) -> Iterator[Any]:
        """Read one client-route as planned; its cursor moves only when the scan completed."""
        cursors: dict[str, Any] = state.setdefault("clients", {})
        previous = cursors.get(client_id)
        plan = self.planner.plan(resource, client_id, previous)
        status = self.log.start(resource, client_id, plan.run_mode)
        scan = Scan(self.client, plan.spec)
        status.live = scan.outcome.stats  # progress lines read pages from it while the scan runs
        builder = TableBuilder(resource, self.policy, self.log.synced_at)
        buffer: list[Any] = []
        try:
            for records in scan:
                buffer.extend(records)
                if len(buffer) >= BATCH_ROWS:
                    yield from build_items(builder, buffer, client_id, status, self.log)
                    buffer = []
                self.log.tick()
            if buffer:
                yield from build_items(builder, buffer, client_id, status, self.log)
        except AuthenticationError as error:
            self.log.finish(status, scan.outcome.stats, outcome="failed", error=error)
            self.log.fatal = error
            raise
        except (PermissionDeniedError, NotFoundError) as error:
            self.log.finish(status, scan.outcome.stats, outcome="skipped", error=error)
            return
        except LeadPantherError as error:
            self.log.finish(status, scan.outcome.stats, outcome="failed", error=error)
            return
        outcome = scan.outcome
        status.order_detected = outcome.order
        status.scan = outcome.scan
        cursors[client_id] = self.planner.advance(previous, outcome, plan.run_mode)
        self.log.finish(status, outcome.stats)
