from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from leadpanther_emulator import PRESETS, Backend, EmulatorConfig, run_emulator
from leadpanther_emulator.generator import parse_iso_ms

from .conftest import api, scan

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RESOURCES = ("clients", "posts", "lead_magnets", "leads", "activity", "post_engagement", "lead_magnet_analytics")


def _all_truth(cfg):
    b = Backend(cfg)
    return {r: list(b.iter_truth(r)) for r in RESOURCES}


def test_same_seed_same_data_different_seed_different():
    a = _all_truth(EmulatorConfig(seed=11, preset="tiny"))
    b = _all_truth(EmulatorConfig(seed=11, preset="tiny"))
    c = _all_truth(EmulatorConfig(seed=12, preset="tiny"))
    assert a == b
    for resource in RESOURCES:
        assert a[resource], resource
        assert a[resource] != c[resource], resource
    # keys are derived from the seed too
    assert Backend(EmulatorConfig(seed=11, preset="tiny")).keys == Backend(EmulatorConfig(seed=11, preset="tiny")).keys


def test_truth_equals_paging_for_every_resource(tiny):
    c = api(tiny)
    assert scan(c, "/clients")[0] == tiny.truth("clients")
    everything = {r: [] for r in RESOURCES[1:]}
    active = [x["user_id"] for x in tiny.truth("clients") if x["grant"]["status"] == "active"]
    assert sorted(active) == sorted(tiny.client_ids("active"))
    for cid in active:  # truth(resource) with no client: active clients in GET /clients order
        for route, resource in (("posts", "posts"), ("lead-magnets", "lead_magnets"), ("leads", "leads"),
                                ("activity", "activity")):
            rows, _ = scan(c, f"/clients/{cid}/{route}", limit=13)
            assert rows == tiny.truth(resource, cid)
            everything[resource] += rows
        eng = [c.get(f"/clients/{cid}/posts/{p['id']}/engagement").json()["data"]
               for p in tiny.truth("posts", cid)]
        assert eng == tiny.truth("post_engagement", cid)
        everything["post_engagement"] += eng
        ana = [c.get(f"/clients/{cid}/lead-magnets/{m['id']}/analytics").json()["data"]
               for m in tiny.truth("lead_magnets", cid)]
        assert ana == tiny.truth("lead_magnet_analytics", cid)
        everything["lead_magnet_analytics"] += ana
        for p in tiny.truth("posts", cid)[:3]:
            assert c.get(f"/clients/{cid}/posts/{p['id']}").json()["data"] == p
    for resource, rows in everything.items():
        assert rows == tiny.truth(resource), resource  # client_id=None: every active client


def test_request_counts(fresh):
    fresh.reset_request_log()
    cid = fresh.client_ids("active")[0]
    c = api(fresh)
    _, n = scan(c, f"/clients/{cid}/leads", limit=10)
    c.get("/clients")
    c.get("/nope")
    counts = fresh.request_counts()
    assert counts["GET /clients/{clientId}/leads"] == n == 4
    assert counts["GET /clients"] == 1
    assert counts["total"] == n + 2
    fresh.truth("leads")  # admin/truth calls are not counted
    assert fresh.request_counts()["total"] == n + 2
    fresh.reset_request_log()
    assert fresh.request_counts()["total"] == 0


