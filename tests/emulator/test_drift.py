"""Drift switches (leadpanther_emulator/drift.py), over HTTP: each kind shows in what the API serves, truth() is
exactly what was served, and everything is off by default (so the other tests see the documented shapes only
when they ask for them; none may rely on that)."""

from __future__ import annotations

from datetime import datetime

import pytest

from leadpanther_emulator import Drift, EmulatorConfig, run_emulator
from leadpanther_emulator.drift import KINDS, MISSING, TYPE_CHANGE, respell
from tests.emulator.conftest import api, scan

PATHS = {
    "posts": "/clients/{}/posts",
    "lead_magnets": "/clients/{}/lead-magnets",
    "leads": "/clients/{}/leads",
    "activity": "/clients/{}/activity",
}


@pytest.fixture(scope="module")
def drifting():
    with run_emulator(EmulatorConfig(seed=5, preset="tiny", drift=Drift.everything())) as emu:
        yield emu


def test_every_kind_is_served_and_truth_is_what_was_served(drifting) -> None:
    client = drifting.client_ids("active")[0]
    http = api(drifting)
    for resource, path in PATHS.items():
        served, _ = scan(http, path.format(client))
        assert served == drifting.truth(resource, client), resource
        assert all(MISSING[resource] not in r for r in served), f"{resource}: the field that disappears"
        assert all(len(r) > 4 for r in served)
    leads, _ = scan(http, PATHS["leads"].format(client))
    assert all(r["phone_number"].startswith("+1 555") and isinstance(r["location"], dict) for r in leads)
    clients = http.get("/clients").json()["data"]
    assert all("phone_number" in c and "region" in c["grant"] for c in clients)
    posts = drifting.truth("posts", client)
    engagement = [
        http.get(f"/clients/{client}/posts/{p['id']}/engagement").json()["data"]
        for p in posts
        if p["status"] == "published"
    ]
    assert engagement == [
        r
        for r in drifting.truth("post_engagement", client)
        if r["post_id"] in {p["id"] for p in posts if p["status"] == "published"}
    ]
    assert all(isinstance(r[TYPE_CHANGE["post_engagement"]], dict) for r in engagement)  # type changed for good
    as_strings = [r for r in engagement if isinstance(r["impressions"], str)]
    assert as_strings and len(as_strings) < len(engagement)  # a share, not all
    stamps = [r["created_at"] for r in posts]
    assert any(not s.endswith(".000Z") and not s[-5:-1].isdigit() for s in stamps)  # other spellings


def test_off_by_default_and_each_switch_alone() -> None:
    assert not Drift().on and set(Drift().to_dict()) == set(KINDS)
    with run_emulator(EmulatorConfig(seed=5, preset="tiny")) as emu:
        client = emu.client_ids("active")[0]
        plain = emu.truth("leads", client)
        assert all(MISSING["leads"] in r and "phone_number" not in r for r in plain)
        emu.set_drift(Drift(missing_field=True))  # a documented field disappears from now on
        assert all(MISSING["leads"] not in r for r in emu.truth("leads", client))
        emu.set_drift(Drift(extra_fields=True))
        assert all("phone_number" in r and "location" not in r for r in emu.truth("leads", client))
    with pytest.raises(ValueError, match="unknown drift"):
        Drift.parse("nested_objects,colour")
    assert Drift.parse("lossless").unconvertible_values == 0 and Drift.parse("all").unconvertible_values > 0


@pytest.mark.parametrize("h", range(4))
def test_other_spellings_are_the_same_instant(h: int) -> None:
    stamp = "2026-05-25T10:11:12.345Z"
    other = respell(stamp, h)
    assert other != stamp
    assert datetime.fromisoformat(other) == datetime.fromisoformat(stamp)
