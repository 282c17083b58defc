"""dlt source for the LeadPanther API v1 in agency mode (https://app.leadpanther.ai/api/v1).

Resources (tables, shapes in docs/tables.md):

* `clients` - the client accounts the agency key can see (`GET /clients`), with their grant;
* `posts`, `lead_magnets`, `leads`, `activity` - read per client through the nested client routes,
  concurrently across clients, incrementally with a cursor kept per client in dlt state;
* `post_engagement`, `lead_magnet_analytics` - transformers fed by `posts` / `lead_magnets`: each post or
  lead magnet the run reads gets its analytics fetched (ASSUMED routes, paths configurable);
* `lead_magnets__linked_posts` - a transformer that unnests `linked_posts`, so models can join without
  JSON functions.

Why transformers for analytics: the analytics routes are per record, so they can only ask for records some
run has listed, and with a transformer a quick run refreshes exactly the posts that changed while a
reconciliation refreshes all of them.

How incremental works (what a quick run sees and what only a reconciliation sees) is in README.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import dlt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from .helpers.client import CallStats, LeadPantherClient, RetryPolicy
from .helpers.config import (
    check_api_key,
    check_base_url,
    check_client_ids,
    check_int,
    check_mode,
    check_page_size,
    check_positive,
    check_resources,
)
from .helpers.errors import AuthenticationError, LeadPantherError, NotFoundError, PermissionDeniedError
from .helpers.fanout import fan_out
from .helpers.pages import NEWEST_FIRST, Scan, ScanSpec
from .helpers.pii import PiiPolicy
from .helpers.records import TableBuilder, column_hints, parse_ts, pii_hint
from .helpers.sync_log import RouteStatus, SyncLog
from .settings import (
    CLIENTS_PATH,
    CURSOR_FIELD,
    DEFAULT_BASE_URL,
    DEFAULT_PAGE_SIZE,
    ENGAGED_POST_STATUSES,
    LEAD_MAGNET_ANALYTICS_PATH,
    LINKED_POSTS_TABLE,
    MAX_PAGE_SIZE,
    POST_ENGAGEMENT_PATH,
    PRIMARY_KEYS,
    ROUTE_PATHS,
)

__all__ = ["leadpanther_source", "SyncLog", "LeadPantherError"]


class _ExpectedArrowHintNotice(logging.Filter):
    """dlt warns on every batch that our declared hints (json, not-null keys) differ from what Arrow can
    express; that difference is intended (docs/tables.md), so the notice is dropped for our tables only."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "several column hints were different" in message
            and any(f"In resource: {name}," in message for name in PRIMARY_KEYS)
        )


logging.getLogger("dlt").addFilter(_ExpectedArrowHintNotice())

BATCH_ROWS = 5_000  # rows per Arrow table a client-route scan builds: bounds memory per scan
DLT_ITEM_ROWS = 20_000  # rows per item handed to dlt (batches of several client-routes joined)


