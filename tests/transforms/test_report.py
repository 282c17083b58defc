"""The HTML report renders its charts in headless Chromium, from a file, with no server; against the emulator
its weekly gains equal sums of the emulator's truth, posts are named by their first words with a link to
LinkedIn (never by their id), clients without an active grant say so, and no lead's personal data shows."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import history_pipeline, load_raw, small_raw

from transforms import run_transforms
from transforms.report import write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ENGAGEMENTS = ("reactions", "comments", "reposts", "clicks")  # the emulator's figures an engagement counts
LEAD_PII = ("name", "email", "profile_url", "platform_id")


def render_dom(path, tmp_path) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", path.resolve().as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def assert_report_renders(path, tmp_path) -> str:
    """Every chart drew a mark in the browser and nothing is fetched (links to LinkedIn are fine: an <a> loads
    nothing until clicked). Returns the rendered DOM."""
    text = path.read_text()
    assert not re.search(r"""src=["']?https?://|<link[^>]+href=["']?https?://|url\(""", text), \
        "report must not fetch anything"
    dom = render_dom(path, tmp_path)
    charts = int(re.search(r'data-charts="(\d+)"', dom).group(1))
    drawn = int(re.search(r'data-charts-rendered="(\d+)"', dom).group(1))
    assert charts >= 2 and drawn == charts, (charts, drawn)
    return dom


class ReportDom(HTMLParser):
    """What a reader sees in the rendered report: per (section, client) figure its charts, bars and text; per
    top-post row its post cell's text and links; all visible text."""

    def __init__(self, dom: str) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: dict[tuple[str, str], dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.links: list[dict[str, str]] = []
        self.text: list[str] = []
        self._figure: dict[str, Any] | None = None
        self._row: dict[str, Any] | None = None
        self._hidden = 0
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self._hidden += tag in ("script", "style")
        if tag == "figure":
            self._figure = self.figures.setdefault((a["data-section"], a["data-client"]),
                                                   {"charts": 0, "bars": {}, "text": ""})
        elif tag == "svg" and self._figure is not None:
            self._figure["charts"] += 1
        elif tag == "rect" and self._figure is not None and "data-week" in a:
            self._figure["bars"][(a["data-series"], a["data-week"])] = int(a["data-value"])
        elif tag == "tr" and "data-post-id" in a:
            self._row = self.posts.setdefault(a["data-post-id"], {"cell": 0, "name": "", "links": []})
        elif tag == "td" and self._row is not None:
            self._row["cell"] += 1
        elif tag == "a":
            self.links.append(a)
            if self._row is not None:
                self._row["links"].append(a)

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style")
        if tag == "figure":
            self._figure = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.text.append(data)
        if self._figure is not None:
            self._figure["text"] += data
        if self._row is not None and self._row["cell"] == 2:  # the "post" column
            self._row["name"] += data


def first_words(text: str | None) -> str:
    words = (text or "").split()
    return " ".join(words[:8]) + ("\u2026" if len(words) > 8 else "") if words else "(untitled post)"


def iso_week(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path):
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    import dlt

    raw = copy.deepcopy(small_raw())
    posts = {p["id"]: p for p in raw["posts"]}
    long_text = '<b>Hello</b> & "friends", one two three four five six seven'
    posts["p1"]["text"] = long_text  # markup is escaped, cut after 8 words; linkedin_url https://li/1
    posts["p2"].update(text=None, linkedin_url="javascript:alert(1)")  # untitled, no link
    p = dlt.pipeline("tf_report", destination=dlt.destinations.duckdb(str(tmp_path / "r.duckdb")),
                     dataset_name="report_raw", pipelines_dir=str(tmp_path / "pipes"))
    load_raw(p, raw)
    run_transforms(p)
    path = write_report(p, tmp_path / "out" / "report.html")
    seen = ReportDom(assert_report_renders(path, tmp_path))

    html_text = path.read_text()
    assert "<b>Hello" not in html_text and "&lt;b&gt;Hello&lt;/b&gt;" in html_text
    assert seen.posts["p1"]["name"] == first_words(long_text)
    assert [(a["href"], a["rel"]) for a in seen.posts["p1"]["links"]] == [("https://li/1", "noopener noreferrer")]
    assert seen.posts["p2"]["name"] == "(untitled post)" and seen.posts["p2"]["links"] == []
    assert "javascript:" not in html_text
    # A Inc has an active grant but no daily snapshots; B Inc's grant is revoked.
    assert seen.figures[("funnel", "A Inc")]["charts"] == 1
    assert seen.figures[("funnel", "B Inc")]["charts"] == 0
    assert "no active grant" in seen.figures[("funnel", "B Inc")]["text"]
    for label in ("A Inc", "B Inc"):
        assert seen.figures[("engagement", label)]["charts"] == 0
        assert "no engagement history yet" in seen.figures[("engagement", label)]["text"]


@pytest.mark.browser
def test_report_weekly_gains_post_names_and_grants_against_the_emulator(tmp_path):
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from leadpanther_emulator import EmulatorConfig, run_emulator
    from leadpanther_emulator.generator import DAY_MS
    from pipelines.leadpanther_pipeline import run_sync
    from sources.leadpanther.settings import PII_CATALOG

    with run_emulator(EmulatorConfig(seed=52, preset="tiny", posts_per_client=60)) as emu:
        pipeline, options, day0 = history_pipeline(emu, tmp_path, "report")
        active = emu.client_ids("active")
        truths: dict[date, dict[tuple[str, str], dict]] = {}
        previous = 0
        for offset in (0, 1, 4, 9):  # snapshots over 10 days: at least two ISO weeks, gaps of 1, 3 and 5 days
            emu.advance_clock((offset - previous) * DAY_MS)
            previous = offset
            synced_at = day0 + timedelta(days=offset)
            mode = "auto" if offset == 0 else "quick"
            assert run_sync(pipeline, mode=mode, synced_at=synced_at, **options).exit_code == 0
            truths[synced_at.date()] = {(c, e["post_id"]): e for c in active for e in emu.truth("post_engagement", c)}
        result = run_transforms(pipeline)
        assert not result.failed_errors, result.summary_lines()
        with pipeline.sql_client() as sql:
            mart = sql.execute_sql(
                f"select client_id, post_id, snapshot_date, previous_snapshot_date, impressions_gained, "
                f"engagements_gained from {result.models_schema}.fct_post_engagement_daily")
        path = write_report(pipeline, tmp_path / "out" / "report.html")
        clients = {c["user_id"]: c for c in emu.truth("clients")}
        posts = {p["id"]: p for c in active for p in emu.truth("posts", c)}
        personal = {str(r[col]) for table in ("leads", "activity") for c in active for r in emu.truth(table, c)
                    for col, category in PII_CATALOG[table].items() if category in LEAD_PII and r.get(col)}
        personal |= {c["full_name"] for c in clients.values() if c.get("full_name")}
    seen = ReportDom(assert_report_renders(path, tmp_path))
    html_text = path.read_text()
    label = {cid: c["business_name"] for cid, c in clients.items()}

    # Weekly gains: the emulator's figures at each snapshot minus those at the post's previous snapshot, summed
    # per client and ISO week of the snapshot day. A first snapshot with no gain in the mart is skipped; one
    # with a gain (a post published after its client's history began) counts from zero.
    expected: dict[tuple[str, str, str], int] = defaultdict(int)
    for client, post, day, prev_day, impressions_gained, engagements_gained in mart:
        now = truths[day][(client, post)]
        before = truths[prev_day][(client, post)] if prev_day is not None else None
        for series, gained, figures in (("impressions_gained", impressions_gained, ("impressions",)),
                                        ("engagements_gained", engagements_gained, ENGAGEMENTS)):
            if before is None and gained is None:
                continue
            expected[(label[client], series, iso_week(day))] += sum(
                now[f] - (before[f] if before else 0) for f in figures)
    shown = {(client, series, week): value for (section, client), fig in seen.figures.items()
             if section == "engagement" for (series, week), value in fig["bars"].items()}
    assert shown == dict(expected)
    weeks_per_client = defaultdict(set)
    for client, _, week in shown:
        weeks_per_client[client].add(week)
    assert any(len(w) >= 2 for w in weeks_per_client.values()), weeks_per_client
    assert any(v > 0 for (_, series, _), v in shown.items() if series == "engagements_gained")
    for cid in active:
        fig = seen.figures[("engagement", label[cid])]
        assert fig["charts"] == 1 and "skipped" in fig["text"], fig

    # Grants: a funnel for active clients, "no active grant" (and no chart) for the others.
    inactive = [cid for cid, c in clients.items() if c["grant"]["status"] != "active"]
    assert inactive and active
    for cid in inactive:
        assert seen.figures[("funnel", label[cid])]["charts"] == 0
        assert "no active grant" in seen.figures[("funnel", label[cid])]["text"]
        assert "no engagement history yet" in seen.figures[("engagement", label[cid])]["text"]
    for cid in active:
        assert seen.figures[("funnel", label[cid])]["charts"] == 1
        assert "no active grant" not in seen.figures[("funnel", label[cid])]["text"]

    # Posts: named by their first words, linked to their LinkedIn URL, never by their id.
    assert seen.posts and set(seen.posts) <= set(posts)
    for post_id, row in seen.posts.items():
        post = posts[post_id]
        assert row["name"] == first_words(post["text"]) and post_id not in row["name"], (row, post["text"])
        url = post.get("linkedin_url")
        assert [(a["href"], a["rel"]) for a in row["links"]] == ([(url, "noopener noreferrer")] if url else [])
    assert any(row["links"] for row in seen.posts.values())
    assert seen.links and all(a["href"].startswith("https://www.linkedin.com/") for a in seen.links)
    visible = "".join(seen.text)
    assert not [pid for pid in posts if pid in visible]

    # No personal data of leads (nor the clients' own names): only counts.
    assert personal and not [v for v in personal if v in html_text]
