"""Constants of the LeadPanther API v1 (agency mode) and of the tables this source writes.

Everything here that the vendor's page does not document is marked ASSUMED, so that a correction from a
real account is a one-line change in this module (see docs/api-contract.md for the documented-vs-assumed
list). Nothing in this module does I/O.

Longer than ~300 lines on purpose: it is the one contract (routes, scopes, table shapes, keys, PII catalog),
and everything else is generated from it or tested against it, so it stays in one file to be read whole.
"""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL: Final = "https://app.leadpanther.ai/api/v1"
API_KEY_PREFIX: Final = "lp_"  # documented form: "lp_live_..."; "lp_test_..." is accepted too

# Paging (documented: limit defaults to 50 and is capped at 100).
MAX_PAGE_SIZE: Final = 100
DEFAULT_PAGE_SIZE: Final = 100
DEFAULT_MAX_CONCURRENCY: Final = 8
# How a run reads each client-route: auto = quick, with a full reconciliation on a cadence.
MODES: Final = ("auto", "quick", "reconcile")
DEFAULT_MODE: Final = "auto"
# Rows re-read at the start of every page after the first, to detect offset drift (rows inserted or
# deleted upstream while we page). Costs PAGE_OVERLAP / page_size extra requests.
PAGE_OVERLAP: Final = 2

# Routes, relative to base_url. The two analytics paths are ASSUMED (the page names the scope only).
CLIENTS_PATH: Final = "/clients"
ROUTE_PATHS: Final[dict[str, str]] = {
    "posts": "/clients/{client_id}/posts",
    "lead_magnets": "/clients/{client_id}/lead-magnets",
    "leads": "/clients/{client_id}/leads",
    "activity": "/clients/{client_id}/activity",
}
POST_ENGAGEMENT_PATH: Final = "/clients/{client_id}/posts/{post_id}/engagement"  # ASSUMED
LEAD_MAGNET_ANALYTICS_PATH: Final = "/clients/{client_id}/lead-magnets/{lead_magnet_id}/analytics"  # ASSUMED

# Scope each resource needs (documented).
RESOURCE_SCOPES: Final[dict[str, str]] = {
    "clients": "clients:read",
    "posts": "posts:read",
    "lead_magnets": "lead_magnets:read",
    "leads": "leads:read",
    "activity": "activity:read",
    "post_engagement": "analytics:read",
    "lead_magnet_analytics": "analytics:read",
    "post_engagement_daily": "analytics:read",
    "lead_magnet_analytics_daily": "analytics:read",
}

LIST_RESOURCES: Final = ("posts", "lead_magnets", "leads", "activity")
# Per-record analytics routes and the list resource whose records they are read for; each fills a table of
# the latest figures (one row per record) and one of a snapshot per record per UTC day.
ANALYTICS_PARENTS: Final[dict[str, str]] = {"post_engagement": "posts", "lead_magnet_analytics": "lead_magnets"}
ANALYTICS_RESOURCES: Final = tuple(ANALYTICS_PARENTS)
DAILY_TABLES: Final[dict[str, str]] = {
    "post_engagement": "post_engagement_daily",
    "lead_magnet_analytics": "lead_magnet_analytics_daily",
}
ANALYTICS_KEYS: Final[dict[str, str]] = {"post_engagement": "post_id", "lead_magnet_analytics": "lead_magnet_id"}
SNAPSHOT_DATE: Final = "snapshot_date"  # UTC day of the run that took a daily snapshot (added by us)
# Records younger than this (by created_at) get their analytics refreshed on the first run of each UTC day.
DEFAULT_ANALYTICS_WINDOW_DAYS: Final = 30
# sync_runs rows older than this are deleted after each load (one row per client-route per run).
DEFAULT_SYNC_RUNS_RETENTION_DAYS: Final = 90
ALL_RESOURCES: Final = ("clients", *LIST_RESOURCES, *ANALYTICS_RESOURCES, *DAILY_TABLES.values())