class SyncContext:
    """Everything one run shares: the HTTP client, the client list, the PII policy and the run log."""

    def __init__(
        self,
        client: LeadPantherClient,
        *,
        page_size: int,
        max_concurrency: int,
        client_ids: tuple[str, ...] | None,
        mode: str,
        reconcile_every_runs: int,
        reconcile_max_age_hours: float,
        cursor_lookback_s: float,
        policy: PiiPolicy,
        log: SyncLog,
        post_engagement_path: str,
        lead_magnet_analytics_path: str,
    ) -> None:
        self.client = client
        self.page_size = page_size
        self.max_concurrency = max_concurrency
        self.client_ids = client_ids
        self.mode = mode
        self.reconcile_every_runs = reconcile_every_runs
        self.reconcile_max_age = timedelta(hours=reconcile_max_age_hours)
        self.lookback = timedelta(seconds=cursor_lookback_s)
        self.policy = policy
        self.log = log
        self.post_engagement_path = post_engagement_path
        self.lead_magnet_analytics_path = lead_magnet_analytics_path
        self._clients: list[dict[str, Any]] | None = None
        self._analytics_status: dict[tuple[str, str], RouteStatus] = {}
        self._analytics_denied: set[tuple[str, str]] = set()

    # -- clients -------------------------------------------------------------------------------------
    def clients(self) -> list[dict[str, Any]]:
        """GET /clients once per run (all pages); 401 here stops the run before anything else is read."""
        if self._clients is None:
            status = self.log.start("clients", None, "full")
            stats = CallStats()
            records: list[dict[str, Any]] = []
            offset = 0
            try:
                while True:
                    response = self.client.get(
                        CLIENTS_PATH, {"limit": MAX_PAGE_SIZE, "offset": offset}, route="clients", stats=stats
                    )
                    stats.pages += 1
                    data = response.payload.get("data")
                    pagination = response.payload.get("pagination") or {}
                    if not isinstance(data, list):
                        raise LeadPantherError(
                            "GET /clients did not return a data list", request_id=response.request_id
                        )
                    records.extend(data)
                    offset += len(data)
                    if not data or pagination.get("has_more") is not True:
                        break
            except LeadPantherError as error:
                self.log.finish(status, stats, outcome="failed", error=error)
                if isinstance(error, AuthenticationError):
                    self.log.fatal = error
                raise
            status.rows = len(records)
            self.log.finish(status, stats)
            self._clients = records
        return self._clients

    def targets(self, resource: str) -> list[str]:
        """Client ids to read for a route; clients without an active grant are recorded as skipped."""
        ids: list[str] = []
        listed: dict[str, dict[str, Any]] = {}
        for record in self.clients():
            if isinstance(record, dict) and isinstance(record.get("user_id"), str):
                listed[record["user_id"]] = record
        wanted = self.client_ids if self.client_ids is not None else tuple(listed)
        for client_id in wanted:
            record = listed.get(client_id)
            if record is None:
                status = self.log.start(resource, client_id, "none")
                self.log.finish(
                    status,
                    CallStats(),
                    outcome="skipped",
                    message="client id is not among the clients GET /clients returns for this key",
                )
                continue
            grant = record.get("grant") if isinstance(record.get("grant"), dict) else {}
            grant_status = grant.get("status")
            if grant_status not in (None, "active"):
                status = self.log.start(resource, client_id, "none")
                status.error_code = f"grant_{grant_status}"
                self.log.finish(
                    status,
                    CallStats(),
                    outcome="not_granted",
                    message=f"the agency's grant for this client is {grant_status}, not active",
                )
                continue
            ids.append(client_id)
        return ids

    # -- list routes -----------------------------------------------------------------------------------
    def plan(self, resource: str, cursor: dict[str, Any] | None) -> tuple[str, ScanSpec]:
        """Choose how to read one client-route: initial full load, quick (early stop or filtered), or
        reconciliation (full scan, every row re-emitted so vanished rows can be marked)."""
        path_template = ROUTE_PATHS[resource]
        spec = ScanSpec(resource, path_template, "", self.page_size, early_stop=False)
        if not cursor:
            return "initial", spec
        runs = int(cursor.get("runs_since_full", 0))
        last_full = parse_ts(cursor.get("last_full_at"))
        due = (
            self.mode == "reconcile"
            or (self.mode == "auto" and runs + 1 >= self.reconcile_every_runs)
            or (self.mode == "auto" and (last_full is None or self.log.synced_at - last_full >= self.reconcile_max_age))
        )
        if due:
            return "reconcile", spec
        created = parse_ts(cursor.get("created_max"))
        updated = parse_ts(cursor.get("updated_max"))
        spec.created_floor = created - self.lookback if created else None
        if CURSOR_FIELD[resource] == "updated_at":
            spec.updated_floor = updated - self.lookback if updated else None
        if spec.created_floor is None and spec.updated_floor is None:
            return "initial", spec
        spec.early_stop = cursor.get("order") == NEWEST_FIRST and spec.created_floor is not None
        return "quick", spec

    def scan_client(self, resource: str, client_id: str, state: dict[str, Any]) -> Iterator[Any]:
        cursors: dict[str, Any] = state.setdefault("clients", {})
        previous = cursors.get(client_id)
        run_mode, spec = self.plan(resource, previous)
        spec.client_id = client_id
        spec.path = spec.path.format(client_id=client_id)
        status = self.log.start(resource, client_id, run_mode)
        scan = Scan(self.client, spec)
        builder = TableBuilder(resource, self.policy, self.log.synced_at)
        buffer: list[Any] = []
        try:
            for records in scan:
                buffer.extend(records)
                status.pages = scan.outcome.stats.pages
                if len(buffer) >= BATCH_ROWS:
                    yield from self._flush(builder, buffer, client_id, status)
                    buffer = []
                self.log.tick()
            if buffer:
                yield from self._flush(builder, buffer, client_id, status)
        except AuthenticationError as error:
            self.log.finish(status, scan.outcome.stats, outcome="failed", error=error)
            self.log.fatal = error
            raise
        except (PermissionDeniedError, NotFoundError) as error:
            status.pages = 0
            self.log.finish(status, scan.outcome.stats, outcome="skipped", error=error)
            return
        except LeadPantherError as error:
            status.pages = 0
            self.log.finish(status, scan.outcome.stats, outcome="failed", error=error)
            return
        outcome = scan.outcome
        status.pages = 0
        status.order_detected = outcome.order
        status.scan = outcome.scan
        cursors[client_id] = self._advance(previous, outcome, run_mode)
        self.log.finish(status, outcome.stats)

    def _advance(self, previous: dict[str, Any] | None, outcome: Any, run_mode: str) -> dict[str, Any]:
        """New cursor for a client-route; only called when its scan completed."""
        previous = previous or {}

        def later(old: Any, new: datetime | None) -> str | None:
            old_ts = parse_ts(old)
            best = max((t for t in (old_ts, new) if t is not None), default=None)
            return best.isoformat() if best else None

        full = run_mode in ("initial", "reconcile")
        order = outcome.order if outcome.order != "unknown" else previous.get("order", "unknown")
        return {
            "created_max": later(previous.get("created_max"), outcome.created_max),
            "updated_max": later(previous.get("updated_max"), outcome.updated_max),
            "order": order,
            "last_full_at": self.log.synced_at.isoformat() if full else previous.get("last_full_at"),
            "runs_since_full": 0 if full else int(previous.get("runs_since_full", 0)) + 1,
        }

    def _flush(self, builder: TableBuilder, records: list[Any], client_id: str, status: RouteStatus) -> Iterator[Any]:
        page = builder.build(records, client_id)
        if page.quarantined:
            status.quarantined += len(page.quarantined)
            self.log.add_quarantine(page.quarantined)
        if page.table is None:
            return
        status.rows += page.table.num_rows
        if page.suspected:
            self.log.add_suspected(builder.table, page.suspected)
            yield dlt.mark.with_hints(
                page.table,
                dlt.mark.make_hints(columns=[{"name": c, **pii_hint(cat)} for c, cat in page.suspected.items()]),
            )
        else:
            yield page.table

    # -- analytics (one request per record) -----------------------------------------------------------
    def analytics(self, resource: str, parent: pa.Table, id_column: str, path: str) -> Iterator[pa.Table]:
        """Fetch the per-record analytics route for each record of a parent batch, concurrently."""
        if parent.num_rows == 0 or id_column not in parent.column_names:
            return
        if resource == "post_engagement":
            mask = pc.is_in(parent.column("status"), pa.array(ENGAGED_POST_STATUSES))
            parent = parent.filter(mask)
        pairs = list(zip(parent.column("client_id").to_pylist(), parent.column(id_column).to_pylist(), strict=True))
        by_client: dict[str, list[str]] = {}
        for client_id, record_id in pairs:
            if (client_id, resource) not in self._analytics_denied:
                by_client.setdefault(client_id, []).append(record_id)
        key_field = "post_id" if resource == "post_engagement" else "lead_magnet_id"
        builder = TableBuilder(resource, self.policy, self.log.synced_at)

        def fetch(task: tuple[str, list[str]]) -> Iterator[Any]:
            client_id, record_ids = task
            status = self._analytics_route_status(resource, client_id)
            stats = CallStats()
            records = []
            try:
                for record_id in record_ids:
                    if (client_id, resource) in self._analytics_denied:
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
                self._analytics_denied.add((client_id, resource))
                self.log.finish(status, stats, outcome="skipped", error=error)
                return
            except AuthenticationError as error:
                self.log.fatal = error
                raise
            except LeadPantherError as error:
                self.log.finish(status, stats, outcome="failed", error=error)
                return
            stats.pages = len(records)
            _add_stats(status, stats)
            yield from self._flush(builder, records, client_id, status)

        yield from fan_out(by_client.items(), fetch, workers=self.max_concurrency)

    def _analytics_route_status(self, resource: str, client_id: str) -> RouteStatus:
        key = (resource, client_id)
        if key not in self._analytics_status:
            self._analytics_status[key] = self.log.start(resource, client_id, "per_record")
        return self._analytics_status[key]


