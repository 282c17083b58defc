"""A self-contained HTML report from the marts: inline SVG charts, a few lines of inline JS, no fetches.

Sections: funnel per client (fct_lead_funnel totals; "no active grant" instead of a funnel of zeros for a
client whose grant is not active), impressions and engagements gained per ISO week per client
(fct_post_engagement_daily), comments, leads and emails per day (agg_client_daily), top posts
(fct_post_engagement, named by the first words of their text with a link to LinkedIn) and top lead magnets
(fct_lead_funnel). Clients are named by business name. Nothing about a lead (name, email, profile) is shown:
only counts. Open the file in any browser, no server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sources.leadpanther.helpers.pii import PROFILE_URL_RE
from transforms.report_svg import (
    FUNNEL_STAGES,
    SERIES,
    WEEKLY_SERIES,
    WeekGains,
    esc,
    funnel_svg,
    timeline_svg,
    weekly_svg,
)
from transforms.runner import models_schema_name

TOP_N = 10
WEEKS_SHOWN = 26  # the latest half year of weekly gains per client: a small chart stays readable
POST_NAME_WORDS = 8
POST_NAME_MAX_CHARS = 80  # a "word" may be a long URL or hashtag chain
UNTITLED_POST = "(untitled post)"
ELLIPSIS = "\u2026"
NO_GRANT = "no active grant"
NO_HISTORY = "no engagement history yet"


class Html(str):
    """Text that is already HTML (escaped where it needs to be): table cells insert it as is."""


def _fmt_rate(v: Any) -> str:
    return "" if v is None else f"{float(v) * 100:.1f}%"


def _query(client: Any, sql: str) -> list[tuple]:
    return list(client.execute_sql(sql) or [])


def _as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def post_name(text: str | None) -> str:
    """The first words of a post's text (an ellipsis when cut); a post without text is untitled, never its id."""
    words = (text or "").split()
    if not words:
        return UNTITLED_POST
    name = " ".join(words[:POST_NAME_WORDS])
    cut = len(words) > POST_NAME_WORDS
    if len(name) > POST_NAME_MAX_CHARS:
        name, cut = name[:POST_NAME_MAX_CHARS].rstrip(), True
    return name + ELLIPSIS if cut else name


