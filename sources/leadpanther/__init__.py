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

How incremental works (what a quick run sees and what only a reconciliation sees): docs/incremental-loading.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from .configuration import LeadPantherSourceConfiguration, PiiPolicyConfiguration, refuse_unknown_keys
from .helpers.arrow_items import DLT_ITEM_ROWS, build_table, coalesce, dlt_item, linked_posts_table
from .helpers.client import LeadPantherClient, RetryPolicy
from .helpers.drift import seed_drift_types
from .helpers.errors import LeadPantherError
from .helpers.reading import SyncContext
from .helpers.records import TableBuilder, column_hints
from .helpers.shards import parse_shard
from .helpers.sync_log import SyncLog
from .settings import ANALYTICS_RESOURCES, DAILY_TABLES, LINKED_POSTS_TABLE, PRIMARY_KEYS

__all__ = ["leadpanther_source", "SyncLog", "LeadPantherError"]


@dlt.source(name="leadpanther", max_table_nesting=0, spec=LeadPantherSourceConfiguration)
def leadpanther_source(
    api_key: TSecretStrValue = dlt.secrets.value,
    base_url: str = dlt.config.value,
    page_size: int = dlt.config.value,
    max_concurrency: int = dlt.config.value,
    client_ids: Sequence[str] | None = dlt.config.value,
    resources: Sequence[str] | None = dlt.config.value,
    mode: str = dlt.config.value,
    reconcile_every_runs: int = dlt.config.value,
    reconcile_max_age_hours: float = dlt.config.value,
    cursor_lookback_s: float = dlt.config.value,
    post_engagement_path: str = dlt.config.value,
    lead_magnet_analytics_path: str = dlt.config.value,
    analytics_window_days: int = dlt.config.value,
    pii_policy: PiiPolicyConfiguration | None = dlt.config.value,
    pii_salt: TSecretStrValue | None = dlt.secrets.value,
    field_classification: dict[str, str] | None = dlt.config.value,
    schema_contract: str = dlt.config.value,
    timeout_s: float = dlt.config.value,
    max_retries: int = dlt.config.value,
    backoff_s: float = dlt.config.value,
    sync_log: Any = None,
    shard: Any = None,
) -> list[DltResource]:
    """Every accessible client's posts, lead magnets, leads, activity (and analytics) from LeadPanther.

    Settings, their defaults and checks: `configuration.LeadPantherSourceConfiguration` (README
    "Configuration"); dlt resolves them from arguments, env vars and .dlt/*.toml, and has checked them (raising
    ConfigError) before this body runs. `sync_log`: pass a `SyncLog` to read the run's per client-route status
    afterwards (the pipeline does). `shard`: "K/N" reads only the clients whose user_id hashes into shard K
    of N (helpers/shards.py); not a config key, because a shard must also run as its own pipeline
    (`make_pipeline(shard=...)`, what `leadpanther-elt run --shard K/N` does). `pii_policy` in code: pass a
    `PiiPolicyConfiguration`, whose constructor refuses a mistyped category; dlt drops the unknown keys of a
    plain dict before this body could see them (`run_sync` checks dicts itself).
    """
    refuse_unknown_keys()
    config = LeadPantherSourceConfiguration(
        api_key=api_key,
        base_url=base_url,
        page_size=page_size,
        max_concurrency=max_concurrency,
        client_ids=client_ids,
        resources=resources,
        mode=mode,
        reconcile_every_runs=reconcile_every_runs,
        reconcile_max_age_hours=reconcile_max_age_hours,
        cursor_lookback_s=cursor_lookback_s,
        post_engagement_path=post_engagement_path,
        lead_magnet_analytics_path=lead_magnet_analytics_path,
        analytics_window_days=analytics_window_days,
        pii_policy=pii_policy,
        pii_salt=pii_salt,
        field_classification=field_classification,
        schema_contract=schema_contract,
        timeout_s=timeout_s,
        max_retries=max_retries,
        backoff_s=backoff_s,
    )
    config.on_resolved()  # a no-op check when dlt resolved it; the checks when called with plain values
    policy = config.pii()
    log = sync_log if isinstance(sync_log, SyncLog) else SyncLog()
    log.pii_policy = policy.effective()
    log.drift.contract = config.schema_contract
    client = LeadPantherClient(
        config.base_url,
        config.api_key,
        max_concurrency=config.max_concurrency,
        timeout_s=config.timeout_s,
        retry=RetryPolicy(max_retries=config.max_retries, backoff_s=config.backoff_s),
    )
    ctx = SyncContext(
        client,
        page_size=config.page_size,
        max_concurrency=config.max_concurrency,
        client_ids=tuple(config.client_ids) if config.client_ids is not None else None,
        mode=config.mode,
        reconcile_every_runs=config.reconcile_every_runs,
        reconcile_max_age_hours=config.reconcile_max_age_hours,
        cursor_lookback_s=config.cursor_lookback_s,
        policy=policy,
        log=log,
        post_engagement_path=config.post_engagement_path,
        lead_magnet_analytics_path=config.lead_magnet_analytics_path,
        shard=parse_shard(shard),
        analytics_window_days=config.analytics_window_days,
    )
    return _resources(ctx, tuple(config.resources))


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
            # also dlt's own check of new columns (helpers/drift.py applies it first, on a table's first load too)
            schema_contract={"columns": ctx.log.drift.contract},
        )

    def clients() -> Iterator[Any]:
        seed_drift_types(ctx.log.drift, "clients")
        builder = TableBuilder("clients", ctx.policy, ctx.log.synced_at, ctx.log.drift)
        built = build_table(builder, ctx.clients.selected_records(), None, None, ctx.log)
        if built is not None:
            yield dlt_item(*built)

    def list_route(resource: str) -> DltResource:
        def read() -> Iterator[Any]:
            seed_drift_types(ctx.log.drift, resource)
            yield from coalesce(ctx.scans.batches(resource), DLT_ITEM_ROWS)

        read.__name__ = resource
        return merge_resource(resource, read, DEDUPLICATED_MERGE)

    def analytics_table(name: str) -> DltResource:
        def read() -> Iterator[Any]:
            seed_drift_types(ctx.log.drift, name)
            yield from coalesce(ctx.analytics.items(name), DLT_ITEM_ROWS)

        read.__name__ = name
        return merge_resource(name, read)

    lead_magnets = list_route("lead_magnets")

    def linked(batch: pa.Table) -> Iterator[pa.Table]:
        table = linked_posts_table(batch) if "linked_posts" in batch.column_names else None
        if table is not None:
            # its own table name as the item's meta: the parent batch's column hints (new PII columns) are not
            # this table's
            yield dlt.mark.with_table_name(table, LINKED_POSTS_TABLE)

    all_resources: dict[str, DltResource] = {
        "clients": merge_resource("clients", clients),
        "posts": list_route("posts"),
        "lead_magnets": lead_magnets,
        "leads": list_route("leads"),
        "activity": list_route("activity"),
        **{name: analytics_table(name) for name in (*ANALYTICS_RESOURCES, *DAILY_TABLES.values())},
        LINKED_POSTS_TABLE: dlt.transformer(
            linked,
            name=LINKED_POSTS_TABLE,
            data_from=lead_magnets,
            primary_key=list(PRIMARY_KEYS[LINKED_POSTS_TABLE]),
            write_disposition="merge",
        ),
    }
    wanted = set(selected)
    if "lead_magnets" in wanted:
        wanted.add(LINKED_POSTS_TABLE)
    out = []
    for name, resource in all_resources.items():
        resource.selected = name in wanted
        out.append(resource)
    return out