# Cursor per list resource. Activity has no updated_at (ASSUMED append-only), so it is read by created_at.
CURSOR_FIELD: Final[dict[str, str]] = {
    "posts": "updated_at",
    "lead_magnets": "updated_at",
    "leads": "updated_at",
    "activity": "created_at",
}
# Order of list pages is unspecified by the vendor; the source detects it from this field.
ORDER_FIELD: Final = "created_at"

# Post statuses that have engagement worth reading (ASSUMED: drafts have none).
ENGAGED_POST_STATUSES: Final = ("published", "publishing")

# Bookkeeping columns the source adds to every data table.
SYNCED_AT: Final = "_lp_synced_at"  # start time of the run that extracted this row version
DELETED_AT: Final = "_lp_deleted_at"  # set when a reconciliation no longer finds the row upstream
CLIENT_ID: Final = "client_id"

SYNC_RUNS_TABLE: Final = "sync_runs"
QUARANTINE_TABLE: Final = "_lp_quarantine"
DRIFT_TABLE: Final = "_lp_drift"  # per run, table and field: what the API sent that the contract did not say
LINKED_POSTS_TABLE: Final = "lead_magnets__linked_posts"

# Personal data catalog: table -> column -> category. The single source of truth for tagging: it becomes
# dlt column hints (x-annotation-pii), COMMENT ON COLUMN in the destination, the pii_columns table, and
# the keep/hash/redact policy applied at extract.
PII_CATEGORIES: Final = ("email", "name", "profile_url", "platform_id", "free_text", "authored_text", "phone")
PII_CATALOG: Final[dict[str, dict[str, str]]] = {
    "clients": {"full_name": "name"},
    "leads": {
        "full_name": "name",
        "email": "email",
        "linkedin_profile_url": "profile_url",
        "headline": "free_text",
    },
    "activity": {
        "author_name": "name",
        "author_platform_id": "platform_id",
        "content": "free_text",
    },
    # Copy the agency writes for its client: not personal data by default, tagged so it can be redacted.
    "posts": {"text": "authored_text", "notes": "authored_text"},
    QUARANTINE_TABLE: {"raw_record": "free_text"},
}
PII_POLICIES: Final = ("keep", "hash", "redact")
DEFAULT_PII_POLICY: Final = "keep"
# Routes that carry people (docs/personal-data-drift.md): a field on them the contract does not know, nested
# objects included, is personal data until `field_classification` says what it is; until then it gets the
# strictest action of the policy in force (redact > hash > keep) and the category below.
PEOPLE_TABLES: Final = ("clients", "leads", "activity")
UNCLASSIFIED: Final = "unclassified"
NOT_PERSONAL: Final = "not_personal"  # a field_classification value: load the field as it comes, untagged
# dlt's schema_contract modes for new columns, exposed as `[sources.leadpanther] schema_contract`.
SCHEMA_CONTRACT_MODES: Final = ("evolve", "freeze", "discard_value", "discard_row")
DEFAULT_SCHEMA_CONTRACT: Final = "evolve"
# A value whose type changed for good (a figure now sent as an object) goes to dlt's variant column name.
VARIANT_SUFFIX: Final = "__v_json"
# Column hints dlt keeps in the schema (x- hints with truthy values survive a load).
PII_HINT: Final = "x-annotation-pii"
PII_CATEGORY_HINT: Final = "x-annotation-pii-category"


def _col(name: str, data_type: str, *path: str) -> tuple[str, str, tuple[str, ...]]:
    return (name, data_type, path or (name,))


