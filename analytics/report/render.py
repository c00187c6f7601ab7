"""The report as one self-contained HTML page (inline CSS and SVG drawn here, nothing fetched) or a PDF.

Every section is a ``<section class="report-section" id="...">`` that starts a new printed page,
so the PDF (headless Chromium's print of the same page) has at least one page per section.
The value map is drawn by the caller's ``valuemap_svg`` (the dashboard's own drawing,
``valuenet/web/valuemap.py``, which this layer cannot import).
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from valuenet.analytics.report.model import SECTIONS, Ranked, Report
from valuenet.schemas.palette import FLOW_COLOURS, SEGMENT_COLOURS

__all__ = ["render_html", "render_pdf", "write_report", "CHROMIUM", "PdfError"]

CHROMIUM = "/usr/bin/chromium"
ValueMapSvg = Callable[[list[dict], str, str], str]

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2430; background: #f4f6f9; }
header.report-head { padding: 28px 40px 12px; background: #1d2430; color: #fff; }
header.report-head h1 { margin: 0 0 4px; font-size: 26px; }
header.report-head p { margin: 2px 0; color: #c9d1dc; font-size: 13px; }
main { padding: 8px 40px 40px; }
section.report-section { background: #fff; border-radius: 10px; padding: 18px 24px 22px; margin: 18px 0;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); break-inside: avoid; }
section.report-section h2 { margin: 0 0 10px; font-size: 19px; }
p.note { color: #5b6573; font-size: 12px; margin: 6px 0; }
p.empty { color: #5b6573; font-size: 15px; padding: 24px; background: #f4f6f9; border-radius: 8px; text-align: center; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e4e8ee; vertical-align: top; }
th { color: #5b6573; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.up { color: #18794e; } .down { color: #c2372b; } .flat { color: #5b6573; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 11px; font-weight: 600; }
.badge.forming { background: #fde2e0; color: #a1281f; } .badge.dissolving { background: #dcf3e6; color: #18794e; }
.badge.silo { background: #fff1d6; color: #8a5a00; }
.cols { display: flex; flex-wrap: wrap; gap: 18px; } .cols > div { flex: 1 1 300px; min-width: 280px; }
.card { border: 1px solid #e4e8ee; border-radius: 8px; padding: 10px 14px; margin: 8px 0; }
.card h3 { margin: 0 0 6px; font-size: 15px; }
.key { color: #5b6573; font-size: 11px; font-family: ui-monospace, monospace; }
svg { max-width: 100%; height: auto; }
@media print {
  body { background: #fff; }
  header.report-head { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.report-section { box-shadow: none; margin: 0; }
  section.report-section + section.report-section { break-before: page; page-break-before: always; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
@page { size: A4; margin: 12mm; }
"""


def _e(x: Any) -> str:
    return escape("" if x is None else str(x), quote=True)


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{min(digits, 2)}f}"
    return f"{int(v):,}"


def _delta(d: Any, digits: int = 3, *, lower_is_better: bool = False) -> str:
    if d is None:
        return '<span class="flat">new</span>'
    if isinstance(d, float) and not math.isfinite(d):
        return '<span class="flat">–</span>'
    if d == 0:
        return '<span class="flat">±0</span>'
    good = (d < 0) if lower_is_better else (d > 0)
    sign = "+" if d > 0 else "−"
    return f'<span class="{"up" if good else "down"}">{sign}{_num(abs(d), digits)}</span>'


def _who(actor: str, name: str | None) -> str:
    if name:
        return f'{_e(name)} <span class="key">{_e(actor)}</span>'
    return f'<span class="key">{_e(actor)}</span>'


def _empty(rep: Report) -> str:
    return (
        f'<p class="empty">No flows in this period ({_e(rep.start)} – {_e(rep.end)}): '
        "nothing to draw. Pick a longer period (--since) or another window.</p>"
    )


# -- charts -----------------------------------------------------------------------------------


