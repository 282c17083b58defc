"""The raw tables the `leadpanther` source writes (docs/tables.md), as the models read them.

Model SQL refers to a raw table as ``raw.<table>``. Before a model runs, each such reference is replaced by
a subquery over the real table that projects every column listed here, cast to its type: a column the
destination does not have (an optional field no record carried yet) becomes a typed NULL, and a table
that does not exist yet (an optional route) becomes a typed empty result. JSON columns are read as text so
the same SQL works on every dialect.
"""

from __future__ import annotations

from typing import Final

from sources.leadpanther import settings as s

# dlt data type -> DuckDB type used in the models (transpiled per destination by sqlglot).
SQL_TYPES: Final[dict[str, str]] = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "bool": "BOOLEAN",
    "timestamptz": "TIMESTAMPTZ",
    "double": "DOUBLE",
    "json": "VARCHAR",  # read as JSON text
}

_BOOKKEEPING: Final = {s.CLIENT_ID: "text", s.SYNCED_AT: "timestamptz", s.DELETED_AT: "timestamptz"}
_RECORD: Final = {"id": "text", "created_at": "timestamptz", "updated_at": "timestamptz"}

RAW_TABLES: Final[dict[str, dict[str, str]]] = {
    "clients": {
        **_BOOKKEEPING,
        "user_id": "text",
        "full_name": "text",
        "business_name": "text",
        "account_status": "text",
        "grant__id": "text",
        "grant__label": "text",
        "grant__status": "text",
        "grant__permissions": "json",
        "grant__created_at": "timestamptz",
        "grant__updated_at": "timestamptz",
    },
    "posts": {
        **_BOOKKEEPING,
        **_RECORD,
        "text": "text",
        "status": "text",
        "scheduled_at": "timestamptz",
        "published_at": "timestamptz",
        "theme_id": "text",
        "template_id": "text",
        "images": "json",
        "document_url": "text",
        "document_type": "text",
        "notes": "text",
        "followups": "json",
        "linkedin_url": "text",
    },
    "lead_magnets": {
        **_BOOKKEEPING,
        **_RECORD,
        "status": "text",
        "delivery_mode": "text",
        "keyword": "text",
        "resource_name": "text",
        "resource_link": "text",
        "description": "text",
        "text_template": "text",
        "linked_posts": "json",
        "hosted_page__title": "text",
        "hosted_page__content_markdown": "text",
        "hosted_page__status": "text",
    },
    s.LINKED_POSTS_TABLE: {**_BOOKKEEPING, "lead_magnet_id": "text", "post_id": "text"},
    "leads": {
        **_BOOKKEEPING,
        **_RECORD,
        "lead_magnet_id": "text",
        "post_id": "text",
        "full_name": "text",
        "email": "text",
        "linkedin_profile_url": "text",
        "headline": "text",
        "company": "text",
        "source": "text",
    },
    "activity": {
        **_BOOKKEEPING,
        "id": "text",
        "created_at": "timestamptz",
        "source": "text",
        "post_id": "text",
        "lead_magnet_id": "text",
        "author_name": "text",
        "author_platform_id": "text",
        "content": "text",
        "keyword_matched": "bool",
    },
    "post_engagement": {
        **_BOOKKEEPING,
        "post_id": "text",
        "impressions": "bigint",
        "reactions": "bigint",
        "comments": "bigint",
        "reposts": "bigint",
        "clicks": "bigint",
        "captured_at": "timestamptz",
    },
    "lead_magnet_analytics": {
        **_BOOKKEEPING,
        "lead_magnet_id": "text",
        "views": "bigint",
        "requests": "bigint",
        "deliveries": "bigint",
        "captured_at": "timestamptz",
    },
    s.SYNC_RUNS_TABLE: {
        "run_id": "text",
        "run_mode": "text",
        "started_at": "timestamptz",
        "finished_at": "timestamptz",
        "duration_s": "double",
        "client_id": "text",
        "resource": "text",
        "status": "text",
        "http_status": "bigint",
        "error_code": "text",
        "error_message": "text",
        "request_id": "text",
        "rows": "bigint",
        "pages": "bigint",
        "requests": "bigint",
        "retries": "bigint",
        "quarantined": "bigint",
        "order_detected": "text",
        "scan": "text",
    },
    s.QUARANTINE_TABLE: {
        "run_id": "text",
        "table_name": "text",
        "client_id": "text",
        "record_id": "text",
        "reason": "text",
        "raw_record": "text",
        "quarantined_at": "timestamptz",
    },
}


def sql_type(dlt_type: str) -> str:
    return SQL_TYPES[dlt_type]
