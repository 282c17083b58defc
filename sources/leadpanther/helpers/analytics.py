"""Per-record analytics (post engagement, lead-magnet analytics), fetched while the list scans read.

These routes cost one request per record, so for an agency with large clients they are most of a run. A
list scan hands each record it reads to a `Feed` at once, and a pool of workers fetches them; the HTTP
client's semaphore, shared with the scans, keeps the run at `max_concurrency` requests in flight. So the
analytics overlap the list scans instead of following them, and every client's records share the slots.

A client-route's analytics end as one `sync_runs` row: ok, skipped (missing scope, or a route this API does
not have: its first records all answer 404 while the list says they exist) or failed.

Over ~300 lines because the feed, its workers and the per-client-route outcome share one lock and one
lifecycle (started by the scans, drained before the run's log closes); split apart they would pass it around.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ..settings import (
    ANALYTICS_KEYS,
    ANALYTICS_PARENTS,
    DAILY_TABLES,
    ENGAGED_POST_STATUSES,
    SNAPSHOT_DATE,
)
from .arrow_items import build_table, dlt_item, suspected_only
from .client import CallStats, LeadPantherClient
from .errors import AuthenticationError, LeadPantherError, NotFoundError, PermissionDeniedError
from .pii import PiiPolicy
from .records import TableBuilder
from .sync_log import RouteStatus, SyncLog

ABSENT_AFTER = 3  # 404s in a row before any success: the route is taken as absent for that client
FLUSH_ROWS = 1_000  # records per Arrow table a client-route's analytics build
TASK_QUEUE = 20_000  # records waiting for their request: bounds memory when the scans read ahead
OUT_QUEUE = 64  # built tables waiting for dlt, per table


@dataclass
class Feed:
    """One client's analytics for one parent route (posts -> post_engagement); scans submit, workers fetch."""

    resource: str
    client_id: str
    window: bool  # this run refreshes every record younger than the analytics window
    days: dict[str, str]  # parent route state: client -> UTC day of the last complete window refresh
    today: str
    status: RouteStatus | None = None
    stats: CallStats = field(default_factory=CallStats)
    pending: int = 0
    scan_closed: bool = False
    refreshes_window: bool = False  # the scan hands over every record younger than the window
    refreshed: bool = False  # ... and it completed
    confirmed: bool = False  # a request of this client-route succeeded: the route exists
    misses: int = 0  # 404s before the first success
    probing: bool = False  # an unconfirmed route gets one request at a time
    outcome: str = "ok"
    error: LeadPantherError | None = None
    message: str | None = None
    buffer: list[Any] = field(default_factory=list)
    finished: bool = False

    @property
    def mode(self) -> str:
        return "window" if self.window else "changed"