def _heatmap_svg(rep: Report) -> str:
    """One segment × segment grid per flow type: colour ∝ flows, the delta vs the previous period below."""
    segs = rep.segments
    cell, pad_l, pad_t = 62, 92, 54
    n = len(segs)
    w_one = pad_l + n * cell + 24
    types = list(FLOW_COLOURS)[:3]
    width, height = w_one * len(types), pad_t + n * cell + 40
    cells = {(c["src"], c["dst"], c["flow_type"]): c for c in rep.heatmap}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'font-family="system-ui, sans-serif" role="img" aria-label="tunnels heatmap">'
    ]
    for ti, t in enumerate(types):
        x0 = ti * w_one
        top = max((c["flows"] or 0 for c in rep.heatmap if c["flow_type"] == t), default=0) or 1
        colour = FLOW_COLOURS[t]
        out.append(f'<text x="{x0 + pad_l}" y="18" font-size="14" font-weight="600" fill="{colour}">{_e(t)}</text>')
        out.append(f'<text x="{x0 + pad_l}" y="34" font-size="10" fill="#5b6573">rows give → columns receive</text>')
        for j, d in enumerate(segs):
            out.append(
                f'<text x="{x0 + pad_l + j * cell + cell / 2}" y="{pad_t - 6}" font-size="10" text-anchor="middle" '
                f'fill="{SEGMENT_COLOURS.get(d, "#666")}">{_e(d[:10])}</text>'
            )
        for i, s in enumerate(segs):
            y = pad_t + i * cell
            out.append(
                f'<text x="{x0 + pad_l - 6}" y="{y + cell / 2 + 4}" font-size="10" text-anchor="end" '
                f'fill="{SEGMENT_COLOURS.get(s, "#666")}">{_e(s[:12])}</text>'
            )
            for j, d in enumerate(segs):
                c = cells.get((s, d, t))
                x = x0 + pad_l + j * cell
                if c is None:
                    continue
                if c["suppressed"]:
                    out.append(
                        f'<g class="hm-cell"><title>{_e(s)} → {_e(d)}: suppressed (under k={rep.k})</title>'
                        f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#eef0f3"/>'
                        f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" font-size="10" text-anchor="middle" '
                        f'fill="#8a94a3">&lt;k</text></g>'
                    )
                    continue
                v = c["flows"] or 0
                op = 0.08 + 0.92 * math.sqrt(v / top) if v else 0.03
                dtxt = "" if c["delta"] is None else (f"{c['delta']:+d}" if c["delta"] else "±0")
                dcol = "#18794e" if (c["delta"] or 0) > 0 else "#c2372b" if (c["delta"] or 0) < 0 else "#5b6573"
                fg = "#fff" if op > 0.55 else "#1d2430"
                out.append(
                    f'<g class="hm-cell" data-flows="{v}"><title>{_e(s)} → {_e(d)} {_e(t)}: {v} flows '
                    f"(previous period {_e(c['prev'])}; {_e(c['pairs'])} actor pairs)</title>"
                    f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="4" fill="{colour}" '
                    f'fill-opacity="{op:.2f}"/>'
                    f'<text x="{x + cell / 2}" y="{y + cell / 2}" font-size="13" font-weight="600" '
                    f'text-anchor="middle" fill="{fg}">{v}</text>'
                    f'<text x="{x + cell / 2}" y="{y + cell / 2 + 15}" font-size="10" text-anchor="middle" '
                    f'fill="{fg if op > 0.55 else dcol}">{_e(dtxt)}</text></g>'
                )
    out.append("</svg>")
    return "".join(out)


def _bars_svg(rows: list[Ranked], colour: str, digits: int = 3) -> str:
    """Horizontal bars of a ranking (value now), with a tick at the previous value."""
    w, row_h, label_w = 420, 26, 170
    h = row_h * len(rows) + 8
    top = max([r.value for r in rows] + [r.prev or 0.0 for r in rows] + [1e-12])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'font-family="system-ui, sans-serif" role="img">'
    ]
    for i, r in enumerate(rows):
        y = 4 + i * row_h
        bw = (w - label_w - 60) * r.value / top
        label = (r.name or r.actor)[:26]
        out.append(
            f'<text x="{label_w - 6}" y="{y + 15}" font-size="11" text-anchor="end" fill="#1d2430">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bw:.1f}" height="16" rx="3" fill="{colour}"/>'
            f'<text x="{label_w + bw + 4:.1f}" y="{y + 15}" font-size="10" fill="#5b6573">{_e(_num(r.value, digits))}</text>'
        )
        if r.prev is not None:
            px = label_w + (w - label_w - 60) * r.prev / top
            out.append(
                f'<line x1="{px:.1f}" y1="{y + 1}" x2="{px:.1f}" y2="{y + 21}" stroke="#1d2430" stroke-width="2">'
                f"<title>previous period: {_e(_num(r.prev, digits))}</title></line>"
            )
    out.append("</svg>")
    return "".join(out)


