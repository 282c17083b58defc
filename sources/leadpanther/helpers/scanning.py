"""Running the list scans of a run: one drift-safe scan per client-route, all routes at once.

Why all routes at once: the `max_concurrency` requests in flight are shared by every client-route of the
run; with few clients a route alone cannot fill them, and no route should wait for the slowest client of
the one before. The scans start when dlt asks for the first list or analytics resource, hand Arrow batches
to each route's bounded queue, and hand the records that need analytics to the analytics fetcher as they
read them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import dlt

from ..settings import ANALYTICS_PARENTS, ANALYTICS_RESOURCES, DAILY_TABLES, LIST_RESOURCES
from .analytics import AnalyticsFetcher, Feed
from .arrow_items import BATCH_ROWS, build_items
from .client import LeadPantherClient
from .client_list import ClientList
from .errors import AuthenticationError, LeadPantherError, NotFoundError, PermissionDeniedError
from .fanout import FanOut
from .overlap import EDGE_KEY, Edge, EdgeTracker, OverlapGate
from .pages import Scan
from .pii import PiiPolicy
from .planning import ScanPlan, ScanPlanner
from .records import TableBuilder, parse_ts
from .shards import prune_foreign_cursors
from .sync_log import SyncLog


class ScanRunner:
    """Starts every list route's scans together and serves each route's batches to its dlt resource."""

    def __init__(
        self,
        client: LeadPantherClient,
        clients: ClientList,
        planner: ScanPlanner,
        analytics: AnalyticsFetcher,
        policy: PiiPolicy,
        log: SyncLog,
        *,
        max_concurrency: int,
    ) -> None:
        self.client = client
        self.clients = clients
        self.planner = planner
        self.analytics = analytics
        self.policy = policy
        self.log = log
        self.max_concurrency = max_concurrency
        # The list routes this run scans, and those of them whose rows it loads (a route read only to feed
        # analytics neither loads rows nor moves its cursor): from dlt's selection when the scans start.
        self.routes: list[str] = []
        self.loaded: set[str] = set()
        self._scans: dict[str, FanOut[str, Any]] = {}
        self._drains: list[threading.Thread] = []
        self._lock = threading.Lock()
        analytics.on_start = self.start

    def start(self) -> None:
        """Start the scans of every route (once): the first resource dlt reads calls this."""
        with self._lock:
            if self._scans:
                return
            self._select(_selected_resources())
            targets = {route: self.clients.targets(route) for route in self.routes}
            self.analytics.expect(sum(len(t) for r, t in targets.items() if self.analytics.resource_for(r)))
            for route, ids in targets.items():
                self._scans[route] = self._fan_out(route, ids).start()
            self.log.cleanups.append(self.close)
            for route in self.routes:
                if route not in self.loaded:  # nobody reads its batches: drain them
                    drain = threading.Thread(target=self._drain, args=(self._scans[route],), daemon=True)
                    drain.start()
                    self._drains.append(drain)

    def _select(self, selected: set[str]) -> None:
        """What the resources dlt extracts need: the list routes it loads, the analytics tables it loads,
        and the list routes read only to feed those (their rows are not loaded, their cursors stay)."""
        self.analytics.tables = {t for t in selected if t in ANALYTICS_RESOURCES or t in DAILY_TABLES.values()}
        self.loaded = {r for r in LIST_RESOURCES if r in selected}
        feeding = {
            ANALYTICS_PARENTS[r] for r in ANALYTICS_RESOURCES if self.analytics.resource_for(ANALYTICS_PARENTS[r])
        }
        self.routes = [r for r in LIST_RESOURCES if r in self.loaded or r in feeding]

    def batches(self, resource: str) -> Iterator[Any]:
        """The Arrow batches of every client's scan of one route; None while none is ready (see FanOut)."""
        self.start()
        scans = self._scans.get(resource)
        if scans is None:  # a route outside `routes`: read on its own
            scans = self._fan_out(resource, self.clients.targets(resource))
        yield from scans

    def _fan_out(self, route: str, targets: list[str]) -> FanOut[str, Any]:
        state = dlt.current.resource_state(route)
        prune_foreign_cursors(state.get("clients", {}), self.clients.shard)
        work: Callable[[str], Iterator[Any]] = lambda cid: self.scan_client(route, cid, state)  # noqa: E731
        return FanOut(targets, work, workers=self.max_concurrency, queue_size=2 * self.max_concurrency, idle=True)

    def _drain(self, scans: FanOut[str, Any]) -> None:
        """Consume a route's scans whose rows this run does not load (they run to feed analytics)."""
        try:
            for item in scans:
                if item is None:
                    time.sleep(0.01)
        except BaseException as exc:
            self.analytics.fail(exc)

    def close(self) -> None:
        for scans in self._scans.values():
            scans.close()
        for drain in self._drains:
            drain.join(timeout=10)

    def scan_client(self, resource: str, client_id: str, state: dict[str, Any]) -> Iterator[Any]:
        """Read one client-route as planned; its cursor moves only when the scan completed."""
        feed = self.analytics.feed(resource, client_id, state)
        complete = False
        try:
            complete = yield from self._scan(resource, client_id, state, feed)
        finally:
            if feed is not None:
                self.analytics.close_feed(feed, complete=complete)

    def _scan(self, resource: str, client_id: str, state: dict[str, Any], feed: Feed | None) -> Iterator[Any]:
        cursors: dict[str, Any] = state.setdefault("clients", {})
        previous = cursors.get(client_id)
        plan = self.planner.plan(resource, client_id, previous, analytics=feed.mode if feed else None)
        if feed is not None:  # a full scan hands every record to the analytics: the day's refresh too
            feed.refreshes_window = feed.window or plan.run_mode in ("initial", "reconcile")
        loaded = resource in self.loaded
        status = self.log.start(resource, client_id, plan.run_mode)
        scan = Scan(self.client, plan.spec)
        status.live = scan.outcome.stats  # progress lines read pages from it while the scan runs
        builder = TableBuilder(resource, self.policy, self.log.synced_at, self.log.drift)
        buffer: list[Any] = []
        gate = self._overlap_gate(plan, previous, feed)
        edge = EdgeTracker(self.planner.rules.lookback) if feed is not None and not plan.spec.from_tail else None
        try:
            for batch in scan:
                if feed is not None:
                    rows = batch.emit + batch.young
                    self.analytics.submit(feed, gate.split(rows) if gate is not None else rows)
                if edge is not None:
                    edge.add(batch.emit)
                if loaded:
                    buffer.extend(batch.emit)
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
            return False
        except LeadPantherError as error:
            self.log.finish(status, scan.outcome.stats, outcome="failed", error=error)
            return False
        if gate is not None and feed is not None:
            self.analytics.submit(feed, gate.release())
        outcome = scan.outcome
        status.order_detected = outcome.order
        status.scan = outcome.scan
        if loaded:
            cursor = self.planner.advance(previous, outcome, plan.run_mode)
            if edge is not None:
                cursor[EDGE_KEY] = edge.digest(parse_ts(cursor.get("created_max")), parse_ts(cursor.get("updated_max")))
            cursors[client_id] = cursor
        self.log.finish(status, outcome.stats)
        return True

    def _overlap_gate(self, plan: ScanPlan, previous: dict[str, Any] | None, feed: Feed | None) -> OverlapGate | None:
        """A gate for the analytics of re-read rows, when the previous edge can be trusted (overlap.py)."""
        if feed is None or feed.window or plan.run_mode != "quick" or plan.spec.from_tail or not previous:
            return None
        stored = previous.get(EDGE_KEY)
        if not isinstance(stored, str):
            return None
        maxima = parse_ts(previous.get("created_max")), parse_ts(previous.get("updated_max"))
        return OverlapGate(stored, Edge(*maxima, self.planner.rules.lookback))


def _selected_resources() -> set[str]:
    """The resources dlt extracts in this run (the configured `resources`, or what `with_resources` chose)."""
    return set(dlt.current.source().selected_resources)
