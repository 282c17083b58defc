from __future__ import annotations

import uuid

from .conftest import REQUEST_ID, api


def test_missing_malformed_unknown_key_is_401(tiny):
    cid = tiny.client_ids("active")[0]
    for headers in ({}, {"Authorization": "lp_live_x"}, {"Authorization": "Bearer lp_live_nope"},
                    {"Authorization": "Basic abc"}):
        for path in ("/clients", f"/clients/{cid}/posts", "/nope"):
            resp = api(tiny, None).get(path, headers=headers)
            assert resp.status_code == 401, (headers, path)
            body = resp.json()
            assert body["error"]["code"] == "unauthorized"
            assert REQUEST_ID.match(body["request_id"])


def test_missing_scope_is_403(tiny):
    cid = tiny.client_ids("active")[0]
    post_id = tiny.truth("posts", cid)[0]["id"]
    cases = [
        ("no_leads", "GET", f"/clients/{cid}/leads"),
        ("no_analytics", "GET", f"/clients/{cid}/posts/{post_id}/engagement"),
        ("clients_only", "GET", f"/clients/{cid}/posts"),
        ("clients_only", "GET", f"/clients/{cid}/activity"),
        ("read", "POST", f"/clients/{cid}/posts"),
        ("read", "POST", f"/clients/{cid}/media/upload-url"),
        ("read", "DELETE", f"/clients/{cid}/posts/{post_id}"),
    ]
    for key, method, path in cases:
        resp = api(tiny, key).request(method, path, json={})
        assert resp.status_code == 403, (key, method, path, resp.text)
        assert resp.json()["error"]["code"] == "insufficient_scope"
    # the same keys do reach what their scopes allow
    assert api(tiny, "no_leads").get(f"/clients/{cid}/activity").status_code == 200
    assert api(tiny, "no_analytics").get(f"/clients/{cid}/leads").status_code == 200
    assert api(tiny, "clients_only").get("/clients").status_code == 200
    assert api(tiny, "read").get(f"/clients/{cid}/posts/{post_id}/engagement").status_code == 200


def test_inactive_grant_is_403(tiny):
    for status in ("revoked", "pending"):
        cid = tiny.client_ids(status)[0]
        for path in (f"/clients/{cid}", f"/clients/{cid}/posts", f"/clients/{cid}/leads"):
            resp = api(tiny).get(path)
            assert resp.status_code == 403, (status, path)
            assert resp.json()["error"]["code"] == "grant_not_active"


def test_unknown_client_path_record_is_404(tiny):
    cid = tiny.client_ids("active")[0]
    c = api(tiny)
    for path in (f"/clients/{uuid.uuid4()}/posts", f"/clients/{tiny.ungranted_client_id}",
                 f"/clients/{tiny.ungranted_client_id}/posts", "/posts", "/leads", f"/clients/{cid}/nope",
                 f"/clients/{cid}/posts/{uuid.uuid4()}", f"/clients/{cid}/lead-magnets/not-an-id",
                 f"/clients/{cid}/posts/{uuid.uuid4()}/engagement"):
        resp = c.get(path)
        assert resp.status_code == 404, (path, resp.text)
        assert REQUEST_ID.match(resp.json()["request_id"])
    outside = str(c.base_url).replace("/api/v1", "/other")
    assert c.get(outside).status_code == 404


def test_clients_lists_only_granted_clients(tiny):
    body = api(tiny).get("/clients").json()
    ids = [c["user_id"] for c in body["data"]]
    assert set(ids) == set(tiny.client_ids())
    assert tiny.ungranted_client_id not in ids
    assert {c["grant"]["status"] for c in body["data"]} == {"active", "revoked", "pending"}
    assert body["pagination"] == {"limit": 50, "offset": 0, "has_more": False}
    assert set(body) == {"data", "pagination", "request_id"}
    one = api(tiny).get(f"/clients/{tiny.client_ids('active')[0]}")
    assert one.status_code == 200 and set(one.json()["data"]) >= {"user_id", "grant", "full_name"}


def test_request_ids_are_fresh(tiny):
    cid = tiny.client_ids("active")[0]
    c = api(tiny)
    seen = set()
    for _ in range(5):
        for path in ("/clients", f"/clients/{cid}/posts", "/nope", f"/clients/{uuid.uuid4()}"):
            resp = c.get(path)
            rid = resp.json()["request_id"]
            assert REQUEST_ID.match(rid)
            assert resp.headers["x-request-id"] == rid
            seen.add(rid)
    assert len(seen) == 20