def _line_svg(points: list[dict], key: str, label: str, colour: str, fmt: Callable[[float], str]) -> str:
    """A small line chart of one stored metric over the snapshots of both periods."""
    vals = [(i, p[key]) for i, p in enumerate(points) if p.get(key) is not None]
    w, h, pl, pb = 420, 150, 52, 26
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'font-family="system-ui, sans-serif" role="img" aria-label="{_e(label)}">'
        f'<text x="{pl}" y="14" font-size="12" font-weight="600" fill="#1d2430">{_e(label)}</text>'
    ]
    if len(vals) < 2:
        only = f"one snapshot: {fmt(vals[0][1])}" if vals else "no stored snapshots with a value"
        out.append(f'<text x="{pl}" y="{h / 2}" font-size="12" fill="#5b6573">{_e(only)}</text></svg>')
        return "".join(out)
    lo, hi = min(v for _, v in vals), max(v for _, v in vals)
    if hi == lo:
        hi = lo + 1
    n = max(len(points) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pl + (w - pl - 10) * i / n, 22 + (h - 22 - pb) * (1 - (v - lo) / (hi - lo))

    path = " ".join(f"{'M' if j == 0 else 'L'}{x:.1f},{y:.1f}" for j, (x, y) in enumerate(xy(i, v) for i, v in vals))
    out.append(
        f'<line x1="{pl}" y1="{h - pb}" x2="{w - 10}" y2="{h - pb}" stroke="#c9d1dc"/>'
        f'<text x="{pl - 4}" y="26" font-size="10" text-anchor="end" fill="#5b6573">{_e(fmt(hi))}</text>'
        f'<text x="{pl - 4}" y="{h - pb}" font-size="10" text-anchor="end" fill="#5b6573">{_e(fmt(lo))}</text>'
        f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
        f'<text x="{pl}" y="{h - 8}" font-size="10" fill="#5b6573">{_e(points[0]["t"])}</text>'
        f'<text x="{w - 10}" y="{h - 8}" font-size="10" text-anchor="end" fill="#5b6573">{_e(points[-1]["t"])}</text>'
    )
    for i, v in vals:
        x, y = xy(i, v)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>{_e(fmt(v))}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def _sankey_svg(rep: Report) -> str:
    """Formal teams (left) to detected communities (right), band width ∝ actors (vivainsights' network_p2p)."""
    links = rep.sankey
    teams = sorted({x["team"] for x in links})
    tpos = {t: i for i, t in enumerate(teams)}

    def barycentre(c: str) -> tuple[float, str]:  # communities face the teams they draw from: fewer crossings
        mine = [x for x in links if x["community"] == c]
        return sum(tpos[x["team"]] * x["actors"] for x in mine) / sum(x["actors"] for x in mine), c

    comms = sorted({x["community"] for x in links}, key=barycentre)
    total = sum(x["actors"] for x in links) or 1
    w, gap, top_pad, node_w = 760, 8, 30, 16
    h = 440
    avail = h - top_pad - 10 - gap * max(len(teams), len(comms))
    scale = avail / total

    def layout(names: list[str], key: str) -> dict[str, list[float]]:
        y, out = float(top_pad), {}
        for n in names:
            size = sum(x["actors"] for x in links if x[key] == n) * scale
            out[n] = [y, size, y]  # top, height, running offset for bands
            y += size + gap
        return out

    left, right = layout(teams, "team"), layout(comms, "community")
    lx, rx = 190, w - 190
    palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
    tcol = {t: palette[i % len(palette)] for i, t in enumerate(teams)}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'font-family="system-ui, sans-serif" role="img" aria-label="communities against formal teams">'
        f'<text x="{lx}" y="16" font-size="12" font-weight="600" text-anchor="end" fill="#1d2430">formal teams</text>'
        f'<text x="{rx + node_w}" y="16" font-size="12" font-weight="600" fill="#1d2430">detected communities</text>'
    ]
    for x in sorted(links, key=lambda x: (teams.index(x["team"]), comms.index(x["community"]))):
        bh = x["actors"] * scale
        ly, ry = left[x["team"]][2], right[x["community"]][2]
        left[x["team"]][2] += bh
        right[x["community"]][2] += bh
        x1, x2, mx = lx + node_w, rx, (lx + node_w + rx) / 2
        d = (
            f"M{x1},{ly:.1f} C{mx:.1f},{ly:.1f} {mx:.1f},{ry:.1f} {x2},{ry:.1f} "
            f"L{x2},{ry + bh:.1f} C{mx:.1f},{ry + bh:.1f} {mx:.1f},{ly + bh:.1f} {x1},{ly + bh:.1f} Z"
        )
        out.append(
            f'<path class="sankey-link" d="{d}" fill="{tcol[x["team"]]}" fill-opacity="0.45">'
            f"<title>{_e(x['team'])} → {_e(x['community'])}: {x['actors']} actors</title></path>"
        )
    for names, pos, x0, anchor, dx in ((teams, left, lx, "end", -6), (comms, right, rx, "start", node_w + 6)):
        for n in names:
            y, size, _ = pos[n]
            fill = tcol.get(n, "#5b6573")
            out.append(
                f'<rect class="sankey-node" x="{x0}" y="{y:.1f}" width="{node_w}" height="{max(size, 1):.1f}" fill="{fill}"/>'
                f'<text x="{x0 + dx}" y="{y + size / 2 + 4:.1f}" font-size="11" text-anchor="{anchor}" fill="#1d2430">'
                f"{_e(n[:28])} ({round(size / scale)})</text>"
            )
    out.append("</svg>")
    return "".join(out)


