"""Independent pandas computation of the marts from the emulator's ground truth (API-shaped records).

Implements the rules in transforms/DECISIONLOG.md without any SQL, so the test compares two codings.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sources.leadpanther.settings import ENGAGED_POST_STATUSES

RESOURCES = ("posts", "lead_magnets", "leads", "activity", "post_engagement", "lead_magnet_analytics")


def truth_frames(emu: Any) -> dict[str, pd.DataFrame]:
    clients = emu.truth("clients")
    out: dict[str, list[dict]] = {r: [] for r in RESOURCES}
    for c in clients:
        if (c.get("grant") or {}).get("status") != "active":
            continue  # the API refuses (403) every route of a client without an active grant
        for r in RESOURCES:
            for rec in emu.truth(r, c["user_id"]):
                out[r].append({**rec, "client_id": c["user_id"]})
    frames = {r: pd.DataFrame(rows) for r, rows in out.items()}
    # the source reads engagement only for posts that can have some (settings.ENGAGED_POST_STATUSES)
    engaged = {(p["client_id"], p["id"]) for p in out["posts"] if p["status"] in ENGAGED_POST_STATUSES}
    frames["post_engagement"] = pd.DataFrame(
        [e for e in out["post_engagement"] if (e["client_id"], e["post_id"]) in engaged])
    frames["clients"] = pd.DataFrame(
        [{"client_id": c["user_id"], "grant_status": c["grant"]["status"]} for c in clients])
    frames["client_records"] = [{"client_id": c["user_id"], "business_name": c.get("business_name")} for c in clients]
    for name, cols in (("posts", ["published_at"]), ("leads", ["created_at"]), ("activity", ["created_at"]),
                       ("lead_magnet_analytics", ["captured_at"]), ("lead_magnets", ["created_at"])):
        for col in cols:
            ts = pd.to_datetime(frames[name][col], utc=True)
            frames[name][col.replace("_at", "_day")] = ts.dt.date.where(ts.notna(), None)
    return frames


def _links(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = [
        {"client_id": m["client_id"], "lead_magnet_id": m["id"], "post_id": p}
        for m in f["lead_magnets"].to_dict("records")
        for p in dict.fromkeys(m.get("linked_posts") or [])
    ]
    return pd.DataFrame(rows, columns=["client_id", "lead_magnet_id", "post_id"])


def _attribute(df: pd.DataFrame, links: pd.DataFrame) -> pd.Series:
    n = links.groupby(["client_id", "lead_magnet_id"])["post_id"].agg(list)
    single = {k: v[0] for k, v in n.items() if len(v) == 1}
    out = []
    for r in df.to_dict("records"):
        pid = r.get("post_id")
        if pid is None or (isinstance(pid, float) and pd.isna(pid)):
            pid = single.get((r["client_id"], r.get("lead_magnet_id")))
        out.append(pid)
    return pd.Series(out, index=df.index, dtype=object)


def _has_email(e: Any) -> bool:
    return isinstance(e, str) and e.strip() != ""


def expected_post_engagement(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    links = _links(f)
    act = f["activity"].copy()
    act["post"] = _attribute(act, links)
    act["person"] = act["author_platform_id"].fillna(act["author_name"])
    leads = f["leads"].copy()
    leads["post"] = _attribute(leads, links)
    eng = f["post_engagement"].set_index(["client_id", "post_id"])
    rows = []
    for p in f["posts"].to_dict("records"):
        key = (p["client_id"], p["id"])
        a = act[(act.client_id == key[0]) & (act.post == key[1])]
        lds = leads[(leads.client_id == key[0]) & (leads.post == key[1])]
        com = a[a.source == "comments"]
        commenters = set(com.person)
        lead_names = set(lds.full_name.dropna())
        converted = {r.person for r in com.itertuples() if r.author_name in lead_names}
        e = eng.loc[key] if key in eng.index else None
        imp = None if e is None else int(e["impressions"])
        rate = None
        if imp:
            rate = (e["reactions"] + e["comments"] + e["reposts"] + e["clicks"]) / imp
        rows.append({
            "client_id": key[0], "post_id": key[1],
            "comments": len(com), "messages": int((a.source == "messages").sum()),
            "people_engaging": a.person.nunique(),
            "keyword_matched_comments": int(com.keyword_matched.astype(bool).sum()),
            "leads_attributed": len(lds), "leads_from_comments": int((lds.source == "comments").sum()),
            "leads_with_email": sum(_has_email(x) for x in lds.email),
            "commenters": len(commenters), "commenters_converted": len(converted),
            "impressions": imp, "reactions": None if e is None else int(e["reactions"]),
            "engagement_rate": rate,
            "comment_to_lead_rate": len(converted) / len(commenters) if commenters else None,
        })
    return pd.DataFrame(rows)


def first_snapshot_gains(f: dict[str, pd.DataFrame], snapshot_day: Any) -> dict[str, dict[tuple, dict[str, int]]]:
    """What a single run's daily snapshots gained, per client: a record's first snapshot counts from zero only
    if the history saw it from its start (a post not published before `snapshot_day`, a lead magnet created
    on or after it); other records' gains are unknown and count nowhere."""
    posts = f["posts"].set_index(["client_id", "id"])
    engagement: dict[tuple, dict[str, int]] = {}
    for e in f["post_engagement"].to_dict("records"):
        published = posts.loc[(e["client_id"], e["post_id"])]["published_day"]
        if published is None or published >= snapshot_day:
            g = engagement.setdefault((e["client_id"], snapshot_day), {"impressions_gained": 0,
                                                                       "engagements_gained": 0})
            g["impressions_gained"] += int(e["impressions"])
            g["engagements_gained"] += sum(int(e[k]) for k in ("reactions", "comments", "reposts", "clicks"))
    created = f["lead_magnets"].set_index(["client_id", "id"])["created_day"]
    deliveries: dict[tuple, dict[str, int]] = {}
    for an in f["lead_magnet_analytics"].to_dict("records"):
        if created.loc[(an["client_id"], an["lead_magnet_id"])] >= snapshot_day and int(an["deliveries"]):
            key = (an["client_id"], an["lead_magnet_id"], snapshot_day)
            deliveries.setdefault(key, {"deliveries": 0})["deliveries"] += int(an["deliveries"])
    return {"engagement": engagement, "deliveries": deliveries}


