from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator

from .conftest import api, scan


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")


POST = {"text": "Public-safe LinkedIn post copy.", "status": "draft", "scheduled_at": None, "theme_id": None,
        "template_id": None, "images": [], "document_url": None, "document_type": "image",
        "notes": "Prepared by Example Agency.", "followups": None}


def test_create_update_delete_post(fresh):
    cid = fresh.client_ids("active")[0]
    c = api(fresh)
    resp = c.post(f"/clients/{cid}/posts", json=POST)
    assert resp.status_code == 201, resp.text
    post = resp.json()["data"]
    assert post["status"] == "draft" and post["text"] == POST["text"]
    assert post["created_at"] == post["updated_at"]
    assert max(r["created_at"] for r in fresh.truth("posts", cid) if r["id"] != post["id"]) < post["created_at"]
    assert c.get(f"/clients/{cid}/posts").json()["data"][0] == post  # newest first
    assert c.get(f"/clients/{cid}/posts/{post['id']}").json()["data"] == post
    patched = c.patch(f"/clients/{cid}/posts/{post['id']}", json={"notes": "changed"}).json()["data"]
    assert patched["notes"] == "changed" and patched["updated_at"] > post["updated_at"]
    sched = c.patch(f"/clients/{cid}/posts/{post['id']}",
                    json={"status": "scheduled", "scheduled_at": _iso(timedelta(days=2))})
    assert sched.status_code == 200 and sched.json()["data"]["status"] == "scheduled"
    resp = c.delete(f"/clients/{cid}/posts/{post['id']}")
    assert resp.status_code == 200 and resp.json()["data"] == {"id": post["id"], "deleted": True}
    assert c.get(f"/clients/{cid}/posts/{post['id']}").status_code == 404
    assert post["id"] not in {r["id"] for r in scan(c, f"/clients/{cid}/posts")[0]}


@pytest.mark.parametrize(("body", "status"), [
    ({**POST, "status": "scheduled", "scheduled_at": None}, 422),
    ({**POST, "status": "scheduled", "scheduled_at": "2020-01-01T00:00:00.000Z"}, 422),
    ({**POST, "status": "scheduled", "scheduled_at": "next tuesday"}, 422),
    ({**POST, "status": "published"}, 422),
    ({**POST, "text": ""}, 422),
    ({**POST, "text": 42}, 400),
    ({**POST, "images": "a.png"}, 400),
    ({**POST, "bogus": 1}, 400),
    ([1, 2], 400),
])
def test_post_validation(fresh, body, status):
    cid = fresh.client_ids("active")[0]
    resp = api(fresh).post(f"/clients/{cid}/posts", json=body)
    assert resp.status_code == status, resp.text
    err = resp.json()
    assert set(err) == {"error", "request_id"} and err["error"]["message"]


def test_scheduled_needs_future(fresh):
    cid = fresh.client_ids("active")[0]
    ok = api(fresh).post(f"/clients/{cid}/posts",
                         json={**POST, "status": "scheduled", "scheduled_at": _iso(timedelta(hours=3))})
    assert ok.status_code == 201