# -- sections ---------------------------------------------------------------------------------


def _summary(rep: Report) -> str:
    head = (
        f"<p>Network <b>{_e(rep.network)}</b>, period <b>{_e(rep.period)}</b>: {_e(rep.start)} – {_e(rep.end)}, "
        f"compared with the previous period {_e(rep.prev_start)} – {_e(rep.prev_end)}. "
        f"Stored window <b>{_e(rep.window)}</b>. Groups smaller than k = {rep.k} are suppressed"
        f"{'' if rep.names else '; names are left out'}.</p>"
    )
    if rep.empty:
        return head + _empty(rep)
    rows = "".join(
        f"<tr><td>{_e(r['label'])}</td><td class='num'>{_num(r['value'])}</td>"
        f"<td class='num'>{_num(r['prev'])}</td><td class='num'>{_delta(r['delta'])}</td></tr>"
        for r in rep.summary
    )
    return (
        head
        + f"<table><tr><th>measure</th><th class='num'>now</th><th class='num'>before</th><th class='num'>change</th></tr>{rows}</table>"
    )


def _people(rep: Report) -> str:
    if rep.empty:
        return _empty(rep)
    parts = []
    for title, rows, colour, what in (
        ("Top brokers", rep.brokers, "#4e79a7", "brokered pairs (gatekeeper + representative + liaison)"),
        ("Top influencers", rep.influencers, "#e15759", "amplification reach (actors reached)"),
        ("Key persons", rep.key_persons, "#f28e2b", "key-person risk (tunnels' worth of exchange carried)"),
    ):
        if not rows:
            parts.append(
                f"<div><h3>{title}</h3><p class='note'>No actor scores above 0 on {what} in this period.</p></div>"
            )
            continue
        table = "".join(
            f"<tr><td>{i + 1}</td><td>{_who(r.actor, r.name)}<br><span class='note'>{_e(r.group)}</span></td>"
            f"<td class='num'>{_num(r.value)}</td><td class='num'>{_delta(r.delta)}</td>"
            f"<td class='num'>{_e(r.prev_rank) if r.prev_rank else '–'}</td></tr>"
            for i, r in enumerate(rows)
        )
        parts.append(
            f"<div><h3>{title}</h3><p class='note'>{what}; the black tick is the previous period.</p>"
            f"{_bars_svg(rows, colour)}<table><tr><th>#</th><th>actor</th><th class='num'>now</th>"
            f"<th class='num'>change</th><th class='num'>rank before</th></tr>{table}</table></div>"
        )
    return f"<div class='cols'>{''.join(parts)}</div>"


def _badge(state: str) -> str:
    return f'<span class="badge {state}">{state}</span>' if state else ""