def web_url(url: str | None) -> str | None:
    """The URL when it is safe to link: http(s) with a host, and not a person's profile (personal data)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or PROFILE_URL_RE.search(url):
        return None
    return url


def post_link(text: str | None, url: str | None) -> Html:
    name = esc(post_name(text))
    href = web_url(url)
    if href is None:
        return Html(name)
    return Html(f'<a href="{esc(href)}" rel="noopener noreferrer" target="_blank">{name}</a>')


def weekly_gains(rows: list[tuple]) -> dict[str, list[WeekGains]]:
    """Per client, its ISO weeks (UTC, Monday first) from the first to the last week with a gain, at most the
    latest WEEKS_SHOWN, from rows (client_id, snapshot_date, <one sum per WEEKLY_SERIES>). A NULL gain (a post's
    first snapshot: nothing to gain from) is skipped, not counted as zero; a week with none has no bar."""
    sums: dict[str, dict[date, dict[str, int | None]]] = {}
    for client_id, day, *values in rows:
        d = _as_date(day)
        week = sums.setdefault(client_id, {}).setdefault(d - timedelta(days=d.weekday()), {})
        for (series, _, _), v in zip(WEEKLY_SERIES, values, strict=True):
            if v is not None:
                week[series] = (week.get(series) or 0) + int(v)
    out: dict[str, list[WeekGains]] = {}
    for client_id, weeks in sums.items():
        with_gains = sorted(monday for monday, gains in weeks.items() if gains)
        if not with_gains:
            continue
        first = max(with_gains[0], with_gains[-1] - timedelta(weeks=WEEKS_SHOWN - 1))
        mondays = [first + timedelta(weeks=k) for k in range((with_gains[-1] - first).days // 7 + 1)]
        out[client_id] = [WeekGains(m, {s: weeks.get(m, {}).get(s) for s, _, _ in WEEKLY_SERIES}) for m in mondays]
    return out


def _table(headers: list[str], rows: list[list[Any]], row_attrs: list[str] | None = None) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    attrs = row_attrs or [""] * len(rows)
    body = "".join(
        f"<tr{a}>" + "".join(f"<td>{c if isinstance(c, Html) else esc(c)}</td>" for c in r) + "</tr>"
        for r, a in zip(rows, attrs, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(section: str, label: str, body: str, note: str = "") -> str:
    note_html = f'<span class="note">{esc(note)}</span>' if note else ""
    return (f'<figure data-section="{section}" data-client="{esc(label)}"><figcaption>{esc(label)}'
            f"{note_html}</figcaption>{body}</figure>")


def _funnel_figure(client: dict[str, Any]) -> str:
    if not client["grant_active"]:
        return _figure("funnel", client["label"], f'<p class="empty no-grant">{NO_GRANT}</p>')
    return _figure("funnel", client["label"], funnel_svg(client["label"], client["funnel"]))


def _weekly_figure(client: dict[str, Any]) -> str:
    if not client["weeks"]:
        why = "" if client["grant_active"] else f" ({NO_GRANT})"
        return _figure("engagement", client["label"], f'<p class="empty no-history">{NO_HISTORY}{why}</p>')
    note = "per ISO week, UTC; a post's first snapshot has no gain (NULL) and is skipped, not counted as 0"
    return _figure("engagement", client["label"], weekly_svg(client["label"], client["weeks"]), note)


CHECK_JS = """
document.addEventListener('DOMContentLoaded', function () {
  var charts = document.querySelectorAll('svg[data-chart]');
  var drawn = 0;
  charts.forEach(function (svg) {
    var marks = svg.querySelectorAll('rect.bar, polyline.series, circle.series');
    var ok = false;
    marks.forEach(function (m) { var b = m.getBBox(); if (b.width > 0 || b.height > 0) { ok = true; } });
    if (ok) { drawn += 1; svg.setAttribute('data-rendered', 'true'); }
  });
  document.body.setAttribute('data-charts', String(charts.length));
  document.body.setAttribute('data-charts-rendered', String(drawn));
});
"""

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#111}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top}
figcaption{font-weight:600;margin-bottom:4px}
.note{display:block;font-weight:400;font-size:12px;color:#555;max-width:372px}
.empty{color:#555;font-style:italic;margin:4px 0}
.lbl,.val{font-size:12px;fill:#333}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}
"""