def expected_lead_funnel(f: dict[str, pd.DataFrame], snapshot_day: Any) -> pd.DataFrame:
    links = _links(f)
    posts = f["posts"].set_index(["client_id", "id"])
    acts = f["activity"]
    counts: dict[tuple, dict[str, int]] = {}

    def bump(k: tuple, stage: str, n: int = 1) -> None:
        counts.setdefault(k, {}).setdefault(stage, 0)
        counts[k][stage] += n

    for ln in links.to_dict("records"):
        p = posts.loc[(ln["client_id"], ln["post_id"])] if (ln["client_id"], ln["post_id"]) in posts.index \
            else None
        if p is not None and p["status"] == "published" and p["published_day"] is not None:
            bump((ln["client_id"], ln["lead_magnet_id"], p["published_day"]), "linked_posts_published")
    linked = links.groupby(["client_id", "post_id"])["lead_magnet_id"].agg(set).to_dict()
    for a in acts[acts.source == "comments"].to_dict("records"):
        magnets = set(linked.get((a["client_id"], a["post_id"]), set()))
        if isinstance(a.get("lead_magnet_id"), str):
            magnets.add(a["lead_magnet_id"])
        for m in magnets:
            k = (a["client_id"], m, a["created_day"])
            bump(k, "comments")
            bump(k, "keyword_matches", int(bool(a["keyword_matched"]) and a.get("lead_magnet_id") == m))
    for ld in f["leads"].to_dict("records"):
        if not isinstance(ld.get("lead_magnet_id"), str):
            continue
        k = (ld["client_id"], ld["lead_magnet_id"], ld["created_day"])
        bump(k, "leads")
        bump(k, "leads_with_email", int(_has_email(ld.get("email"))))
    for key, gained in first_snapshot_gains(f, snapshot_day)["deliveries"].items():
        bump(key, "deliveries", gained["deliveries"])
    stages = ["linked_posts_published", "comments", "keyword_matches", "leads", "leads_with_email",
              "deliveries"]
    return pd.DataFrame([{"client_id": k[0], "lead_magnet_id": k[1], "day": k[2],
                          **{s: v.get(s, 0) for s in stages}} for k, v in counts.items()])