def _silos(rep: Report) -> str:
    if rep.empty:
        return _empty(rep)
    moving = [s for s in rep.silos if s["state"]]
    intro = (
        f"<p class='note'>A group is a silo when its E-I index (E − I)/(E + I) over the flows touching it is ≤ −0.5. "
        f"{len([s for s in moving if s['state'] == 'forming'])} forming, "
        f"{len([s for s in moving if s['state'] == 'dissolving'])} dissolving, "
        f"{len([s for s in moving if s['state'] == 'silo'])} persisting.</p>"
    )
    rows = "".join(
        f"<tr><td>{_e(s['group'])}</td><td>{_badge(s['state'])}</td>"
        f"<td class='num'>{_num(s['ei'])}</td><td class='num'>{_num(s['prev_ei'])}</td>"
        f"<td class='num'>{s['members']}</td><td class='num'>{s['flows']}</td></tr>"
        for s in rep.silos[:14]
    )
    note = (
        f"<p class='note'>{rep.silos_suppressed} group(s) under k = {rep.k} not shown.</p>"
        if rep.silos_suppressed
        else ""
    )
    if not rep.silos:
        return intro + "<p class='note'>No group with flows in either period.</p>" + note
    return (
        intro + "<table><tr><th>group</th><th>state</th><th class='num'>E-I now</th><th class='num'>E-I before</th>"
        f"<th class='num'>members</th><th class='num'>flows</th></tr>{rows}</table>{note}"
    )


def _trends(rep: Report) -> str:
    def secs(v: float) -> str:
        return f"{v / 3600:.1f} h" if v >= 3600 else f"{v / 60:.1f} min" if v >= 60 else f"{v:.0f} s"

    charts = (
        _line_svg(rep.trend_points, "responsiveness_median_s", "responsiveness, median", "#4e79a7", secs)
        + _line_svg(rep.trend_points, "responsiveness_p90_s", "responsiveness, p90", "#76b7b2", secs)
        + _line_svg(rep.trend_points, "idea_pickup_share", "idea pickup share", "#f28e2b", lambda v: f"{100 * v:.0f} %")
    )
    lower = {"responsiveness_median_s", "responsiveness_p90_s", "idea_pickup_median_s"}
    if rep.empty:
        return charts + _empty(rep)
    rows = "".join(
        f"<tr><td>{_e(r['label'])}</td><td class='num'>{_num(r['value'])}</td><td class='num'>{_num(r['prev'])}</td>"
        f"<td class='num'>{_delta(r['delta'], lower_is_better=r['key'] in lower)}</td></tr>"
        for r in rep.trends
    )
    return (
        "<p class='note'>Lines: the stored snapshots of window "
        f"{_e(rep.window)} over both periods. Table: this period against the previous one.</p>"
        f"<div>{charts}</div><table><tr><th>measure</th><th class='num'>now</th><th class='num'>before</th>"
        f"<th class='num'>change</th></tr>{rows}</table>"
    )


def _alerts(rep: Report) -> str:
    if not rep.alerts:
        return f"<p class='empty'>No alert was raised in the last {_e(rep.period)}.</p>"
    rows = "".join(
        f"<tr><td>{_e(a.get('raised_at'))}</td><td>{_e(a.get('kind'))}</td><td>{_e(a.get('window'))}</td>"
        f"<td>{_e(a.get('message'))}</td></tr>"
        for a in rep.alerts
    )
    return f"<table><tr><th>raised</th><th>kind</th><th>window</th><th>what</th></tr>{rows}</table>"


def _effect(effect: Any) -> str:
    """The impact analysis' summary: a list of sentences as bullets, a sentence as a paragraph."""
    if isinstance(effect, list | tuple):
        return "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in effect) + "</ul>"
    return f"<p>{_e(effect)}</p>"


def _introductions(rep: Report) -> str:
    if rep.empty:
        return _empty(rep)
    if not rep.introductions:
        return "<p class='empty'>No introduction would shorten the paths between groups in this period.</p>"
    return "".join(
        f"<div class='card intro'><h3>{r['rank']}. Introduce {_who(r['actor_a'], r['name_a'])} "
        f"({_e(r['group_a'])}) to {_who(r['actor_b'], r['name_b'])} ({_e(r['group_b'])})</h3>"
        f"<p>{_e(r['reason'])}</p><p><b>Effect</b> <span class='note'>({_num(r['hops_saved'])} hops saved, "
        f"{_num(r['newly_reachable'])} new actor-to-group connections)</span></p>{_effect(r['effect'])}</div>"
        for r in rep.introductions
    )