def build_html(data: dict[str, Any]) -> str:
    clients = data["clients"]
    funnels = "".join(_funnel_figure(c) for c in clients)
    weekly = "".join(_weekly_figure(c) for c in clients)
    timeline = timeline_svg(data["days"], data["series"])
    posts = _table(["client", "post", "published", "comments", "leads", "with email", "impressions",
                    "engagement rate", "comment-to-lead rate"], data["top_posts"],
                   [f' data-post-id="{esc(pid)}"' for pid in data["top_post_ids"]])
    magnets = _table(["client", "lead magnet", "keyword", "comments", "keyword matches", "leads",
                      "with email", "deliveries"], data["top_magnets"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>LeadPanther report</title>
<style>{CSS}</style><script>{CHECK_JS}</script></head>
<body>
<h1>LeadPanther report: {esc(data["dataset"])}</h1>
<p>Generated {esc(data["generated_at"])} from <code>{esc(data["schema"])}</code>. Days are UTC.</p>
<h2>Funnel per client</h2>
{funnels or "<p>No clients.</p>"}
<h2>Engagement per week, per client</h2>
<p>Impressions and engagements (reactions, comments, reposts, clicks) gained per ISO week (Monday to Sunday,
UTC), summed over the client's posts from one snapshot per post per day (fct_post_engagement_daily). A gain is
counted in the week of the snapshot that saw it; a post's first snapshot has nothing to gain from (NULL) and
is skipped. The latest week may still be running. Hover a bar for its value.</p>
{weekly or "<p>No clients.</p>"}
<h2>Comments, leads and emails per day (all clients)</h2>
{timeline}
<h2>Top posts</h2>
{posts}
<h2>Top lead magnets</h2>
{magnets}
</body></html>
"""


def collect(client: Any, schema: str) -> dict[str, Any]:
    s = f'"{schema}"'
    dims = _query(client, f"select client_id, coalesce(business_name, client_id), is_grant_active "
                          f"from {s}.dim_clients order by 2, 1")
    sums = ", ".join(f"sum({st})" for st in FUNNEL_STAGES)
    totals = {cid: dict(zip(FUNNEL_STAGES, vals, strict=True)) for cid, *vals in _query(
        client, f"select client_id, {sums} from {s}.fct_lead_funnel group by client_id")}
    gains = ", ".join(f"sum({series})" for series, _, _ in WEEKLY_SERIES)
    weeks = weekly_gains(_query(client, f"select client_id, snapshot_date, {gains} "
                                        f"from {s}.fct_post_engagement_daily group by client_id, snapshot_date"))
    clients = [{"label": label, "grant_active": bool(active), "funnel": totals.get(cid, {}),
                "weeks": weeks.get(cid, [])} for cid, label, active in dims]
    daily = _query(client, f"select day, sum(comments), sum(leads), sum(emails_captured) "
                           f"from {s}.agg_client_daily group by day order by day")
    days = [str(d[0]) for d in daily]
    series = {name: [int(r[i + 1] or 0) for r in daily] for i, (name, _) in enumerate(SERIES)}
    top_posts = _query(client, f"""
        select coalesce(d.business_name, f.client_id), f.post_id, p.post_text, p.linkedin_url, f.published_date,
               f.comments, f.leads_attributed, f.leads_with_email, f.impressions, f.engagement_rate,
               f.comment_to_lead_rate
        from {s}.fct_post_engagement as f join {s}.dim_clients as d on d.client_id = f.client_id
        left join {s}.stg_leadpanther__posts as p on p.client_id = f.client_id and p.post_id = f.post_id
        order by f.leads_attributed + f.comments desc, f.post_id limit {TOP_N}""")
    top_magnets = _query(client, f"""
        select coalesce(d.business_name, f.client_id), coalesce(m.resource_name, f.lead_magnet_id),
               m.keyword, sum(f.comments), sum(f.keyword_matches), sum(f.leads), sum(f.leads_with_email),
               sum(f.deliveries)
        from {s}.fct_lead_funnel as f
        join {s}.dim_clients as d on d.client_id = f.client_id
        left join {s}.stg_leadpanther__lead_magnets as m
            on m.client_id = f.client_id and m.lead_magnet_id = f.lead_magnet_id
        group by 1, 2, 3, f.lead_magnet_id order by 6 desc, 4 desc, 2 limit {TOP_N}""")
    return {
        "clients": clients,
        "days": days,
        "series": series,
        "top_posts": [[r[0], post_link(r[2], r[3]), *r[4:9], _fmt_rate(r[9]), _fmt_rate(r[10])] for r in top_posts],
        "top_post_ids": [r[1] for r in top_posts],
        "top_magnets": [list(r) for r in top_magnets],
        "schema": schema,
    }


def write_report(pipeline: Any, output_path: str | Path) -> Path:
    """Write the HTML report from the built marts (run_transforms first). Returns the path."""
    with pipeline.sql_client() as client:
        schema = models_schema_name(client.dataset_name)
        data = collect(client, schema)
        data["dataset"] = client.dataset_name
    data["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_html(data), encoding="utf-8")
    return path