def coalesce(items: Iterator[Any], min_rows: int) -> Iterator[Any]:
    """Join small Arrow batches (one per client-route) into larger ones before dlt sees them: dlt computes
    and validates the table schema once per item, which cost ~5 ms an item (13% of extract CPU, measured)."""
    pending: list[pa.Table] = []
    rows = 0
    for item in items:
        if not isinstance(item, pa.Table):  # hinted items (suspected PII) pass through as they are
            yield item
            continue
        pending.append(item)
        rows += item.num_rows
        if rows >= min_rows:
            yield pa.concat_tables(pending, promote_options="default")
            pending, rows = [], 0
    if pending:
        yield pa.concat_tables(pending, promote_options="default")


def _add_stats(status: RouteStatus, stats: CallStats) -> None:
    status.requests += stats.requests
    status.retries += stats.retries
    status.pages += stats.pages
    status.request_id = stats.last_request_id or status.request_id
    status.http_status = stats.last_status or status.http_status


def _linked_posts(table: pa.Table) -> pa.Table | None:
    """lead_magnets batch -> (client_id, lead_magnet_id, post_id) rows, same _lp_synced_at as the parent."""
    rows: dict[str, list[Any]] = {"client_id": [], "lead_magnet_id": [], "post_id": [], "_lp_synced_at": []}
    for client_id, magnet_id, linked, synced in zip(
        table.column("client_id").to_pylist(),
        table.column("id").to_pylist(),
        table.column("linked_posts").to_pylist(),
        table.column("_lp_synced_at").to_pylist(),
        strict=True,
    ):
        posts = orjson.loads(linked) if linked else []
        for post_id in posts if isinstance(posts, list) else []:
            if isinstance(post_id, str):
                rows["client_id"].append(client_id)
                rows["lead_magnet_id"].append(magnet_id)
                rows["post_id"].append(post_id)
                rows["_lp_synced_at"].append(synced)
    if not rows["post_id"]:
        return None
    out = pa.table(
        rows,
        schema=pa.schema(
            [
                ("client_id", pa.string()),
                ("lead_magnet_id", pa.string()),
                ("post_id", pa.string()),
                ("_lp_synced_at", table.schema.field("_lp_synced_at").type),
            ]
        ),
    )
    return out.append_column("_lp_deleted_at", pa.nulls(out.num_rows, out.schema.field("_lp_synced_at").type))