def _communities(rep: Report) -> str:
    if rep.empty:
        return _empty(rep)
    note = (
        f"<p class='note'>{rep.sankey_suppressed} actor(s) in team × community pairs under k = {rep.k} not shown.</p>"
        if rep.sankey_suppressed
        else ""
    )
    if not rep.sankey:
        return f"<p class='empty'>Every team × community pair has fewer than k = {rep.k} actors.</p>" + note
    return (
        "<p class='note'>Left: the formal teams of the directory; right: the communities detected in the flows "
        "(informal structure). A band is the actors of a team in a community.</p>" + _sankey_svg(rep) + note
    )


def _valuemap(rep: Report, valuemap_svg: ValueMapSvg) -> str:
    if rep.empty:
        return _empty(rep)
    note = (
        f"<p class='note'>Not shown (under k = {rep.k}): {rep.valuemap_suppressed} actor(s) in roles that small, "
        f"{rep.valuemap_thin} exchange(s) between fewer distinct actor pairs.</p>"
        if rep.valuemap_suppressed or rep.valuemap_thin
        else ""
    )
    return valuemap_svg(rep.valuemap, rep.network, rep.period) + note


def _tunnels(rep: Report) -> str:
    if rep.empty:
        return _empty(rep)
    note = (
        f"<p class='note'>{rep.heatmap_suppressed} cell(s) suppressed: a segment under k = {rep.k} actors "
        "or fewer than k distinct actor pairs.</p>"
        if rep.heatmap_suppressed
        else ""
    )
    return (
        "<p class='note'>Flows per segment pair and flow type in this period; below each number, the change against "
        "the previous period of the same length.</p>" + _heatmap_svg(rep) + note
    )


def render_html(rep: Report, valuemap_svg: ValueMapSvg) -> str:
    """The report as one self-contained HTML page (no external resource)."""
    body = {
        "summary": _summary(rep),
        "valuemap": _valuemap(rep, valuemap_svg),
        "tunnels": _tunnels(rep),
        "people": _people(rep),
        "silos": _silos(rep),
        "trends": _trends(rep),
        "alerts": _alerts(rep),
        "introductions": _introductions(rep),
        "communities": _communities(rep),
    }
    sections = "".join(
        f'<section class="report-section" id="{sid}" data-empty="{str(rep.empty).lower()}"><h2>{_e(title)}</h2>'
        f"{body[sid]}</section>"
        for sid, title in SECTIONS
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>valuenet report · {_e(rep.network)} · {_e(rep.period)}</title><style>{_CSS}</style></head><body>"
        f"<header class='report-head'><h1>Value network report · {_e(rep.network)}</h1>"
        f"<p>{_e(rep.start)} – {_e(rep.end)} ({_e(rep.period)}) against the previous {_e(rep.period)}</p>"
        f"<p>generated {_e(rep.generated_at)} by valuenet</p></header><main>{sections}</main></body></html>\n"
    )


class PdfError(RuntimeError):
    """Chromium could not print the report."""


def render_pdf(html: str, out: Path, *, chromium: str = CHROMIUM, timeout: float = 180.0) -> Path:
    """Print ``html`` to ``out`` with headless Chromium (written atomically); PdfError when it fails."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="valuenet-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        pdf = Path(tmp) / "report.pdf"
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PdfError(f"chromium ({chromium}) could not print the report: {e}") from e
        if proc.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise PdfError(f"chromium ({chromium}) exited {proc.returncode} without a PDF: {' | '.join(tail)}")
        fd, staged = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        try:
            Path(staged).write_bytes(pdf.read_bytes())
            os.replace(staged, out)
        except BaseException:
            Path(staged).unlink(missing_ok=True)
            raise
    return out


def write_report(html: str, out: Path, *, chromium: str = CHROMIUM) -> dict[str, Any]:
    """Write the report to ``out`` atomically: PDF when it ends in ``.pdf``, else the HTML; its manifest entry."""
    import hashlib

    out = Path(out)
    if out.suffix.lower() == ".pdf":
        render_pdf(html, out, chromium=chromium)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, staged = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        try:
            Path(staged).write_text(html, encoding="utf-8")
            os.replace(staged, out)
        except BaseException:
            Path(staged).unlink(missing_ok=True)
            raise
    data = out.read_bytes()
    return {
        "file": out.name,
        "what": "report",
        "format": "pdf" if out.suffix.lower() == ".pdf" else "html",
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
