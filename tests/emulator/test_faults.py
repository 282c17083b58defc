from __future__ import annotations

import time

import httpx
import orjson
import pytest

from leadpanther_emulator import EmulatorConfig, Faults, run_emulator

from .conftest import REQUEST_ID, api, scan


def _statuses(seed: int, faults: Faults, n: int = 40) -> list[tuple]:
    """Status codes (and a body digest) of a fixed request sequence, including repeats of one request."""
    with run_emulator(EmulatorConfig(seed=seed, preset="tiny", faults=faults)) as emu:
        cid = emu.client_ids("active")[0]
        c = api(emu)
        out = []
        for k in range(n):
            try:
                resp = c.get(f"/clients/{cid}/posts", params={"limit": 5, "offset": k % 4})
                out.append((resp.status_code, resp.headers.get("content-type"), len(resp.content)))
            except httpx.HTTPError as error:
                out.append(("error", type(error).__name__))
                c = api(emu)
        return out


def test_latency_and_jitter():
    with run_emulator(EmulatorConfig(preset="tiny", faults=Faults(latency_ms=120, jitter_ms=60))) as emu:
        c = api(emu)
        c.get("/clients")
        times = []
        for _ in range(4):
            start = time.perf_counter()
            assert c.get("/clients").status_code == 200
            times.append(time.perf_counter() - start)
        assert min(times) >= 0.12
        assert max(times) < 0.6
        # admin routes are never delayed
        start = time.perf_counter()
        emu.request_counts()
        emu.truth("clients")
        assert time.perf_counter() - start < 0.1


def test_rate_limit_with_retry_after_and_burst():
    faults = Faults(rate_limit_rate=1.0, retry_after_s=0)
    with run_emulator(EmulatorConfig(preset="tiny", faults=faults)) as emu:
        resp = api(emu).get("/clients")
        assert resp.status_code == 429
        assert resp.headers["retry-after"] == "0"
        assert resp.json()["error"]["code"] == "rate_limited"
        assert REQUEST_ID.match(resp.json()["request_id"])
        emu.set_faults(Faults())
        assert api(emu).get("/clients").status_code == 200
    burst = _statuses(11, Faults(rate_limit_rate=0.1, rate_limit_burst=3, retry_after_s=1))
    codes = [s[0] for s in burst]
    assert 429 in codes and 200 in codes
    first = codes.index(429)
    assert codes[first:first + 4] == [429] * 4  # the hit plus a burst of 3
    assert burst == _statuses(11, Faults(rate_limit_rate=0.1, rate_limit_burst=3, retry_after_s=1))


def test_server_errors():
    with run_emulator(EmulatorConfig(preset="tiny", faults=Faults(error_rate=1.0))) as emu:
        c = api(emu)
        codes = set()
        for k in range(20):
            resp = c.get("/clients", params={"offset": k})
            codes.add(resp.status_code)
            body = resp.json()
            assert set(body) == {"error", "request_id"} and body["error"]["code"]
        assert codes <= {500, 502, 503} and len(codes) >= 2
    seq = _statuses(5, Faults(error_rate=0.3))
    assert {s[0] for s in seq} >= {200} and {s[0] for s in seq} & {500, 502, 503}
    assert seq == _statuses(5, Faults(error_rate=0.3))
    assert seq != _statuses(6, Faults(error_rate=0.3))


def test_retry_of_same_request_gets_fresh_draw():
    seq = _statuses(5, Faults(error_rate=0.5))
    # the loop repeats each of 4 distinct requests 10 times: a failed request does not fail forever
    per_request = [{seq[k][0] for k in range(j, 40, 4)} for j in range(4)]
    assert all(200 in codes for codes in per_request)


def test_dropped_connection():
    with run_emulator(EmulatorConfig(preset="tiny", faults=Faults(drop_rate=1.0))) as emu:
        cid = emu.client_ids("active")[0]
        with pytest.raises(httpx.HTTPError):
            api(emu).get(f"/clients/{cid}/posts")
        emu.set_faults(Faults())
        assert api(emu).get(f"/clients/{cid}/posts").status_code == 200
    seq = _statuses(9, Faults(drop_rate=0.3))
    assert any(s[0] == "error" for s in seq) and any(s[0] == 200 for s in seq)
    assert seq == _statuses(9, Faults(drop_rate=0.3))


def test_truncated_and_non_json_bodies():
    with run_emulator(EmulatorConfig(preset="tiny", faults=Faults(truncated_rate=1.0))) as emu:
        cid = emu.client_ids("active")[0]
        resp = api(emu).get(f"/clients/{cid}/posts")
        assert resp.status_code == 200
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(resp.content)
        assert resp.content.startswith(b'{"data":[')
    with run_emulator(EmulatorConfig(preset="tiny", faults=Faults(non_json_rate=1.0))) as emu:
        cid = emu.client_ids("active")[0]
        resp = api(emu).get(f"/clients/{cid}/posts")
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/html")
        assert resp.text.startswith("<html>")
    for faults in (Faults(truncated_rate=0.3), Faults(non_json_rate=0.3)):
        seq = _statuses(4, faults)
        assert len({s[1:] for s in seq}) > 1
        assert seq == _statuses(4, faults)