def expected_client_daily(f: dict[str, pd.DataFrame], snapshot_day: Any) -> pd.DataFrame:
    rows: dict[tuple, dict[str, Any]] = {}
    gains = first_snapshot_gains(f, snapshot_day)
    for key, gained in gains["engagement"].items():
        rows.setdefault(key, {}).update(gained)
    for (cid, _, day), gained in gains["deliveries"].items():
        r = rows.setdefault((cid, day), {})
        r["deliveries"] = r.get("deliveries", 0) + gained["deliveries"]
    pub = f["posts"][(f["posts"].status == "published") & f["posts"].published_day.notna()]
    eng = f["post_engagement"].set_index(["client_id", "post_id"])
    for p in pub.to_dict("records"):
        r = rows.setdefault((p["client_id"], p["published_day"]), {})
        r["posts_published"] = r.get("posts_published", 0) + 1
        key = (p["client_id"], p["id"])
        if key in eng.index:
            r["impressions"] = r.get("impressions", 0) + int(eng.loc[key]["impressions"])
    act = f["activity"].copy()
    act["person"] = act["author_platform_id"].fillna(act["author_name"])
    for (cid, day), g in act.groupby(["client_id", "created_day"]):
        r = rows.setdefault((cid, day), {})
        r["comments"] = int((g.source == "comments").sum())
        r["messages"] = int((g.source == "messages").sum())
        r["keyword_matches"] = int(((g.source == "comments") & g.keyword_matched.astype(bool)).sum())
        r["people_engaging"] = g.person.nunique()
    for (cid, day), g in f["leads"].groupby(["client_id", "created_day"]):
        r = rows.setdefault((cid, day), {})
        r["leads"] = len(g)
        r["emails_captured"] = sum(_has_email(x) for x in g.email)
    cols = ["posts_published", "impressions", "comments", "messages", "keyword_matches", "people_engaging",
            "leads", "emails_captured", "deliveries"]
    gained = ["impressions_gained", "engagements_gained"]  # NULL on a day with no known gain
    return pd.DataFrame([{"client_id": k[0], "day": k[1], **{c: v.get(c, 0) for c in cols},
                          **{c: v.get(c) for c in gained}} for k, v in rows.items()])


ENGAGEMENT_FIGURES = ("reactions", "comments", "reposts", "clicks")  # the engagement route's figures summed


def engagements_of(e: Any) -> int:
    return sum(int(e[k]) for k in ENGAGEMENT_FIGURES)


def _fresh(day: Any, first_day: Any) -> bool:
    """The history saw the record from its start (not published/created before its client's first snapshot)."""
    return day is None or isinstance(day, float) or day >= first_day  # a float is NaN: never published