@dlt.source(name="leadpanther", max_table_nesting=0)
def leadpanther_source(
    api_key: TSecretStrValue = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_concurrency: int = 8,
    client_ids: Sequence[str] | None = None,
    resources: Sequence[str] | None = None,
    mode: str = "auto",
    reconcile_every_runs: int = 24,
    reconcile_max_age_hours: float = 24.0,
    cursor_lookback_s: float = 3600.0,
    post_engagement_path: str = POST_ENGAGEMENT_PATH,
    lead_magnet_analytics_path: str = LEAD_MAGNET_ANALYTICS_PATH,
    pii_policy: dict[str, str] | None = None,
    pii_salt: TSecretStrValue | None = None,
    timeout_s: float = 30.0,
    max_retries: int = 6,
    backoff_s: float = 0.5,
    sync_log: Any = None,
) -> list[DltResource]:
    """Every accessible client's posts, lead magnets, leads, activity (and analytics) from LeadPanther.

    `mode`: "auto" reconciles a client-route every `reconcile_every_runs` runs or when its last full scan
    is older than `reconcile_max_age_hours`; "quick" never reconciles; "reconcile" always does.
    `sync_log`: pass a `SyncLog` to read the run's per client-route status afterwards (the pipeline does).
    """
    key = check_api_key(api_key)
    url = check_base_url(base_url)
    selected = check_resources(resources)
    policy = PiiPolicy.from_config(pii_policy, pii_salt)
    log = sync_log if isinstance(sync_log, SyncLog) else SyncLog()
    client = LeadPantherClient(
        url,
        key,
        max_concurrency=check_int("max_concurrency", max_concurrency, 1, 64),
        timeout_s=check_positive("timeout_s", timeout_s),
        retry=RetryPolicy(
            max_retries=check_int("max_retries", max_retries, 0, 20), backoff_s=check_positive("backoff_s", backoff_s)
        ),
    )
    ctx = SyncContext(
        client,
        page_size=check_page_size(page_size),
        max_concurrency=max_concurrency,
        client_ids=check_client_ids(client_ids),
        mode=check_mode(mode),
        reconcile_every_runs=check_int("reconcile_every_runs", reconcile_every_runs, 1, 10_000),
        reconcile_max_age_hours=check_positive("reconcile_max_age_hours", reconcile_max_age_hours),
        cursor_lookback_s=check_positive("cursor_lookback_s", cursor_lookback_s),
        policy=policy,
        log=log,
        post_engagement_path=post_engagement_path,
        lead_magnet_analytics_path=lead_magnet_analytics_path,
    )
    return _resources(ctx, selected)


