"""Property-based bad input: hypothesis builds API pages whose records have wrong types, missing fields,
unknown fields, huge strings, any unicode and nulls in keys (and sometimes a broken envelope). The emulator
has no hook to serve arbitrary records, so a small stdlib HTTP server in this module serves them.

Properties, for every generated page:
* the run never raises: `run_sync` returns, with `error` None or a `LeadPantherError`;
* every distinct record served on a route that completed is either loaded or in `_lp_quarantine` with a
  reason (nothing silently dropped); a route that could not complete is `failed` with a message.

More examples and shrinking: `make soak` (LP_FAULT_EXAMPLES=500 make soak for more).
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipelines.leadpanther_pipeline import make_pipeline, run_sync
from sources.leadpanther.helpers.errors import LeadPantherError
from tests.faults.bad_records import apply_mutations, base_record, envelope_strategy, examples, page_strategy

CLIENT_ID = "11111111-2222-4333-8444-555555555555"
KEY = "lp_live_hypothesis0123456789abcdef"
ROUTES = {"posts": "posts", "leads": "leads", "activity": "activity"}
# Each example is a whole run into a fresh DuckDB file: a few in CI (the same ones every time, derandomized),
# the soak on demand (`make soak`). The record-level property runs many more: tests/unit/test_record_building.
EXAMPLES = examples(ci=8)
# Shrinking a failing run of a whole pipeline takes minutes: off in CI, LP_FAULT_SHRINK=1 to shrink.
PHASES = list(Phase) if os.environ.get("LP_FAULT_SHRINK") else [Phase.explicit, Phase.reuse, Phase.generate]


def _client() -> dict[str, Any]:
    ts = "2025-01-01T00:00:00.000Z"
    return {
        "user_id": CLIENT_ID,
        "full_name": "Client One",
        "business_name": "Biz",
        "account_status": "active",
        "grant": {
            "id": "g1",
            "label": "l",
            "status": "active",
            "permissions": ["posts:read"],
            "created_at": ts,
            "updated_at": ts,
        },
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, Any]
    ids = itertools.count(1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query))
        parts = split.path.removeprefix("/api/v1/").split("/")
        rid = f"req_{next(self.server.ids):024d}"
        offset = int(query.get("offset", "0"))
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._send(401, {"error": {"code": "unauthorized", "message": "bad key"}, "request_id": rid})
        if parts == ["clients"]:
            data: Any = [_client()] if offset == 0 else []
            return self._send(
                200,
                {"data": data, "pagination": {"limit": 100, "offset": offset, "has_more": False}, "request_id": rid},
            )
        if len(parts) == 3 and parts[0] == "clients" and parts[2] in self.server.pages:
            envelope, records = self.server.pages[parts[2]]
            records = records if offset == 0 else []
            body: Any = {
                "data": records,
                "pagination": {"limit": 100, "offset": offset, "has_more": False},
                "request_id": rid,
            }
            if envelope == "data_not_list":
                body["data"] = {"items": records}
            elif envelope == "no_pagination":
                body.pop("pagination")
            elif envelope == "not_object":
                body = records
            return self._send(200, body)
        return self._send(404, {"error": {"code": "not_found", "message": "no route"}, "request_id": rid})

    def _send(self, status: int, body: Any) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def _identity(record: Any) -> str:
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return "id:" + record["id"]
    return "raw:" + json.dumps(record, sort_keys=True, default=str)


def _serve_and_sync(served: dict[str, tuple[str, list[Any]]], **options: Any) -> tuple[Any, Any]:
    """Serve `served` pages from a local stdlib server and run one sync against it into a fresh DuckDB."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.pages = served
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    work = tempfile.mkdtemp(prefix="lp_hyp_")
    try:
        pipeline = make_pipeline(
            "duckdb",
            "leadpanther",
            duckdb_path=os.path.join(work, "h.duckdb"),
            pipelines_dir=os.path.join(work, "pipelines"),
            pipeline_name="lp_hyp",
        )
        result = run_sync(
            pipeline,
            api_key=KEY,
            base_url=f"http://127.0.0.1:{server.server_address[1]}/api/v1",
            backoff_s=0.01,
            max_retries=1,
            resources=["clients", *ROUTES],
            **{"transform": False, **options},
        )
        return pipeline, result
    finally:
        server.shutdown()
        server.server_close()