def expected_post_lifetime(f: dict[str, pd.DataFrame], first_day: Any, first_seen: dict | None = None,
                           last_seen: dict | None = None) -> pd.DataFrame:
    """Per post: lifetime impressions and engagements (the API's figures at its latest snapshot:
    `last_seen[(client, post)]`, default the truth now; None without engagement) and what it had gained before
    tracking began: 0 when it was not published before `first_day`, else its figures at its first snapshot
    (`first_seen[(client, post)]`, an engagement record; default the latest, i.e. a single run)."""
    eng = {(e["client_id"], e["post_id"]): e for e in f["post_engagement"].to_dict("records")}
    eng.update({k: v for k, v in (last_seen or {}).items() if k in eng})
    rows = []
    for p in f["posts"].to_dict("records"):
        key = (p["client_id"], p["id"])
        e = eng.get(key)
        row = {"client_id": key[0], "post_id": key[1], "impressions": None, "engagements": None,
               "impressions_gained_before_tracking": None, "engagements_gained_before_tracking": None}
        if e is not None:
            first = (first_seen or {}).get(key, e)
            fresh = _fresh(p["published_day"], first_day)
            row.update(impressions=int(e["impressions"]), engagements=engagements_of(e),
                       impressions_gained_before_tracking=0 if fresh else int(first["impressions"]),
                       engagements_gained_before_tracking=0 if fresh else engagements_of(first))
        rows.append(row)
    return pd.DataFrame(rows)


def expected_lead_magnet_lifetime(f: dict[str, pd.DataFrame], first_day: Any, first_seen: dict | None = None,
                                  last_seen: dict | None = None) -> pd.DataFrame:
    """Per lead magnet: the funnel's event stages over its lifetime, lifetime deliveries (the truth at its latest
    snapshot, `last_seen[(client, magnet)]`, default now),
    deliveries made before tracking began (0 when created on or after `first_day`, else its deliveries at its
    first snapshot, `first_seen[(client, magnet)]`, default the latest) and those since (the difference)."""
    funnel = expected_lead_funnel(f, first_day)
    stages = ["comments", "keyword_matches", "leads", "leads_with_email"]
    sums = funnel.groupby(["client_id", "lead_magnet_id"])[stages].sum().to_dict("index") if len(funnel) else {}
    analytics = {(a["client_id"], a["lead_magnet_id"]): int(a["deliveries"])
                 for a in f["lead_magnet_analytics"].to_dict("records")}
    analytics.update({k: v for k, v in (last_seen or {}).items() if k in analytics})
    rows = []
    for m in f["lead_magnets"].to_dict("records"):
        key = (m["client_id"], m["id"])
        row = {"client_id": key[0], "lead_magnet_id": key[1],
               **{s: int(sums.get(key, {}).get(s, 0)) for s in stages}}
        deliveries = analytics.get(key)
        before = None
        if deliveries is not None:
            before = 0 if _fresh(m["created_day"], first_day) else (first_seen or {}).get(key, deliveries)
        row.update(deliveries=deliveries, deliveries_gained_before_tracking=before,
                   deliveries_gained_since_tracking=None if deliveries is None else deliveries - before)
        rows.append(row)
    return pd.DataFrame(rows)


def expected_client_totals(f: dict[str, pd.DataFrame], posts: pd.DataFrame, magnets: pd.DataFrame) -> pd.DataFrame:
    """Per client (every client served, active grant or not): the per-post and per-lead-magnet lifetime
    figures summed (None when no record had one), and its leads from the truth."""
    rows = []
    for cid in f["clients"].client_id:
        p, m = posts[posts.client_id == cid], magnets[magnets.client_id == cid]
        leads = f["leads"][f["leads"].client_id == cid] if len(f["leads"]) else f["leads"]

        def total(frame: pd.DataFrame, col: str) -> int | None:
            values = [int(v) for v in frame[col] if v is not None and not pd.isna(v)]
            return sum(values) if values else None

        rows.append({"client_id": cid, "impressions": total(p, "impressions"),
                     "engagements": total(p, "engagements"),
                     "impressions_gained_before_tracking": total(p, "impressions_gained_before_tracking"),
                     "engagements_gained_before_tracking": total(p, "engagements_gained_before_tracking"),
                     "deliveries": total(m, "deliveries"),
                     "deliveries_gained_before_tracking": total(m, "deliveries_gained_before_tracking"),
                     "leads": len(leads), "leads_with_email": sum(_has_email(x) for x in leads.get("email", []))})
    return pd.DataFrame(rows)