def _resources(ctx: SyncContext, selected: tuple[str, ...]) -> list[DltResource]:
    def merge_resource(name: str, data: Any) -> DltResource:
        return dlt.resource(
            data,
            name=name,
            primary_key=list(PRIMARY_KEYS[name]),
            write_disposition="merge",
            columns=column_hints(name),
        )

    def clients() -> Iterator[Any]:
        builder = TableBuilder("clients", ctx.policy, ctx.log.synced_at)
        records = ctx.clients()
        wanted = set(ctx.client_ids) if ctx.client_ids is not None else None
        records = [r for r in records if wanted is None or (isinstance(r, dict) and r.get("user_id") in wanted)]
        page = builder.build(records, None)
        ctx.log.add_quarantine(page.quarantined)
        if page.table is not None:
            yield page.table

    def list_route(resource: str) -> DltResource:
        def read() -> Iterator[Any]:
            state = dlt.current.resource_state()
            targets = ctx.targets(resource)
            batches = fan_out(targets, lambda cid: ctx.scan_client(resource, cid, state), workers=ctx.max_concurrency)
            yield from coalesce(batches, DLT_ITEM_ROWS)

        read.__name__ = resource
        return merge_resource(resource, read)

    posts = list_route("posts")
    lead_magnets = list_route("lead_magnets")

    def engagement(batch: pa.Table) -> Iterator[pa.Table]:
        yield from ctx.analytics("post_engagement", batch, "id", ctx.post_engagement_path)

    def magnet_analytics(batch: pa.Table) -> Iterator[pa.Table]:
        yield from ctx.analytics("lead_magnet_analytics", batch, "id", ctx.lead_magnet_analytics_path)

    def linked(batch: pa.Table) -> Iterator[pa.Table]:
        table = _linked_posts(batch) if "linked_posts" in batch.column_names else None
        if table is not None:
            yield table

    def transformer(name: str, fn: Any, parent: DltResource) -> DltResource:
        hints = column_hints(name) if name != LINKED_POSTS_TABLE else None
        return dlt.transformer(
            fn,
            name=name,
            data_from=parent,
            primary_key=list(PRIMARY_KEYS[name]),
            write_disposition="merge",
            columns=hints,
        )

    all_resources: dict[str, DltResource] = {
        "clients": merge_resource("clients", clients),
        "posts": posts,
        "lead_magnets": lead_magnets,
        "leads": list_route("leads"),
        "activity": list_route("activity"),
        "post_engagement": transformer("post_engagement", engagement, posts),
        "lead_magnet_analytics": transformer("lead_magnet_analytics", magnet_analytics, lead_magnets),
        LINKED_POSTS_TABLE: transformer(LINKED_POSTS_TABLE, linked, lead_magnets),
    }
    wanted = set(selected)
    if "lead_magnets" in wanted:
        wanted.add(LINKED_POSTS_TABLE)
    out = []
    for name, resource in all_resources.items():
        resource.selected = name in wanted
        out.append(resource)
    return out
