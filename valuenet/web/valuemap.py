"""The value map: roles (segments and teams) and their exchanges by flow type, as SVG, DOT or Mermaid.

Verna Allee's value map draws roles as nodes and tangible/intangible deliverables as arrows
between them. Here a role is a segment, or ``segment/team`` when teams are known; an exchange
is the count of flows of one type from one role to another in a window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from valuenet.analytics.xmltext import xml_text
from valuenet.schemas.palette import FLOW_COLOURS, SEGMENT_COLOURS, SEGMENTS

__all__ = [
    "Role",
    "Exchange",
    "ValueMap",
    "build_valuemap",
    "to_dot",
    "to_mermaid",
    "to_svg",
    "SEGMENT_COLOURS",
    "FLOW_STYLES",
]

SEGMENT_ORDER = SEGMENTS
# flow type → (colour, SVG dash array, DOT style, Mermaid arrow)
FLOW_STYLES = {
    "knowledge": (FLOW_COLOURS["knowledge"], "", "solid", "-->"),
    "idea": (FLOW_COLOURS["idea"], "7 4", "dashed", "-.->"),
    "reputation": (FLOW_COLOURS["reputation"], "2 3", "dotted", "==>"),
}
MAX_ROLES = 24


@dataclass(frozen=True)
class Role:
    """A node of the value map."""

    id: str
    segment: str
    team: str = ""

    @property
    def label(self) -> str:
        """``segment`` or ``segment / team``."""
        return f"{self.segment} / {self.team}" if self.team else self.segment


@dataclass(frozen=True)
class Exchange:
    """Flows of one type from role ``src`` to role ``dst``."""

    src: str
    dst: str
    flow_type: str
    flows: int
    pairs: int


@dataclass
class ValueMap:
    """Roles and exchanges of one window."""

    network: str
    window: str
    roles: list[Role] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON form."""
        return {
            "network": self.network,
            "window": self.window,
            "roles": [{"id": r.id, "segment": r.segment, "team": r.team or None, "label": r.label} for r in self.roles],
            "exchanges": [e.__dict__ for e in self.exchanges],
        }


def _seg_key(seg: str) -> int:
    return SEGMENT_ORDER.index(seg) if seg in SEGMENT_ORDER else len(SEGMENT_ORDER)


def build_valuemap(rows: Iterable[dict], network: str, window: str, by_team: bool = True) -> ValueMap:
    """Aggregate ``roles_exchanges`` rows into roles and exchanges.

    Falls back to one role per segment when teams would give more than MAX_ROLES roles.
    """
    rows = list(rows)
    teams = {(r["src_segment"], r["src_team"]) for r in rows} | {(r["dst_segment"], r["dst_team"]) for r in rows}
    if not by_team or len(teams) > MAX_ROLES:
        by_team = False

    def role(seg: str, team: str) -> Role:
        team = team if by_team else ""
        return Role(id=f"{seg}/{team}" if team else seg, segment=seg, team=team)

    roles: dict[str, Role] = {}
    agg: dict[tuple[str, str, str], list[int]] = {}
    for r in rows:
        if r["flow_type"] not in FLOW_STYLES:
            continue
        a, b = role(r["src_segment"], r["src_team"]), role(r["dst_segment"], r["dst_team"])
        roles[a.id], roles[b.id] = a, b
        slot = agg.setdefault((a.id, b.id, r["flow_type"]), [0, 0])
        slot[0] += int(r["n"])
        slot[1] += int(r["pairs"])
    ordered = sorted(roles.values(), key=lambda x: (_seg_key(x.segment), x.segment, x.team))
    exchanges = [Exchange(s, d, t, n, p) for (s, d, t), (n, p) in sorted(agg.items())]
    return ValueMap(network=network, window=window, roles=ordered, exchanges=exchanges)


