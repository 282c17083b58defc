"""A self-contained HTML report from the marts: inline SVG charts, a few lines of inline JS, no fetches.

Tables and the funnel show lifetime totals (the API's figures, from the first run); charts show what was
gained per week. Sections: funnel per client (fct_lead_magnets lifetime totals, with what was delivered before
tracking began stated; "no active grant" instead of a funnel of zeros for a client whose grant is not active),
impressions and engagements gained per ISO week per client (fct_post_engagement_daily, with what was gained
before tracking began stated apart), comments, leads, emails and deliveries per ISO week (agg_client_daily),
top posts (fct_post_engagement, named by the first words of their text with a link to LinkedIn) and top lead
magnets (fct_lead_magnets). Clients are named by business name. Nothing about a lead (name, email, profile) is shown:
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


def monday_of(day: Any) -> date:
    """The Monday that starts the ISO week (UTC) of a day."""
    d = _as_date(day)
    return d - timedelta(days=d.weekday())


def per_week(rows: list[tuple]) -> tuple[list[str], list[list[int]]]:
    """Rows (day, value, ...) summed per ISO week, every week from the first to the last shown (a week with no
    row is 0: these are counts of events, not gains): the weeks' labels and one list of sums per value."""
    sums: dict[date, list[int]] = {}
    for day, *values in rows:
        week = sums.setdefault(monday_of(day), [0] * len(values))
        for i, v in enumerate(values):
            week[i] += int(v or 0)
    if not sums:
        return [], []
    first, last = min(sums), max(sums)
    mondays = [first + timedelta(weeks=k) for k in range((last - first).days // 7 + 1)]
    width = len(next(iter(sums.values())))
    labels = [WeekGains(m, {}).label for m in mondays]
    return labels, [[sums.get(m, [0] * width)[i] for m in mondays] for i in range(width)]


def weekly_gains(rows: list[tuple]) -> dict[str, list[WeekGains]]:
    """Per client, its ISO weeks (UTC, Monday first) from the first to the last week with a gain, at most the
    latest WEEKS_SHOWN, from rows (client_id, snapshot_date, <one sum per WEEKLY_SERIES>). A NULL gain (a post's
    first snapshot: nothing to gain from) is skipped, not counted as zero; a week with none has no bar."""
    sums: dict[str, dict[date, dict[str, int | None]]] = {}
    for client_id, day, *values in rows:
        week = sums.setdefault(client_id, {}).setdefault(monday_of(day), {})
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
    return (
        f'<figure data-section="{section}" data-client="{esc(label)}"><figcaption>{esc(label)}'
        f"{note_html}</figcaption>{body}</figure>"
    )


def _before_tracking(client: dict[str, Any]) -> str:
    started = client.get("tracking_started_on")
    return f"before tracking began on {started}" if started else "before tracking began"


def _funnel_figure(client: dict[str, Any]) -> str:
    if not client["grant_active"]:
        return _figure("funnel", client["label"], f'<p class="empty no-grant">{NO_GRANT}</p>')
    before = client.get("deliveries_gained_before_tracking")
    note = "lifetime totals (the API's figures)"
    if before:
        note += f"; {before} of the deliveries were made {_before_tracking(client)} and are in no week"
    return _figure("funnel", client["label"], funnel_svg(client["label"], client["funnel"]), note)


def _weekly_figure(client: dict[str, Any]) -> str:
    impressions, engagements = (client.get(f"{k}_gained_before_tracking") for k in ("impressions", "engagements"))
    before = ""
    if impressions or engagements:
        before = (
            f"gained {_before_tracking(client)}, in no week: {impressions or 0} impressions, "
            f"{engagements or 0} engagements"
        )
    if not client["weeks"] or len(client["snapshot_days"]) < 2:
        if client["snapshot_days"]:  # a first run: nothing to gain from yet, which is not a gain of 0
            why = f": one snapshot so far ({min(client['snapshot_days'])}); gains show from the next run"
        else:
            why = "" if client["grant_active"] else f" ({NO_GRANT})"
        text = f'<p class="empty no-history">{esc(NO_HISTORY + why)}</p>'
        return _figure("engagement", client["label"], text, before)
    note = "per ISO week, UTC; a post's first snapshot has no gain (NULL) and is skipped, not counted as 0"
    note += f"; {before}" if before else ""
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
    timeline = timeline_svg(data["weeks"], data["series"])
    posts = _table(
        [
            "client",
            "post",
            "published",
            "comments",
            "leads",
            "with email",
            "impressions",
            "engagement rate",
            "comment-to-lead rate",
        ],
        data["top_posts"],
        [f' data-post-id="{esc(pid)}"' for pid in data["top_post_ids"]],
    )
    magnets = _table(
        [
            "client",
            "lead magnet",
            "keyword",
            "comments",
            "keyword matches",
            "leads",
            "with email",
            "deliveries",
            "of which before tracking",
        ],
        data["top_magnets"],
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>LeadPanther report</title>
<style>{CSS}</style><script>{CHECK_JS}</script></head>
<body>
<h1>LeadPanther report: {esc(data["dataset"])}</h1>
<p>Generated {esc(data["generated_at"])} from <code>{esc(data["schema"])}</code>. Days are UTC.</p>
<h2>Funnel per client (lifetime)</h2>
<p>Lifetime totals of each client's lead magnets: deliveries are LeadPanther's own figures (the latest
snapshot), including those made before this connector's tracking began.</p>
{funnels or "<p>No clients.</p>"}
<h2>Engagement per week, per client</h2>
<p>Impressions and engagements (reactions, comments, reposts, clicks) gained per ISO week (Monday to Sunday,
UTC), summed over the client's posts from one snapshot per post per day (fct_post_engagement_daily). A gain is
counted in the week of the snapshot that saw it; a post's first snapshot has nothing to gain from (NULL) and
is skipped; what a post had gained before its tracking began is stated under the chart, in no week. The
latest week may still be running. Hover a bar for its value.</p>
{weekly or "<p>No clients.</p>"}
<h2>Comments, leads, emails and deliveries per week (all clients)</h2>
<p>Per ISO week (UTC): comments written, leads captured, leads with an email, and deliveries recorded by the
week's snapshots (deliveries made before tracking began are in no week).</p>
{timeline}
<h2>Top posts (lifetime)</h2>
{posts}
<h2>Top lead magnets (lifetime)</h2>
{magnets}
</body></html>
"""


def collect(client: Any, schema: str) -> dict[str, Any]:
    s = f'"{schema}"'
    dims = _query(
        client,
        f"select client_id, coalesce(business_name, client_id), is_grant_active from {s}.dim_clients order by 2, 1",
    )
    sums = ", ".join(f"sum({st})" for st in FUNNEL_STAGES)
    totals = {
        cid: dict(zip(FUNNEL_STAGES, vals, strict=True))
        for cid, *vals in _query(client, f"select client_id, {sums} from {s}.fct_lead_magnets group by client_id")
    }
    before = (
        "impressions_gained_before_tracking",
        "engagements_gained_before_tracking",
        "deliveries_gained_before_tracking",
        "tracking_started_on",
    )
    lifetime = {
        cid: dict(zip(before, vals, strict=True))
        for cid, *vals in _query(client, f"select client_id, {', '.join(before)} from {s}.agg_client_totals")
    }
    gains = ", ".join(f"sum({series})" for series, _, _ in WEEKLY_SERIES)
    gain_rows = _query(
        client,
        f"select client_id, snapshot_date, {gains} from {s}.fct_post_engagement_daily "
        f"group by client_id, snapshot_date",
    )
    weeks = weekly_gains(gain_rows)
    snapshot_days: dict[str, set[date]] = {}
    for cid, day, *_ in gain_rows:
        snapshot_days.setdefault(cid, set()).add(_as_date(day))
    clients = [
        {
            "label": label,
            "grant_active": bool(active),
            "funnel": totals.get(cid, {}),
            "weeks": weeks.get(cid, []),
            "snapshot_days": snapshot_days.get(cid, set()),
            **lifetime.get(cid, {}),
        }
        for cid, label, active in dims
    ]
    week_labels, week_sums = per_week(
        _query(
            client,
            f"select day, {', '.join(f'sum({name})' for name, _ in SERIES)} "
            f"from {s}.agg_client_daily group by day order by day",
        )
    )
    series = {name: week_sums[i] if week_sums else [] for i, (name, _) in enumerate(SERIES)}
    top_posts = _query(
        client,
        f"""
        select coalesce(d.business_name, f.client_id), f.post_id, p.post_text, p.linkedin_url, f.published_date,
               f.comments, f.leads_attributed, f.leads_with_email, f.impressions, f.engagement_rate,
               f.comment_to_lead_rate
        from {s}.fct_post_engagement as f join {s}.dim_clients as d on d.client_id = f.client_id
        left join {s}.stg_leadpanther__posts as p on p.client_id = f.client_id and p.post_id = f.post_id
        order by f.leads_attributed + f.comments desc, f.post_id limit {TOP_N}""",
    )
    top_magnets = _query(
        client,
        f"""
        select coalesce(d.business_name, f.client_id), coalesce(f.resource_name, f.lead_magnet_id), f.keyword,
               f.comments, f.keyword_matches, f.leads, f.leads_with_email, f.deliveries,
               f.deliveries_gained_before_tracking
        from {s}.fct_lead_magnets as f join {s}.dim_clients as d on d.client_id = f.client_id
        order by f.leads desc, f.comments desc, 2, f.lead_magnet_id limit {TOP_N}""",
    )
    return {
        "clients": clients,
        "weeks": week_labels,
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