# Raw table shapes: table -> (column, dlt data type, path in the API record). Nested objects are flattened
# with dlt's "__" separator; lists are kept as JSON. Only client_id is added by us (see docs/tables.md).
# Fields not in the vendor's page are ASSUMED (docs/api-contract.md); change them here only.
_TS = "timestamp"
TABLE_COLUMNS: Final[dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]]] = {
    "clients": (
        _col("client_id", "text", "user_id"),
        _col("user_id", "text"),
        _col("full_name", "text"),
        _col("business_name", "text"),
        _col("account_status", "text"),
        _col("grant__id", "text", "grant", "id"),
        _col("grant__label", "text", "grant", "label"),
        _col("grant__status", "text", "grant", "status"),
        _col("grant__permissions", "json", "grant", "permissions"),
        _col("grant__created_at", _TS, "grant", "created_at"),
        _col("grant__updated_at", _TS, "grant", "updated_at"),
    ),
    "posts": (
        _col("id", "text"),
        _col("text", "text"),
        _col("status", "text"),
        _col("scheduled_at", _TS),
        _col("published_at", _TS),
        _col("theme_id", "text"),
        _col("template_id", "text"),
        _col("images", "json"),
        _col("document_url", "text"),
        _col("document_type", "text"),
        _col("notes", "text"),
        _col("followups", "json"),
        _col("linkedin_url", "text"),
        _col("created_at", _TS),
        _col("updated_at", _TS),
    ),
    "lead_magnets": (
        _col("id", "text"),
        _col("status", "text"),
        _col("delivery_mode", "text"),
        _col("keyword", "text"),
        _col("resource_name", "text"),
        _col("resource_link", "text"),
        _col("description", "text"),
        _col("text_template", "text"),
        _col("linked_posts", "json"),
        _col("hosted_page__title", "text", "hosted_page", "title"),
        _col("hosted_page__content_markdown", "text", "hosted_page", "content_markdown"),
        _col("hosted_page__status", "text", "hosted_page", "status"),
        _col("created_at", _TS),
        _col("updated_at", _TS),
    ),
    "leads": (
        _col("id", "text"),
        _col("lead_magnet_id", "text"),
        _col("post_id", "text"),
        _col("full_name", "text"),
        _col("email", "text"),
        _col("linkedin_profile_url", "text"),
        _col("headline", "text"),
        _col("company", "text"),
        _col("source", "text"),
        _col("created_at", _TS),
        _col("updated_at", _TS),
    ),
    "activity": (
        _col("id", "text"),
        _col("source", "text"),
        _col("post_id", "text"),
        _col("lead_magnet_id", "text"),
        _col("author_name", "text"),
        _col("author_platform_id", "text"),
        _col("content", "text"),
        _col("keyword_matched", "bool"),
        _col("created_at", _TS),
    ),
    "post_engagement": (
        _col("post_id", "text"),
        _col("impressions", "bigint"),
        _col("reactions", "bigint"),
        _col("comments", "bigint"),
        _col("reposts", "bigint"),
        _col("clicks", "bigint"),
        _col("captured_at", _TS),
    ),
    "lead_magnet_analytics": (
        _col("lead_magnet_id", "text"),
        _col("views", "bigint"),
        _col("requests", "bigint"),
        _col("deliveries", "bigint"),
        _col("captured_at", _TS),
    ),
}
# A daily snapshot table has its latest table's columns plus the day it was taken.
for _latest, _daily in DAILY_TABLES.items():
    TABLE_COLUMNS[_daily] = (*TABLE_COLUMNS[_latest], _col(SNAPSHOT_DATE, "date"))
# A record's key (with client_id): a record missing one of these, or with one that is not a string, cannot be
# merged or found again, so it is quarantined whole. Any other bad value is NULL in a record that loads.
REQUIRED_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "clients": ("client_id",),
    "posts": ("id",),
    "lead_magnets": ("id",),
    "leads": ("id",),
    "activity": ("id",),
    "post_engagement": ("post_id",),
    "lead_magnet_analytics": ("lead_magnet_id",),
    "post_engagement_daily": ("post_id", SNAPSHOT_DATE),
    "lead_magnet_analytics_daily": ("lead_magnet_id", SNAPSHOT_DATE),
}
PRIMARY_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "clients": ("client_id",),
    "posts": ("client_id", "id"),
    "lead_magnets": ("client_id", "id"),
    "leads": ("client_id", "id"),
    "activity": ("client_id", "id"),
    "post_engagement": ("client_id", "post_id"),
    "lead_magnet_analytics": ("client_id", "lead_magnet_id"),
    "post_engagement_daily": ("client_id", "post_id", SNAPSHOT_DATE),
    "lead_magnet_analytics_daily": ("client_id", "lead_magnet_id", SNAPSHOT_DATE),
    LINKED_POSTS_TABLE: ("client_id", "lead_magnet_id", "post_id"),
}