class AnalyticsFetcher:
    """Fetches the analytics of the records list scans submit, on a pool shared by all clients."""

    def __init__(
        self,
        client: LeadPantherClient,
        policy: PiiPolicy,
        log: SyncLog,
        paths: dict[str, str],
        *,
        max_concurrency: int,
    ) -> None:
        self.client = client
        self.policy = policy
        self.log = log
        self.paths = paths  # resource -> path template
        self.workers = 2 * max_concurrency  # some wait on an unconfirmed route's probe: they hold no slot
        self.tables: set[str] = set()  # output tables this run loads (set by the source)
        self.today = log.synced_at.astimezone(UTC).date().isoformat()
        self._builders = {r: TableBuilder(r, policy, log.synced_at, log.drift) for r in ANALYTICS_PARENTS}
        self._tasks: queue.Queue[tuple[Feed, str]] = queue.Queue(maxsize=TASK_QUEUE)
        self._out: dict[str, queue.Queue[Any]] = {}
        self._cond = threading.Condition()
        self._open_feeds = 0
        self._done = threading.Event()
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self.on_start: Callable[[], None] = lambda: None  # starts the list scans that feed this fetcher

    # -- what the scans ask ----------------------------------------------------------------------------
    def resource_for(self, parent: str) -> str | None:
        """The analytics resource a list route feeds this run, or None."""
        for resource, route in ANALYTICS_PARENTS.items():
            if route == parent and (resource in self.tables or DAILY_TABLES[resource] in self.tables):
                return resource
        return None

    def expect(self, feeds: int) -> None:
        """Announce how many client-routes will open a feed (the scans of one parent route)."""
        with self._cond:
            self._open_feeds += feeds
            self._check_done()

    def feed(self, parent: str, client_id: str, state: dict[str, Any]) -> Feed | None:
        resource = self.resource_for(parent)
        if resource is None:
            return None
        days: dict[str, str] = state.setdefault("analytics_days", {})
        return Feed(resource, client_id, window=days.get(client_id) != self.today, days=days, today=self.today)

    def submit(self, feed: Feed, records: list[Any]) -> None:
        """Queue a request for each record that has analytics (drafts have no engagement)."""
        ids = []
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                continue  # the record builder quarantines it; it has no id to ask about
            if feed.resource == "post_engagement" and record.get("status") not in ENGAGED_POST_STATUSES:
                continue
            ids.append(record["id"])
        if not ids:
            return
        with self._cond:
            if feed.status is None:
                feed.status = self.log.start(feed.resource, feed.client_id, "per_record")
            feed.pending += len(ids)
        self.start()
        for record_id in ids:
            while not self._stop.is_set():
                try:
                    self._tasks.put((feed, record_id), timeout=0.1)
                    break
                except queue.Full:
                    continue

    def close_feed(self, feed: Feed, *, complete: bool) -> None:
        """The scan feeding it ended (`complete`: it read all it planned to)."""
        with self._cond:
            feed.scan_closed = True
            feed.refreshed = complete and feed.refreshes_window
        self._finish_if_done(feed)

    # -- what dlt reads --------------------------------------------------------------------------------
    def items(self, table: str) -> Iterator[Any]:
        """Built tables of one output table; None while nothing is ready (dlt reads other resources then)."""
        self.on_start()
        out = self._out_queue(table)
        self.start()
        while True:
            try:
                item = out.get_nowait()
            except queue.Empty:
                if self._errors:
                    raise self._errors[0] from None
                if self._done.is_set() and out.empty():
                    return
                yield None
                continue
            yield item

    def fail(self, error: BaseException) -> None:
        """Stop the fetcher and hand `error` to dlt's side (a scan that feeds it failed the run)."""
        self._errors.append(error)
        self._stop.set()

    def start(self) -> None:
        with self._cond:
            if self._threads:
                return
            for table in self.tables:
                self._out.setdefault(table, queue.Queue(maxsize=OUT_QUEUE))
            self._threads = [
                threading.Thread(target=self._work, name=f"lp-analytics-{n}", daemon=True) for n in range(self.workers)
            ]
        for thread in self._threads:
            thread.start()
        self.log.cleanups.append(self.close)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)

    def _out_queue(self, table: str) -> queue.Queue[Any]:
        with self._cond:
            return self._out.setdefault(table, queue.Queue(maxsize=OUT_QUEUE))

    # -- workers ---------------------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                feed, record_id = self._tasks.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                self._fetch(feed, record_id)
            except BaseException as exc:  # handed to dlt's side, which re-raises it
                self.fail(exc)
            finally:
                with self._cond:
                    feed.pending -= 1
                self._finish_if_done(feed)

    def _fetch(self, feed: Feed, record_id: str) -> None:
        with self._cond:
            while feed.probing and not feed.confirmed and feed.outcome == "ok" and not self._stop.is_set():
                self._cond.wait(0.1)
            if feed.outcome != "ok" or self._stop.is_set():
                return
            probe = not feed.confirmed
            feed.probing = feed.probing or probe
        stats = CallStats()
        url = self.paths[feed.resource].format(client_id=feed.client_id, post_id=record_id, lead_magnet_id=record_id)
        try:
            response = self.client.get(url, route=feed.resource, client_id=feed.client_id, stats=stats)
        except NotFoundError as error:
            with self._cond:
                if not feed.confirmed:
                    feed.misses += 1
                    if feed.misses >= ABSENT_AFTER:
                        message = (
                            f"the analytics route answered 404 for the first {ABSENT_AFTER} records the list "
                            "returned: taken as absent for this client (check the *_path settings)"
                        )
                        self._end(feed, "skipped", error, message)
            return  # otherwise the record vanished between the list and this call
        except PermissionDeniedError as error:
            self._end(feed, "skipped", error)
            return
        except AuthenticationError as error:
            self.log.fatal = error
            self._end(feed, "failed", error)
            raise
        except LeadPantherError as error:
            self._end(feed, "failed", error)
            return
        finally:
            with self._cond:
                _merge(feed.stats, stats)
                if probe:
                    feed.probing = False
                    self._cond.notify_all()
        data = response.payload.get("data")
        if isinstance(data, dict):
            data.setdefault(ANALYTICS_KEYS[feed.resource], record_id)
        with self._cond:
            feed.confirmed = True
            feed.stats.pages += 1
            feed.buffer.append(data)
            records = self._take(feed, FLUSH_ROWS)
        if records:
            self._emit(feed, records)

    def _end(self, feed: Feed, outcome: str, error: LeadPantherError, message: str | None = None) -> None:
        with self._cond:
            if feed.outcome == "ok":
                feed.outcome, feed.error, feed.message = outcome, error, message
            self._cond.notify_all()

    @staticmethod
    def _take(feed: Feed, at_least: int) -> list[Any]:
        if len(feed.buffer) < at_least or not feed.buffer:
            return []
        records, feed.buffer = feed.buffer, []
        return records

    def _emit(self, feed: Feed, records: list[Any]) -> None:
        """Build one table and hand it to each output table this run loads (latest, daily snapshot)."""
        assert feed.status is not None
        built = build_table(self._builders[feed.resource], records, feed.client_id, feed.status, self.log)
        if built is None:
            return
        table, hints = built
        if feed.resource in self.tables:
            self._put(feed.resource, dlt_item(table, hints))
        daily = DAILY_TABLES[feed.resource]
        if daily in self.tables:
            day = pa.array([datetime.fromisoformat(self.today).date()] * table.num_rows, pa.date32())
            self.log.add_suspected(daily, suspected_only(hints))
            self._put(daily, dlt_item(table.append_column(SNAPSHOT_DATE, day), hints))

    def _put(self, table: str, item: Any) -> None:
        out = self._out_queue(table)
        while not self._stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _finish_if_done(self, feed: Feed) -> None:
        """A client-route's analytics end when its scan has ended and every request it queued is answered."""
        with self._cond:
            if not feed.scan_closed or feed.pending > 0 or feed.finished:
                return
            feed.finished = True
            records = self._take(feed, 1)
        if records:
            self._emit(feed, records)
        if feed.status is not None:
            self.log.finish(feed.status, feed.stats, outcome=feed.outcome, error=feed.error, message=feed.message)
        if feed.outcome == "ok" and feed.refreshed:
            feed.days[feed.client_id] = feed.today
        with self._cond:
            self._open_feeds -= 1
            self._check_done()

    def _check_done(self) -> None:
        if self._open_feeds <= 0:
            self._done.set()
        else:
            self._done.clear()


def _merge(total: CallStats, stats: CallStats) -> None:
    total.requests += stats.requests
    total.retries += stats.retries
    total.last_request_id = stats.last_request_id or total.last_request_id
    total.last_status = stats.last_status or total.last_status
