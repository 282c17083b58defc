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
from typing import Any, Final

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from .helpers.arrow_items import DLT_ITEM_ROWS, coalesce, linked_posts_table
from .helpers.client import LeadPantherClient, RetryPolicy
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
from .helpers.errors import LeadPantherError
from .helpers.pii import PiiPolicy
from .helpers.reading import SyncContext
from .helpers.records import TableBuilder, column_hints
from .helpers.sync_log import SyncLog
from .settings import (
    DEFAULT_BASE_URL,
    DEFAULT_PAGE_SIZE,
    LEAD_MAGNET_ANALYTICS_PATH,
    LINKED_POSTS_TABLE,
    LIST_RESOURCES,
    POST_ENGAGEMENT_PATH,
    PRIMARY_KEYS,
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


# A run emits each (client_id, id) of a list route at most once (the pager's seen-id set in `pages.Scan`;
# `check_client_ids` drops a client given twice), so dlt can skip its staging dedupe (a window function over
# every column: 6.4 of 11 s loading 1.24M rows). pipelines/duplicate_keys.py checks the promise after loads.
DEDUPLICATED_MERGE: Final[dict[str, Any]] = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}


def _resources(ctx: SyncContext, selected: tuple[str, ...]) -> list[DltResource]:
    def merge_resource(name: str, data: Any, write_disposition: Any = "merge") -> DltResource:
        return dlt.resource(
            data,
            name=name,
            primary_key=list(PRIMARY_KEYS[name]),
            write_disposition=write_disposition,
            columns=column_hints(name),
        )

    def clients() -> Iterator[Any]:
        builder = TableBuilder("clients", ctx.policy, ctx.log.synced_at)
        page = builder.build(ctx.clients.selected_records(), None)
        ctx.log.add_quarantine(page.quarantined)
        if page.table is not None:
            yield page.table

    def list_route(resource: str) -> DltResource:
        def read() -> Iterator[Any]:
            yield from coalesce(ctx.scans.batches(resource), DLT_ITEM_ROWS)

        read.__name__ = resource
        return merge_resource(resource, read, DEDUPLICATED_MERGE)

    posts = list_route("posts")
    lead_magnets = list_route("lead_magnets")

    def engagement(batch: pa.Table) -> Iterator[pa.Table]:
        yield from ctx.analytics.fetch("post_engagement", batch)

    def magnet_analytics(batch: pa.Table) -> Iterator[pa.Table]:
        yield from ctx.analytics.fetch("lead_magnet_analytics", batch)

    def linked(batch: pa.Table) -> Iterator[pa.Table]:
        table = linked_posts_table(batch) if "linked_posts" in batch.column_names else None
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
    # dlt also extracts the (deselected) parent of a selected transformer
    ctx.scans.routes = [
        r
        for r in LIST_RESOURCES
        if r in wanted
        or (r == "posts" and "post_engagement" in wanted)
        or (r == "lead_magnets" and "lead_magnet_analytics" in wanted)
    ]
    out = []
    for name, resource in all_resources.items():
        resource.selected = name in wanted
        out.append(resource)
    return out