def _q(text: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, line breaks as spaces (no escape sequence survives)."""
    flat = " ".join(text.splitlines()) if text else text
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _x(text: str) -> str:
    """``text`` safe in SVG/XML text and in attribute values (``& < >`` and both quotes as entities, characters
    XML 1.0 forbids as U+FFFD: ``analytics.xmltext``)."""
    return escape(xml_text(text), {'"': "&quot;", "'": "&apos;"})


#: Characters a Mermaid label keeps as they are; anything else becomes an entity code (``#35;``).
_MERMAID_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:/-")


def _mermaid(text: str) -> str:
    """``text`` safe inside a Mermaid ``["..."]`` label: quotes, brackets, pipes, ``<>`` and the rest as ``#N;``."""
    return "".join(ch if ch in _MERMAID_PLAIN else f"#{ord(ch)};" for ch in text)


def to_dot(vm: ValueMap) -> str:
    """Graphviz DOT: roles clustered by segment, one edge per (role pair, flow type)."""
    top = max((e.flows for e in vm.exchanges), default=1)
    lines = [
        f"digraph {_q('valuemap ' + vm.network + ' ' + vm.window)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontcolor="white"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for seg in sorted({r.segment for r in vm.roles}, key=_seg_key):
        lines.append(f"  subgraph {_q('cluster_' + seg)} {{")
        lines.append(f"    label={_q(seg)};")
        for r in vm.roles:
            if r.segment == seg:
                colour = SEGMENT_COLOURS.get(seg, SEGMENT_COLOURS["unknown"])
                lines.append(f"    {_q(r.id)} [label={_q(r.label)}, fillcolor={_q(colour)}];")
        lines.append("  }")
    for e in vm.exchanges:
        colour, _, style, _ = FLOW_STYLES[e.flow_type]
        width = 1 + 4 * e.flows / top
        lines.append(
            f"  {_q(e.src)} -> {_q(e.dst)} [label={_q(f'{e.flow_type} {e.flows}')}, "
            f"color={_q(colour)}, fontcolor={_q(colour)}, style={style}, penwidth={width:.2f}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(vm: ValueMap) -> str:
    """Mermaid flowchart: one subgraph per segment, arrows styled by flow type."""
    ids = {r.id: f"r{i}" for i, r in enumerate(vm.roles)}
    lines = ["flowchart LR"]
    for n, seg in enumerate(sorted({r.segment for r in vm.roles}, key=_seg_key)):
        plain = seg.isascii() and seg.isidentifier()
        sid = seg if plain else f"segment{n}"  # a segment name that is not an identifier never reaches the syntax
        lines.append(f"  subgraph {sid}" if plain else f'  subgraph {sid}["{_mermaid(seg)}"]')
        for r in vm.roles:
            if r.segment == seg:
                lines.append(f'    {ids[r.id]}["{_mermaid(r.label)}"]')
        lines.append("  end")
        colour = SEGMENT_COLOURS.get(seg, SEGMENT_COLOURS["unknown"])
        members = ",".join(ids[r.id] for r in vm.roles if r.segment == seg)
        lines.append(f"  style {sid} fill:none,stroke:{colour}")
        lines.append(f"  classDef seg_{sid} fill:{colour},color:#fff,stroke:{colour}")
        lines.append(f"  class {members} seg_{sid}")
    for i, e in enumerate(vm.exchanges):
        colour, dash, _, arrow = FLOW_STYLES[e.flow_type]
        lines.append(f"  {ids[e.src]} {arrow}|{e.flow_type} {e.flows}| {ids[e.dst]}")
        style = f"stroke:{colour}" + (f",stroke-dasharray:{dash}" if dash else "")
        lines.append(f"  linkStyle {i} {style}")
    return "\n".join(lines) + "\n"


def to_svg(vm: ValueMap, size: int = 640) -> str:
    """A self-contained SVG: roles on a circle, exchanges as curved arrows (width ∝ volume)."""
    w, h = size, size + 60
    cx, cy, radius = w / 2, h / 2 + 36, size * 0.28
    n = max(len(vm.roles), 1)
    pos = {}
    for i, r in enumerate(vm.roles):
        ang = -math.pi / 2 + 2 * math.pi * i / n
        pos[r.id] = (cx + radius * math.cos(ang), cy + radius * math.sin(ang))
    top = max((e.flows for e in vm.exchanges), default=1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'font-family="system-ui, sans-serif" role="img" aria-label="value map {_x(vm.network)} {_x(vm.window)}">',
        "<defs>",
    ]
    for t, (colour, *_rest) in FLOW_STYLES.items():
        out.append(
            f'<marker id="vm-arrow-{t}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    out.append(
        f'<text x="16" y="26" font-size="16" font-weight="600" fill="currentColor">'
        f"Value map · {_x(vm.network)} · {_x(vm.window)}</text>"
    )
    lx = 16
    for t, (colour, dash, *_r) in FLOW_STYLES.items():
        out.append(
            f'<line x1="{lx}" y1="44" x2="{lx + 28}" y2="44" stroke="{colour}" stroke-width="3" '
            f'stroke-dasharray="{dash}"/><text x="{lx + 34}" y="48" font-size="12" fill="currentColor">{t}</text>'
        )
        lx += 120
    if not vm.roles:
        out.append(
            f'<text x="{cx}" y="{cy}" text-anchor="middle" font-size="14" fill="#888">no flows in this window</text>'
        )
    offsets = {"knowledge": -0.5, "idea": 0.0, "reputation": 0.5}
    node_r = 36
    for e in vm.exchanges:
        colour, dash, *_r = FLOW_STYLES[e.flow_type]
        width = 1.2 + 5 * e.flows / top
        (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
        title = f"<title>{_x(e.src)} → {_x(e.dst)}: {e.flows} {e.flow_type} flows, {e.pairs} actor pairs</title>"
        if e.src == e.dst:  # internal exchange: a loop outside the circle
            dx, dy = x1 - cx, y1 - cy
            d = math.hypot(dx, dy) or 1
            ux, uy = dx / d, dy / d
            k = 1 + offsets[e.flow_type] * 0.6
            px, py = -uy, ux
            ax, ay = x1 + ux * node_r + px * 12 * k, y1 + uy * node_r + py * 12 * k
            bx, by = x1 + ux * node_r - px * 12 * k, y1 + uy * node_r - py * 12 * k
            c1 = (x1 + ux * 90 * k + px * 40, y1 + uy * 90 * k + py * 40)
            c2 = (x1 + ux * 90 * k - px * 40, y1 + uy * 90 * k - py * 40)
            path = f"M{ax:.1f},{ay:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {bx:.1f},{by:.1f}"
            lx_, ly_ = x1 + ux * 80 * k, y1 + uy * 80 * k
        else:
            dx, dy = x2 - x1, y2 - y1
            d = math.hypot(dx, dy) or 1
            ux, uy = dx / d, dy / d
            bend = 0.18 + offsets[e.flow_type] * 0.22
            mx, my = (x1 + x2) / 2 - uy * d * bend, (y1 + y2) / 2 + ux * d * bend
            sx, sy = x1 + ux * node_r, y1 + uy * node_r
            ex, ey = x2 - ux * (node_r + 2), y2 - uy * (node_r + 2)
            path = f"M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}"
            lx_, ly_ = (sx + 2 * mx + ex) / 4, (sy + 2 * my + ey) / 4
        out.append(
            f'<g class="vm-exchange" data-type="{e.flow_type}">{title}<path d="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="{width:.2f}" stroke-dasharray="{dash}" stroke-opacity="0.85" marker-end="url(#vm-arrow-{e.flow_type})"/>'
            f'<text x="{lx_:.1f}" y="{ly_:.1f}" font-size="11" text-anchor="middle" fill="{colour}" '
            f'paint-order="stroke" stroke="white" stroke-width="3">{e.flows}</text></g>'
        )
    for r in vm.roles:
        x, y = pos[r.id]
        colour = SEGMENT_COLOURS.get(r.segment, SEGMENT_COLOURS["unknown"])
        out.append(
            f'<g class="vm-role" data-role="{_x(r.id)}"><title>{_x(r.label)}</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{node_r}" fill="{colour}" stroke="white" stroke-width="2"/>'
            f'<text x="{x:.1f}" y="{y + (0 if r.team else 4):.1f}" text-anchor="middle" font-size="10" font-weight="700" fill="white">'
            f"{_x(r.segment[:11])}</text>"
            + (
                f'<text x="{x:.1f}" y="{y + 13:.1f}" text-anchor="middle" font-size="10" fill="white">'
                f"{_x(r.team[:12])}</text>"
                if r.team
                else ""
            )
            + "</g>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