# Values a column takes (documented or ASSUMED): docs/tables.md lists them and the staging models'
# accepted_values tests are checked against them (tests/layering/test_contracts_once.py).
ACCEPTED_VALUES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "clients": {"grant__status": ("active", "revoked", "pending")},
    "posts": {"status": ("draft", "scheduled", "publishing", "published")},
    "lead_magnets": {
        "status": ("draft", "published", "archived"),
        "delivery_mode": ("external_link", "hosted_content", "gated_external"),
    },
    "leads": {"source": ("comments", "messages")},
    "activity": {"source": ("comments", "messages")},
    SYNC_RUNS_TABLE: {
        "run_mode": ("initial", "quick", "reconcile", "per_record", "full"),
        "status": ("ok", "skipped", "failed", "not_granted"),
        "order_detected": ("newest_first", "oldest_first", "unordered", "unknown"),
        "scan": ("early_stop", "tail", "full"),
    },
}

# Bookkeeping columns on every data table (the source adds them; see docs/tables.md).
BOOKKEEPING_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    (CLIENT_ID, "text"),
    (SYNCED_AT, _TS),
    (DELETED_AT, _TS),
)
# lead_magnets__linked_posts: one row per (lead magnet, linked post) written from a lead magnet version.
LINKED_POSTS_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    (CLIENT_ID, "text"),
    ("lead_magnet_id", "text"),
    ("post_id", "text"),
    (SYNCED_AT, _TS),
    (DELETED_AT, _TS),
)
# The run's own tables (pipelines/runs_source.py writes them; sync_log.RouteStatus is the row).
SYNC_RUNS_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("run_id", "text"),
    ("synced_at", _TS),
    ("client_id", "text"),
    ("resource", "text"),
    ("run_mode", "text"),
    ("started_at", _TS),
    ("finished_at", _TS),
    ("duration_s", "double"),
    ("status", "text"),
    ("http_status", "bigint"),
    ("error_code", "text"),
    ("error_message", "text"),
    ("request_id", "text"),
    ("rows", "bigint"),
    ("pages", "bigint"),
    ("requests", "bigint"),
    ("retries", "bigint"),
    ("quarantined", "bigint"),
    ("order_detected", "text"),
    ("scan", "text"),
    ("shard", "text"),  # "K/N" when the run was shard K of N (README "Shards"), else NULL
)
QUARANTINE_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("run_id", "text"),
    ("quarantined_at", _TS),
    ("table_name", "text"),
    ("client_id", "text"),
    ("record_id", "text"),
    ("reason", "text"),
    ("raw_record", "text"),
    ("field_name", "text"),  # the one field nulled in a record that loaded; NULL when the whole record is here
)
# _lp_drift: one row per run, table, field and kind (new_field, converted, quarantined, variant, absent,
# discarded); `category`/`action` say how a new field was treated as personal data (NULL: not personal).
DRIFT_KINDS: Final = ("new_field", "converted", "quarantined", "variant", "absent", "discarded")
DRIFT_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("run_id", "text"),
    ("synced_at", _TS),
    ("table_name", "text"),
    ("field_name", "text"),
    ("kind", "text"),
    ("records", "bigint"),
    ("category", "text"),
    ("action", "text"),
)


def raw_tables() -> dict[str, dict[str, str]]:
    """Every table this source writes -> column -> dlt data type, in column order: the one contract the
    models' sources.yml is generated from (`python -m transforms.sources_yml`)."""
    tables: dict[str, dict[str, str]] = {}
    for table, columns in TABLE_COLUMNS.items():
        shape = dict(BOOKKEEPING_COLUMNS)
        shape.update({name: data_type for name, data_type, _ in columns})
        tables[table] = shape
    tables[LINKED_POSTS_TABLE] = dict(LINKED_POSTS_COLUMNS)
    tables[SYNC_RUNS_TABLE] = dict(SYNC_RUNS_COLUMNS)
    tables[QUARANTINE_TABLE] = dict(QUARANTINE_COLUMNS)
    tables[DRIFT_TABLE] = dict(DRIFT_COLUMNS)
    return tables