def test_grant_mix_and_plausible_data():
    cfg = EmulatorConfig(seed=7, preset="demo")
    with run_emulator(cfg) as emu:
        clients = emu.truth("clients")
        statuses = Counter(c["grant"]["status"] for c in clients)
        assert len(clients) == 6 and statuses["active"] >= 4 and statuses["revoked"] and statuses["pending"]
        posts, magnets = emu.truth("posts"), emu.truth("lead_magnets")
        leads, acts = emu.truth("leads"), emu.truth("activity")
        total = len(posts) + len(magnets) + len(leads) + len(acts)
        assert total == statuses["active"] * 832
        for rows in (posts, magnets, leads):
            for r in rows:
                assert TS.match(r["created_at"]) and TS.match(r["updated_at"]) and r["updated_at"] >= r["created_at"]
        assert all(TS.match(a["created_at"]) and "updated_at" not in a for a in acts)
        stamps = sorted(r["created_at"] for r in posts + leads + acts)
        assert stamps[0][:7] <= "2026-06" and stamps[-1][:7] >= "2026-10"  # months of history
        st = Counter(p["status"] for p in posts)
        assert set(st) == {"draft", "scheduled", "publishing", "published"}
        for p in posts:
            if p["status"] == "published":
                assert p["published_at"] and p["linkedin_url"].startswith("https://www.linkedin.com/")
            if p["status"] == "scheduled":
                assert p["scheduled_at"] > p["created_at"] and p["scheduled_at"] > "2026-11"
            assert isinstance(p["images"], list) and (p["followups"] is None or isinstance(p["followups"], list))
        assert Counter(m["delivery_mode"] for m in magnets).keys() == {"external_link", "hosted_content",
                                                                        "gated_external"}
        for m in magnets:
            assert m["keyword"].isupper()
            if m["delivery_mode"] != "external_link":
                assert set(m["hosted_page"]) == {"title", "content_markdown", "status"}
            if m["delivery_mode"] == "hosted_content" and m["status"] == "published":
                assert m["hosted_page"]["content_markdown"].strip()
        no_email = sum(1 for r in leads if r["email"] is None) / len(leads)
        assert 0.2 < no_email < 0.4
        magnet_by_id = {m["id"]: m for m in magnets}
        post_ids = {p["id"] for p in posts}
        for r in leads:
            if r["post_id"] is not None:
                assert r["post_id"] in magnet_by_id[r["lead_magnet_id"]]["linked_posts"]
                assert r["post_id"] in post_ids
        comments = [a for a in acts if a["source"] == "comments"]
        assert comments and all(a["post_id"] in post_ids for a in comments)
        assert all(a["post_id"] is None for a in acts if a["source"] == "messages")
        for a in acts:
            if a["keyword_matched"]:
                assert magnet_by_id[a["lead_magnet_id"]]["keyword"] in a["content"]
        assert len({a["author_platform_id"] for a in acts}) < len(acts) * 0.8  # people repeat
        for e in emu.truth("post_engagement"):
            assert e["impressions"] >= e["reactions"] >= e["comments"] and e["impressions"] >= e["clicks"]
        assert any(e["impressions"] > 0 for e in emu.truth("post_engagement"))
        for a in emu.truth("lead_magnet_analytics"):
            assert a["views"] >= a["requests"] >= a["deliveries"] >= 0


def test_mutations(fresh):
    cid = fresh.client_ids("active")[0]
    c = api(fresh)
    before = {r["id"]: r for r in fresh.truth("posts", cid)}
    newest = max(r["updated_at"] for r in before.values())
    new_ids = fresh.insert("posts", cid, 3)
    first_page = c.get(f"/clients/{cid}/posts", params={"limit": 3}).json()["data"]
    assert {r["id"] for r in first_page} == set(new_ids)
    assert all(r["created_at"] > newest for r in first_page)
    upd = fresh.update("posts", cid, 2)
    now = {r["id"]: r for r in fresh.truth("posts", cid)}
    for pid in upd:
        assert now[pid]["updated_at"] > before.get(pid, now[pid])["created_at"]
        assert now[pid]["notes"] != before.get(pid, {}).get("notes")
    gone = fresh.delete("posts", cid, 2)
    assert len(gone) == 2
    after = {r["id"]: r for r in fresh.truth("posts", cid)}
    assert not set(gone) & set(after)
    assert all(now[g]["status"] in ("draft", "scheduled") for g in gone)
    archived = fresh.delete("lead_magnets", cid, 1)
    mags = {m["id"]: m for m in fresh.truth("lead_magnets", cid)}
    assert mags[archived[0]]["status"] == "archived"
    n_leads = len(fresh.truth("leads", cid))
    fresh.delete("leads", cid, 4)
    fresh.insert("activity", cid, 2)
    assert len(fresh.truth("leads", cid)) == n_leads - 4
    with pytest.raises(ValueError):
        fresh.update("activity", cid, 1)
    assert scan(c, f"/clients/{cid}/posts", limit=7)[0] == fresh.truth("posts", cid)
    assert scan(c, f"/clients/{cid}/leads", limit=7)[0] == fresh.truth("leads", cid)


def test_set_grant_and_add_client(fresh):
    cid = fresh.client_ids("active")[0]
    c = api(fresh)
    fresh.set_grant(cid, "pending")
    assert c.get(f"/clients/{cid}/posts").status_code == 403
    fresh.set_grant(cid, "active")
    assert c.get(f"/clients/{cid}/posts").status_code == 200
    new = fresh.add_client()
    assert new in [x["user_id"] for x in c.get("/clients").json()["data"]]
    assert len(scan(c, f"/clients/{new}/posts")[0]) == PRESETS["tiny"]["posts_per_client"]
    assert c.get("/clients").json()["data"][0]["user_id"] == new  # newest first


def test_presets_sizes():
    def readable(name):
        b = Backend(EmulatorConfig(seed=7, preset=name))
        active = [c for c in b.clients if c.grant["status"] == "active"]
        return sum(coll.size() for c in active for coll in c.colls.values()), len(b.clients)
    assert readable("tiny")[0] < 1000
    assert 3000 <= readable("demo")[0] <= 6000
    medium = readable("medium")
    assert medium[0] >= 250_000 and medium[1] >= 50
    large = readable("large")
    assert large[0] >= 1_000_000 and large[1] >= 50


