from __future__ import annotations

import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator

from .conftest import api, scan


@pytest.mark.parametrize("rows", [0, 1, 99, 100, 101])
def test_pagination_edges(rows):
    cfg = EmulatorConfig(seed=3, preset="tiny", clients=1, posts_per_client=rows)
    with run_emulator(cfg) as emu:
        cid = emu.client_ids("active")[0]
        c = api(emu)
        got, requests = scan(c, f"/clients/{cid}/posts", limit=100)
        assert len(got) == rows
        assert len({r["id"] for r in got}) == rows
        assert requests == max(1, -(-rows // 100))  # has_more is exact: no trailing empty page
        assert got == emu.truth("posts", cid)
        first = c.get(f"/clients/{cid}/posts", params={"limit": 100}).json()
        assert first["pagination"] == {"limit": 100, "offset": 0, "has_more": rows > 100}
        assert len(first["data"]) == min(rows, 100)
        # default limit 50
        default = c.get(f"/clients/{cid}/posts").json()
        assert default["pagination"] == {"limit": 50, "offset": 0, "has_more": rows > 50}
        assert len(default["data"]) == min(rows, 50)
        # an offset past the end is an empty page, not an error
        past = c.get(f"/clients/{cid}/posts", params={"offset": rows + 5}).json()
        assert past["data"] == [] and past["pagination"]["has_more"] is False
        # limit 1 walks one row at a time
        if rows:
            ones, n = scan(c, f"/clients/{cid}/posts", limit=1)
            assert ones == got and n == rows


def test_limit_is_capped_at_100(tiny):
    cfg = EmulatorConfig(seed=3, preset="tiny", clients=1, leads_per_client=250)
    with run_emulator(cfg) as emu:
        cid = emu.client_ids()[0]
        body = api(emu).get(f"/clients/{cid}/leads", params={"limit": 1000}).json()
        assert body["pagination"] == {"limit": 100, "offset": 0, "has_more": True}
        assert len(body["data"]) == 100
        body = api(emu).get(f"/clients/{cid}/leads", params={"limit": 100, "offset": 200}).json()
        assert body["pagination"] == {"limit": 100, "offset": 200, "has_more": False}
        assert len(body["data"]) == 50


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": -1}, {"limit": "abc"}, {"limit": "1.5"},
                                    {"limit": ""}, {"offset": -1}, {"offset": "x"}, {"offset": "2.0"},
                                    {"has_email": "maybe"}])
def test_bad_paging_params_are_400(tiny, params):
    cid = tiny.client_ids("active")[0]
    resp = api(tiny).get(f"/clients/{cid}/leads", params=params)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] in ("invalid_pagination", "invalid_filter")
    assert api(tiny).get("/clients", params=params).status_code in (400, 200)


def test_bad_source_filter_is_400(tiny):
    cid = tiny.client_ids("active")[0]
    assert api(tiny).get(f"/clients/{cid}/activity", params={"source": "emails"}).status_code == 400


def _key(r):
    return (r["created_at"], r["id"])


def test_orders():
    scans = {}
    for order in ("newest", "oldest", "unstable"):
        with run_emulator(EmulatorConfig(seed=5, preset="demo", clients=1, order=order)) as emu:
            cid = emu.client_ids()[0]
            c = api(emu)
            rows, _ = scan(c, f"/clients/{cid}/activity", limit=37)
            again, _ = scan(c, f"/clients/{cid}/activity", limit=100)
            assert rows == again == emu.truth("activity", cid)
            scans[order] = rows
    newest, oldest, unstable = scans["newest"], scans["oldest"], scans["unstable"]
    assert [_key(r) for r in newest] == sorted((_key(r) for r in newest), reverse=True)
    assert [_key(r) for r in oldest] == sorted(_key(r) for r in oldest)
    assert oldest == newest[::-1]
    assert sorted(map(_key, unstable)) == sorted(map(_key, oldest))
    keys = [_key(r) for r in unstable]
    assert keys != sorted(keys) and keys != sorted(keys, reverse=True)
    # several rows share one created_at (the connector must cope with ties)
    stamps = [r["created_at"] for r in oldest]
    assert len(set(stamps)) < len(stamps)


def test_filters(tiny):
    cid = tiny.client_ids("active")[0]
    c = api(tiny)
    leads = tiny.truth("leads", cid)
    with_email, _ = scan(c, f"/clients/{cid}/leads", limit=7, has_email="true")
    assert with_email == [r for r in leads if r["email"] is not None]
    without, _ = scan(c, f"/clients/{cid}/leads", limit=7, has_email="false")
    assert without == [r for r in leads if r["email"] is None]
    acts = tiny.truth("activity", cid)
    comments, _ = scan(c, f"/clients/{cid}/activity", limit=9, source="comments")
    assert comments == [r for r in acts if r["source"] == "comments"]
    messages, _ = scan(c, f"/clients/{cid}/activity", limit=9, source="messages")
    assert messages == [r for r in acts if r["source"] == "messages"]


def test_filters_follow_mutations(fresh):
    cid = fresh.client_ids("active")[0]
    c = api(fresh)
    scan(c, f"/clients/{cid}/leads", has_email="true")  # build the filter view first
    fresh.delete("leads", cid, 5)
    fresh.insert("leads", cid, 4)
    leads = fresh.truth("leads", cid)
    got, _ = scan(c, f"/clients/{cid}/leads", limit=6, has_email="true")
    assert got == [r for r in leads if r["email"] is not None]


def test_unstable_order_reshuffles_when_rows_change():
    with run_emulator(EmulatorConfig(seed=5, preset="tiny", clients=1, order="unstable")) as emu:
        cid = emu.client_ids()[0]
        c = api(emu)
        before = [r["id"] for r in scan(c, f"/clients/{cid}/leads")[0]]
        assert before == [r["id"] for r in scan(c, f"/clients/{cid}/leads")[0]]  # stable while nothing changes
        emu.update("leads", cid, 1)
        after = [r["id"] for r in scan(c, f"/clients/{cid}/leads")[0]]
        assert sorted(after) == sorted(before) and after != before
