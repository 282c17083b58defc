"""The report's inline SVG charts: funnel bars per client, a line chart per week, bars of gains per week.

Each chart is an `<svg data-chart=...>` whose marks (`rect.bar`, `polyline.series`, `circle.series`) the
report's few lines of JS measure in the browser, so a test can tell a drawn chart from an empty one.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

FUNNEL_STAGES = ("linked_posts_published", "comments", "keyword_matches", "leads", "leads_with_email", "deliveries")
# (column of agg_client_daily summed per week, colour)
SERIES = (("comments", "#2563eb"), ("leads", "#16a34a"), ("emails_captured", "#d97706"), ("deliveries", "#9333ea"))
# (column of fct_post_engagement_daily, what a bar means, colour)
WEEKLY_SERIES = (
    ("impressions_gained", "impressions gained", "#2563eb"),
    ("engagements_gained", "engagements gained", "#16a34a"),
)


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))


@dataclass(frozen=True)
class WeekGains:
    """One client's gains in one ISO week (UTC): series name -> sum, None when no snapshot had a gain."""

    monday: date
    gains: dict[str, int | None]

    @property
    def label(self) -> str:
        iso = self.monday.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"


def funnel_svg(client_label: str, totals: dict[str, int | None]) -> str:
    width, bar_h, gap, label_w = 560, 22, 6, 190
    top = max([*(v or 0 for v in totals.values()), 1])
    rows = []
    for i, stage in enumerate(FUNNEL_STAGES):
        raw = totals.get(stage, 0)
        v = int(raw or 0)
        shown = "no figure" if raw is None else v  # e.g. deliveries when the analytics route gave none
        w = max(1.0, (width - label_w - 60) * v / top)
        y = i * (bar_h + gap)
        rows.append(
            f'<text x="0" y="{y + 15}" class="lbl">{esc(stage.replace("_", " "))}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#2563eb">'
            f"<title>{esc(stage)}: {shown}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="val">{shown}</text>'
        )
    height = len(FUNNEL_STAGES) * (bar_h + gap)
    return (
        f'<svg data-chart="funnel" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="funnel {esc(client_label)}">{"".join(rows)}</svg>'
    )


def timeline_svg(days: list[str], series: dict[str, list[int]]) -> str:
    """One line per series over `days` (labels of the x axis: ISO weeks in the report)."""
    width, height, pad = 720, 260, 40
    n = len(days)
    top = max([1, *(v for vals in series.values() for v in vals)])

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * v / top

    parts = [
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="{pad - 4}" y="{pad}" text-anchor="end" class="val">{top}</text>',
    ]
    if days:
        parts.append(f'<text x="{pad}" y="{height - pad + 16}" class="val">{esc(days[0])}</text>')
        parts.append(
            f'<text x="{width - pad}" y="{height - pad + 16}" text-anchor="end" class="val">{esc(days[-1])}</text>'
        )
    for k, (name, color) in enumerate(SERIES):
        vals = series.get(name, [])
        if vals:
            pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals))
            if n == 1:
                parts.append(f'<circle class="series" cx="{x(0):.1f}" cy="{y(vals[0]):.1f}" r="4" fill="{color}"/>')
            parts.append(
                f'<polyline class="series" data-series="{name}" points="{pts}" fill="none" '
                f'stroke="{color}" stroke-width="2"><title>{esc(name)}</title></polyline>'
            )
        parts.append(
            f'<rect x="{pad + 130 * k}" y="8" width="10" height="10" fill="{color}"/>'
            f'<text x="{pad + 130 * k + 15}" y="17" class="val">{esc(name)}</text>'
        )
    return (
        f'<svg data-chart="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="comments, leads, emails and deliveries per week">{"".join(parts)}</svg>'
    )


def _weekly_panel(weeks: list[WeekGains], series: str, title: str, color: str, top: float) -> list[str]:
    """One series as bars from a zero line, its own scale (impressions dwarf engagements)."""
    left, width, panel_h = 64, 300, 56
    slot = width / len(weeks)
    values = [w.gains.get(series) for w in weeks]
    numbers = [v for v in values if v is not None]
    hi, lo = max([0, *numbers]), min([0, *numbers])
    span = (hi - lo) or 1

    def y(v: float) -> float:
        return top + panel_h * (hi - v) / span

    parts = [
        f'<text x="{left}" y="{top - 5}" class="lbl">{esc(title)} per week</text>',
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{left + width}" y2="{y(0):.1f}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 9}" text-anchor="end" class="val">{hi}</text>',
    ]
    if lo < 0:
        parts.append(f'<text x="{left - 4}" y="{top + panel_h}" text-anchor="end" class="val">{lo}</text>')
    for i, (week, v) in enumerate(zip(weeks, values, strict=True)):
        if v is None:  # no snapshot with a gain that week: no bar, not a bar of zero
            continue
        bar_top, bar_h = min(y(v), y(0)), abs(y(v) - y(0))
        parts.append(
            f'<rect class="bar" data-series="{series}" data-week="{week.label}" data-value="{v}" '
            f'x="{left + slot * (i + 0.15):.1f}" y="{bar_top:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar_h:.1f}" fill="{color}"><title>{week.label} (from {week.monday.isoformat()}): '
            f"{v} {esc(title)}</title></rect>"
        )
    return parts


def weekly_svg(client_label: str, weeks: list[WeekGains]) -> str:
    """Impressions and engagements gained per ISO week, one panel each, weeks left to right with no gaps."""
    left, width, panel_h, panel_gap = 64, 300, 56, 30
    parts: list[str] = []
    for k, (series, title, color) in enumerate(WEEKLY_SERIES):
        parts += _weekly_panel(weeks, series, title, color, top=18 + k * (panel_h + panel_gap))
    axis_y = 18 + len(WEEKLY_SERIES) * (panel_h + panel_gap) - panel_gap + 16
    step = math.ceil(len(weeks) / 5)
    slot = width / len(weeks)
    for i in range(0, len(weeks), step):
        parts.append(
            f'<text x="{left + slot * (i + 0.5):.1f}" y="{axis_y}" text-anchor="middle" '
            f'class="val">{weeks[i].label}</text>'
        )
    height = axis_y + 6
    total_w = left + width + 8
    return (
        f'<svg data-chart="weekly" width="{total_w}" height="{height}" viewBox="0 0 {total_w} {height}" '
        f'role="img" aria-label="engagement per week {esc(client_label)}">{"".join(parts)}</svg>'
    )