def test_unknown_field_name_collision_is_not_a_crash() -> None:
    """Regression: an unknown field whose name dlt normalizes onto another column ("Text" -> "text") used to
    make dlt raise NameNormalizationCollision in extract and fail the whole run; it now lands in
    `_lp_unmapped_fields` and every table loads."""
    post = base_record("posts", 1) | {"Text": "same name as text once normalized"}
    served = {
        "posts": ("ok", [post, base_record("posts", 2)]),
        "leads": ("ok", [base_record("leads", 3)]),
        "activity": ("ok", [base_record("activity", 4)]),
    }
    pipeline, result = _serve_and_sync(served)
    assert result.error is None or isinstance(result.error, LeadPantherError), repr(result.error)
    assert _count(pipeline, "leads") == 1, "one odd field in one post must not lose the other tables"
    quarantined = [q for q in result.log.quarantine if q.table_name == "posts" and q.field_name is None]
    assert _count(pipeline, "posts") + len(quarantined) == 2


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(pages=st.fixed_dictionaries({t: st.tuples(envelope_strategy, page_strategy) for t in ROUTES}))
def test_bad_records_never_crash_and_are_quarantined(pages: dict[str, Any]) -> None:
    served: dict[str, tuple[str, list[Any]]] = {}
    for table, (envelope, mutations) in pages.items():
        served[ROUTES[table]] = (envelope, [apply_mutations(base_record(table, i), m) for i, m in enumerate(mutations)])
    pipeline, result = _serve_and_sync(served)
    assert result.error is None or isinstance(result.error, LeadPantherError), repr(result.error)
    by_table = {s.resource: s for s in result.log.statuses if s.client_id == CLIENT_ID}
    for table in ROUTES:
        status = by_table[table]
        envelope, records = served[ROUTES[table]]
        if envelope != "ok":
            assert status.status == "failed" and status.error_message, (table, status)
            continue
        assert status.status == "ok", (table, status.status, status.error_message)
        distinct = {_identity(r) for r in records}
        loaded = _count(pipeline, table)
        # whole records (key unusable) are not loaded; a value set aside (field_name) belongs to a loaded record
        quarantined = [q for q in result.log.quarantine if q.table_name == table and q.field_name is None]
        assert all(q.reason for q in result.log.quarantine)
        assert loaded + len(quarantined) == len(distinct), (
            table,
            loaded,
            len(quarantined),
            len(distinct),
            [q.reason for q in quarantined],
        )
    if result.log.quarantine:
        with pipeline.sql_client() as sql:
            rows = sql.execute_sql("SELECT count(*), count(reason) FROM _lp_quarantine")
        assert rows[0][0] == rows[0][1] == len(result.log.quarantine)


def _count(pipeline: Any, table: str) -> int:
    with pipeline.sql_client() as sql:
        try:
            return int(sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name(table)}")[0][0])
        except Exception:  # noqa: BLE001 - no table when every record was quarantined
            return 0


def test_records_without_id_are_not_silently_deduplicated() -> None:
    """Regression: two records without a string id on one page are both quarantined. pages.py `identity()`
    used to key an id-less record by a 32-byte prefix of its sorted JSON, identical for every lead, so the
    second one was dropped as a duplicate."""
    a = base_record("leads", 1)
    b = base_record("leads", 2)
    a.pop("id")
    b.pop("id")
    served = {"posts": ("ok", []), "leads": ("ok", [a, b]), "activity": ("ok", [])}
    _, result = _serve_and_sync(served)
    quarantined = [q for q in result.log.quarantine if q.table_name == "leads" and q.field_name is None]
    assert len(quarantined) == 2, [q.raw_record[:60] for q in quarantined]


def test_unknown_email_like_field_is_tagged_suspected_hashed_and_reported() -> None:
    """On a route that carries no people, a field outside the PII catalog whose values look like emails: tagged,
    policy applied, reported (on people routes every unknown field is personal: tests/source/test_drift.py)."""
    posts = [base_record("posts", i) | {"backup_email": f"backup{i}@example.org"} for i in range(3)]
    served = {
        "posts": ("ok", posts),
        "leads": ("ok", [base_record("leads", 1)]),
        "activity": ("ok", [base_record("activity", 4)]),
    }
    salt = "suspected-salt-0123456789"
    pipeline, result = _serve_and_sync(served, transform=True, pii_policy={"email": "hash"}, pii_salt=salt)
    assert result.error is None, result.summary_lines()
    assert result.log.suspected_pii == {("posts", "backup_email"): "suspected_email"}
    assert any("SUSPECTED PII: posts.backup_email" in line for line in result.summary_lines())
    columns = pipeline.default_schema.get_table("posts")["columns"]
    assert columns["backup_email"]["x-annotation-pii-category"] == "suspected_email"
    assert columns["text"]["x-annotation-pii-category"] == "authored_text"  # catalogued hints are kept
    with pipeline.sql_client() as sql:
        values = [r[0] for r in sql.execute_sql("SELECT backup_email FROM posts")]
        tagged = sql.execute_sql(
            "SELECT category FROM leadpanther_models.pii_columns"
            " WHERE table_name = 'posts' AND column_name = 'backup_email'"
        )
    assert values and all(len(v) == 64 and "@" not in v for v in values)
    assert tagged and "suspected_email" in tagged[0][0]