def test_malformed_json_is_400(fresh):
    cid = fresh.client_ids("active")[0]
    resp = api(fresh).post(f"/clients/{cid}/posts", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"


def test_published_and_publishing_posts_cannot_be_deleted_or_edited():
    with run_emulator(EmulatorConfig(seed=7, preset="tiny", clients=1, posts_per_client=200)) as emu:
        cid = emu.client_ids("active")[0]
        c = api(emu)
        by_status = {}
        for p in emu.truth("posts", cid):
            by_status.setdefault(p["status"], p)
        assert set(by_status) == {"draft", "scheduled", "publishing", "published"}
        for status in ("published", "publishing"):
            p = by_status[status]
            resp = c.delete(f"/clients/{cid}/posts/{p['id']}")
            assert resp.status_code == 422 and resp.json()["error"]["code"] == "post_not_deletable"
            assert c.patch(f"/clients/{cid}/posts/{p['id']}", json={"notes": "x"}).status_code == 422
            assert c.get(f"/clients/{cid}/posts/{p['id']}").status_code == 200
        for status in ("draft", "scheduled"):
            p = by_status[status]
            assert c.delete(f"/clients/{cid}/posts/{p['id']}").status_code == 200
            assert c.delete(f"/clients/{cid}/posts/{p['id']}").status_code == 404


MAGNET = {"delivery_mode": "external_link", "keyword": "GUIDE", "resource_name": "Example Guide",
          "resource_link": "https://example.com/resource.pdf", "description": "Short public-safe description.",
          "text_template": "Here is the guide: {{resource_link}}", "linked_posts": []}
PAGE = {"title": "Guide", "content_markdown": "# Guide\n\nBody.", "status": "published"}


@pytest.mark.parametrize(("body", "status"), [
    (MAGNET, 201),
    ({**MAGNET, "status": "published"}, 201),
    ({**MAGNET, "delivery_mode": "hosted_content"}, 422),
    ({**MAGNET, "delivery_mode": "gated_external"}, 422),
    ({**MAGNET, "delivery_mode": "hosted_content", "hosted_page": PAGE}, 201),
    ({**MAGNET, "delivery_mode": "hosted_content", "status": "published", "hosted_page": PAGE}, 201),
    ({**MAGNET, "delivery_mode": "hosted_content", "status": "published",
      "hosted_page": {**PAGE, "content_markdown": "  "}}, 422),
    ({**MAGNET, "delivery_mode": "hosted_content", "status": "draft",
      "hosted_page": {**PAGE, "content_markdown": ""}}, 201),
    ({**MAGNET, "delivery_mode": "gated_external", "status": "published", "hosted_page": PAGE}, 201),
    ({**MAGNET, "delivery_mode": "gated_external", "status": "published", "hosted_page": PAGE,
      "resource_link": "not a url"}, 422),
    ({**MAGNET, "delivery_mode": "gated_external", "status": "published", "hosted_page": PAGE,
      "resource_link": None}, 422),
    ({**MAGNET, "delivery_mode": "carrier_pigeon"}, 422),
    ({**MAGNET, "keyword": ""}, 422),
    ({**MAGNET, "linked_posts": ["00000000-0000-4000-8000-000000000001"]}, 422),
    ({**MAGNET, "linked_posts": "x"}, 400),
    ({**MAGNET, "hosted_page": "x"}, 400),
    ({**MAGNET, "extra": True}, 400),
])
def test_lead_magnet_rules(fresh, body, status):
    cid = fresh.client_ids("active")[0]
    resp = api(fresh).post(f"/clients/{cid}/lead-magnets", json=body)
    assert resp.status_code == status, resp.text
    if status == 201:
        rec = resp.json()["data"]
        assert rec["id"] and rec["status"] == body.get("status", "draft")
        assert rec in fresh.truth("lead_magnets", cid)


def test_lead_magnet_linked_posts_update_and_archive(fresh):
    cid = fresh.client_ids("active")[0]
    c = api(fresh)
    post_ids = [p["id"] for p in fresh.truth("posts", cid)[:2]]
    rec = c.post(f"/clients/{cid}/lead-magnets", json={**MAGNET, "linked_posts": post_ids}).json()["data"]
    assert rec["linked_posts"] == post_ids
    patched = c.patch(f"/clients/{cid}/lead-magnets/{rec['id']}", json={"description": "new"}).json()["data"]
    assert patched["description"] == "new" and patched["updated_at"] > rec["updated_at"]
    bad = c.patch(f"/clients/{cid}/lead-magnets/{rec['id']}", json={"delivery_mode": "hosted_content"})
    assert bad.status_code == 422
    archived = c.post(f"/clients/{cid}/lead-magnets/{rec['id']}/archive").json()["data"]
    assert archived["status"] == "archived" and archived["updated_at"] > patched["updated_at"]
    listed = {r["id"]: r for r in scan(c, f"/clients/{cid}/lead-magnets")[0]}
    assert listed[rec["id"]]["status"] == "archived"
    analytics = c.get(f"/clients/{cid}/lead-magnets/{rec['id']}/analytics").json()["data"]
    assert analytics["lead_magnet_id"] == rec["id"]


@pytest.mark.parametrize(("body", "status"), [
    ({"filename": "a.png", "content_type": "image/png", "file_size": 102400}, 200),
    ({"filename": "a.jpg", "content_type": "image/jpeg", "file_size": 5 * 1024 * 1024}, 200),
    ({"filename": "a.gif", "content_type": "image/gif", "file_size": 1}, 200),
    ({"filename": "a.webp", "content_type": "image/webp", "file_size": 5 * 1024 * 1024 + 1}, 422),
    ({"filename": "a.pdf", "content_type": "application/pdf", "file_size": 15 * 1024 * 1024}, 200),
    ({"filename": "a.pdf", "content_type": "application/pdf", "file_size": 15 * 1024 * 1024 + 1}, 422),
    ({"filename": "a.svg", "content_type": "image/svg+xml", "file_size": 10}, 422),
    ({"filename": "a.mp4", "content_type": "video/mp4", "file_size": 10}, 422),
    ({"filename": "a.png", "content_type": "image/png", "file_size": 0}, 422),
    ({"filename": "a.png", "content_type": "image/png"}, 400),
    ({"filename": "a.png", "content_type": "image/png", "file_size": "big"}, 400),
    ({"content_type": "image/png", "file_size": 10}, 400),
])
def test_media_upload_url(tiny, body, status):
    cid = tiny.client_ids("active")[0]
    resp = api(tiny).post(f"/clients/{cid}/media/upload-url", json=body)
    assert resp.status_code == status, resp.text
    if status == 200:
        data = resp.json()["data"]
        assert set(data) == {"upload_url", "token", "path", "public_url", "bucket", "content_type"}
        assert data["content_type"] == body["content_type"]
