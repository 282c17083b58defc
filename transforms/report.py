"""A self-contained HTML report from the marts: inline SVG charts, a few lines of inline JS, no fetches.

Sections: funnel per client (fct_lead_funnel totals), engagement over time (agg_client_daily), top posts
(fct_post_engagement) and top lead magnets (fct_lead_funnel). Open the file in any browser, no server.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transforms.runner import models_schema_name

FUNNEL_STAGES = ("linked_posts_published", "comments", "keyword_matches", "leads", "leads_with_email",
                 "deliveries")
SERIES = (("comments", "#2563eb"), ("leads", "#16a34a"), ("emails_captured", "#d97706"))
TOP_N = 10


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _fmt_rate(v: Any) -> str:
    return "" if v is None else f"{float(v) * 100:.1f}%"


def _query(client: Any, sql: str) -> list[tuple]:
    return list(client.execute_sql(sql) or [])


def funnel_svg(client_label: str, totals: dict[str, int]) -> str:
    width, bar_h, gap, label_w = 560, 22, 6, 190
    top = max([*totals.values(), 1])
    rows = []
    for i, stage in enumerate(FUNNEL_STAGES):
        v = int(totals.get(stage, 0) or 0)
        w = max(1.0, (width - label_w - 60) * v / top)
        y = i * (bar_h + gap)
        rows.append(
            f'<text x="0" y="{y + 15}" class="lbl">{_e(stage.replace("_", " "))}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#2563eb">'
            f"<title>{_e(stage)}: {v}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="val">{v}</text>'
        )
    height = len(FUNNEL_STAGES) * (bar_h + gap)
    return (f'<figure><figcaption>{_e(client_label)}</figcaption>'
            f'<svg data-chart="funnel" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="funnel {_e(client_label)}">{"".join(rows)}</svg></figure>')


def timeline_svg(days: list[str], series: dict[str, list[int]]) -> str:
    width, height, pad = 720, 260, 40
    n = len(days)
    top = max([1, *(v for vals in series.values() for v in vals)])

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * v / top

    parts = [f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
             f'<text x="{pad - 4}" y="{pad}" text-anchor="end" class="val">{top}</text>']
    if days:
        parts.append(f'<text x="{pad}" y="{height - pad + 16}" class="val">{_e(days[0])}</text>')
        parts.append(f'<text x="{width - pad}" y="{height - pad + 16}" text-anchor="end" class="val">'
                     f"{_e(days[-1])}</text>")
    for k, (name, color) in enumerate(SERIES):
        vals = series.get(name, [])
        if vals:
            pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals))
            if n == 1:
                parts.append(f'<circle class="series" cx="{x(0):.1f}" cy="{y(vals[0]):.1f}" r="4" '
                             f'fill="{color}"/>')
            parts.append(f'<polyline class="series" data-series="{name}" points="{pts}" fill="none" '
                         f'stroke="{color}" stroke-width="2"><title>{_e(name)}</title></polyline>')
        parts.append(f'<rect x="{width - 170}" y="{8 + 16 * k}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{width - 155}" y="{17 + 16 * k}" class="val">{_e(name)}</text>')
    return (f'<svg data-chart="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="engagement over time">{"".join(parts)}</svg>')


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
.lbl,.val{font-size:12px;fill:#333}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
"""


def build_html(data: dict[str, Any]) -> str:
    funnels = "".join(funnel_svg(label, totals) for label, totals in data["funnels"])
    timeline = timeline_svg(data["days"], data["series"])
    posts = _table(["client", "post", "published", "comments", "leads", "with email", "impressions",
                    "engagement rate", "comment-to-lead rate"], data["top_posts"])
    magnets = _table(["client", "lead magnet", "keyword", "comments", "keyword matches", "leads",
                      "with email", "deliveries"], data["top_magnets"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>LeadPanther report</title>
<style>{CSS}</style><script>{CHECK_JS}</script></head>
<body>
<h1>LeadPanther report: {_e(data["dataset"])}</h1>
<p>Generated {_e(data["generated_at"])} from <code>{_e(data["schema"])}</code>. Days are UTC.</p>
<h2>Funnel per client</h2>
{funnels or "<p>No clients.</p>"}
<h2>Engagement over time (all clients)</h2>
{timeline}
<h2>Top posts</h2>
{posts}
<h2>Top lead magnets</h2>
{magnets}
</body></html>
"""


def collect(client: Any, schema: str) -> dict[str, Any]:
    s = f'"{schema}"'
    clients = _query(client, f"select client_id, coalesce(business_name, client_id) from {s}.dim_clients "
                             "order by 2, 1")
    sums = ", ".join(f"sum({st})" for st in FUNNEL_STAGES)
    totals = {cid: dict(zip(FUNNEL_STAGES, vals, strict=True)) for cid, *vals in _query(
        client, f"select client_id, {sums} from {s}.fct_lead_funnel group by client_id")}
    funnels = [(label, totals.get(cid, {})) for cid, label in clients]
    daily = _query(client, f"select day, sum(comments), sum(leads), sum(emails_captured) "
                           f"from {s}.agg_client_daily group by day order by day")
    days = [str(d[0]) for d in daily]
    series = {name: [int(r[i + 1] or 0) for r in daily] for i, (name, _) in enumerate(SERIES)}
    top_posts = _query(client, f"""
        select coalesce(d.business_name, f.client_id), f.post_id, f.published_date, f.comments,
               f.leads_attributed, f.leads_with_email, f.impressions, f.engagement_rate,
               f.comment_to_lead_rate
        from {s}.fct_post_engagement as f join {s}.dim_clients as d on d.client_id = f.client_id
        order by f.leads_attributed + f.comments desc, f.post_id limit {TOP_N}""")
    top_posts = [[*r[:7], _fmt_rate(r[7]), _fmt_rate(r[8])] for r in top_posts]
    top_magnets = _query(client, f"""
        select coalesce(d.business_name, f.client_id), coalesce(m.resource_name, f.lead_magnet_id),
               m.keyword, sum(f.comments), sum(f.keyword_matches), sum(f.leads), sum(f.leads_with_email),
               sum(f.deliveries)
        from {s}.fct_lead_funnel as f
        join {s}.dim_clients as d on d.client_id = f.client_id
        left join {s}.stg_leadpanther__lead_magnets as m
            on m.client_id = f.client_id and m.lead_magnet_id = f.lead_magnet_id
        group by 1, 2, 3, f.lead_magnet_id order by 6 desc, 4 desc, 2 limit {TOP_N}""")
    return {"funnels": funnels, "days": days, "series": series, "top_posts": [list(r) for r in top_posts],
            "top_magnets": [list(r) for r in top_magnets], "schema": schema}


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