def test_bad_records_are_stable_and_in_truth():
    faults = Faults(bad_record_rate=0.2)
    with run_emulator(EmulatorConfig(seed=7, preset="tiny", faults=faults)) as emu:
        cid = emu.client_ids("active")[0]
        c = api(emu)
        for route, resource in (("posts", "posts"), ("leads", "leads"), ("activity", "activity"),
                                ("lead-magnets", "lead_magnets")):
            rows, _ = scan(c, f"/clients/{cid}/{route}", limit=11)
            again, _ = scan(c, f"/clients/{cid}/{route}", limit=100)
            assert rows == again == emu.truth(resource, cid)
        rows = emu.truth("posts", cid) + emu.truth("leads", cid) + emu.truth("activity", cid)
        bad = [r for r in rows if "id" not in r or not isinstance(r.get("created_at"), str)
               or not isinstance(r.get("images", []), list) or isinstance(r.get("company"), int)
               or isinstance(r.get("keyword_matched"), str)]
        assert 0.08 * len(rows) < len(bad) < 0.35 * len(rows)
        eng = emu.truth("post_engagement", cid)
        post_ids = [p["id"] for p in emu.truth("posts", cid) if "id" in p]
        served = [c.get(f"/clients/{cid}/posts/{pid}/engagement").json()["data"] for pid in post_ids]
        assert all(s in eng for s in served)
        every = emu.truth("post_engagement") + emu.truth("lead_magnet_analytics")
        assert [r for r in every if not isinstance(r.get("impressions", r.get("views")), int)
                or ("post_id" not in r and "lead_magnet_id" not in r) or not isinstance(r.get("captured_at"), str)]
        leads = emu.truth("leads")
    assert leads == _truth_again(7, faults, "leads")
    assert leads != _truth_again(8, faults, "leads")


def _truth_again(seed, faults, resource):
    with run_emulator(EmulatorConfig(seed=seed, preset="tiny", faults=faults)) as emu:
        return emu.truth(resource)


def test_revoke_after_n_requests():
    with run_emulator(EmulatorConfig(preset="tiny")) as emu:
        cid = emu.client_ids("active")[0]
        emu.set_faults(Faults(revoke_after={cid: 3}))
        c = api(emu)
        codes = [c.get(f"/clients/{cid}/posts", params={"offset": k}).status_code for k in range(5)]
        assert codes == [200, 200, 200, 403, 403]
        assert {x["user_id"]: x["grant"]["status"] for x in emu.truth("clients")}[cid] == "revoked"
        assert cid not in [x["user_id"] for x in emu.truth("clients") if x["grant"]["status"] == "active"]
        emu.set_grant(cid, "active")
        assert c.get(f"/clients/{cid}/posts").status_code == 200


def test_churn_shifts_offset_pages():
    faults = Faults(churn_rate=1.0, churn_rows=2)
    with run_emulator(EmulatorConfig(seed=7, preset="tiny", faults=faults)) as emu:
        cid = emu.client_ids("active")[0]
        c = api(emu)
        before = {r["id"] for r in emu.truth("leads", cid)}
        rows, requests = scan(c, f"/clients/{cid}/leads", limit=10)
        after = emu.truth("leads", cid)
        assert {r["id"] for r in after} != before
        ids = [r["id"] for r in rows]
        # offset paging under churn loses or repeats rows: exactly what the connector must detect
        assert len(ids) != len(set(ids)) or set(ids) != {r["id"] for r in after}
        assert requests >= 4
    with run_emulator(EmulatorConfig(seed=7, preset="tiny", faults=faults)) as emu2:
        c2 = api(emu2)
        rows2, _ = scan(c2, f"/clients/{cid}/leads", limit=10)
        assert rows2 == rows and emu2.truth("leads", cid) == after


@pytest.mark.parametrize("absent", [["post_engagement"], ["lead_magnet_analytics"], []])
def test_absent_analytics_routes_answer_route_not_found(absent: list[str]) -> None:
    with run_emulator(EmulatorConfig(seed=7, preset="tiny", faults=Faults(absent_routes=absent))) as emu:
        cid = emu.client_ids("active")[0]
        c = api(emu)
        post = emu.truth("posts", cid)[0]["id"]
        magnet = emu.truth("lead_magnets", cid)[0]["id"]
        for name, path in (
            ("post_engagement", f"/clients/{cid}/posts/{post}/engagement"),
            ("lead_magnet_analytics", f"/clients/{cid}/lead-magnets/{magnet}/analytics"),
        ):
            resp = c.get(path)
            if name in absent:
                assert resp.status_code == 404 and resp.json()["error"]["code"] == "route_not_found"
            else:
                assert resp.status_code == 200, resp.text
        assert c.get(f"/clients/{cid}/posts", params={"limit": 1}).status_code == 200
    with pytest.raises(ValueError, match="absent_routes"):
        Faults.from_dict({"absent_routes": ["posts"]})