def test_large_preset_is_lazy_and_pages_are_cheap():
    start = time.perf_counter()
    b = Backend(EmulatorConfig(seed=7, preset="large"))
    assert time.perf_counter() - start < 2
    cid = next(c.user_id for c in b.clients if c.grant["status"] == "active")
    start = time.perf_counter()
    for offset in (0, 3000, 8800):
        rows, more = b.list_records(cid, "leads", offset, 100)
        assert len(rows) == 100 and more
    b.delete("leads", cid, 50)
    rows, more = b.list_records(cid, "leads", 8850, 100)
    assert len(rows) == 100 and not more
    assert time.perf_counter() - start < 1.5


def test_warm_cache_serves_exactly_the_same_pages() -> None:
    """Benchmarks pre-generate every record (warm=True); what is served must not change, mutations included."""
    from leadpanther_emulator import EmulatorConfig
    from leadpanther_emulator.models import Backend

    cold = Backend(EmulatorConfig(seed=13, preset="tiny"))
    warm = Backend(EmulatorConfig(seed=13, preset="tiny", warm=True))
    for backend in (cold, warm):
        client = backend.clients[0].user_id
        backend.update("leads", client, 3)
        backend.delete("leads", client, 2)
        backend.insert("leads", client, 2)
    for resource in ("posts", "lead_magnets", "leads", "activity"):
        assert list(cold.iter_truth(resource, None)) == list(warm.iter_truth(resource, None)), resource
        for state_cold, state_warm in zip(cold.clients, warm.clients, strict=True):
            for order in ("newest", "oldest"):
                for offset in (0, 7, 35):
                    a = state_cold.colls[resource].page(order, offset, 10, None, 0.0)
                    b = state_warm.colls[resource].page(order, offset, 10, None, 0.0)
                    assert a == b, (resource, order, offset)


def test_analytics_figures_grow_with_whole_days_of_the_clock(fresh):
    """Figures depend on the simulated day only: writes (1 ms ticks) change none, a day grows young posts'."""
    from leadpanther_emulator.generator import DAY_MS

    cid = fresh.client_ids("active")[0]
    day0 = {e["post_id"]: e for e in fresh.truth("post_engagement", cid)}
    fresh.insert("leads", cid, 3)  # ticks the clock by a millisecond
    assert {e["post_id"]: e for e in fresh.truth("post_engagement", cid)} == day0
    fresh.advance_clock(DAY_MS)
    day1 = {e["post_id"]: e for e in fresh.truth("post_engagement", cid)}
    fields = ("impressions", "reactions", "comments", "reposts", "clicks")
    assert all(day1[p][f] >= day0[p][f] for p in day0 for f in fields), "a figure shrank"
    assert any(day1[p]["impressions"] > day0[p]["impressions"] for p in day0), "nothing grew in a day"
    assert {e["captured_at"][:10] for e in day1.values()} != {e["captured_at"][:10] for e in day0.values()}
    # What the API serves is what the ground truth says, on the new day too.
    post_id = next(iter(day1))
    served = api(fresh).get(f"/clients/{cid}/posts/{post_id}/engagement").json()["data"]
    assert served == day1[post_id]
    magnets0 = fresh.truth("lead_magnet_analytics", cid)
    fresh.advance_clock(7 * DAY_MS)
    magnets1 = fresh.truth("lead_magnet_analytics", cid)
    assert all(b["views"] >= a["views"] for a, b in zip(magnets0, magnets1, strict=True))
    with pytest.raises(ValueError):
        fresh.advance_clock(-1)


@pytest.mark.parametrize("order", ["oldest", "newest"])
def test_backdated_inserts_sit_among_the_rows_in_created_order(order: str) -> None:
    with run_emulator(EmulatorConfig(seed=7, preset="tiny", order=order)) as emu:
        cid = emu.client_ids("active")[0]
        before = emu.truth("leads", cid)
        created = sorted(r["created_at"] for r in before)
        middle_ms = parse_iso_ms(created[len(created) // 2])
        ids = emu.insert("leads", cid, 2, created_ms=middle_ms - 1)
        new_now = emu.insert("leads", cid, 1)
        rows, _ = scan(api(emu), f"/clients/{cid}/leads", limit=7)
        assert rows == emu.truth("leads", cid)
        keys = [(r["created_at"], r["id"]) for r in rows]
        assert keys == sorted(keys, reverse=order == "newest")
        positions = {r["id"]: k for k, r in enumerate(rows)}
        inner = range(len(rows) // 4, 3 * len(rows) // 4)
        assert all(positions[i] in inner for i in ids), "backdated rows are not among the others"
        assert positions[new_now[0]] == (len(rows) - 1 if order == "oldest" else 0)
        # A deletion of a base row before them keeps the listing consistent with the truth.
        emu.delete("leads", cid, 3)
        rows, _ = scan(api(emu), f"/clients/{cid}/leads", limit=5)
        assert rows == emu.truth("leads", cid) and len(rows) == len(before) + 3 - 3
