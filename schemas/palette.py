"""Segment and flow-type names with their colours, defined once.

Used by the value map (``valuenet.web.valuemap``), the Gephi export (``analytics.exports``) and
served to the dashboard: ``GET /api/meta`` as JSON, and inline in the page (``window.VNPalette`` and
the CSS variables ``--workforce``, ``--knowledge``, … that ``style.css``, ``graph.js`` and ``app.js`` use).
"""

from __future__ import annotations

import json
from typing import Any

from valuenet.schemas.flow import FlowType, Segment

__all__ = ["FLOW_COLOURS", "FLOW_TYPES", "SEGMENT_COLOURS", "SEGMENTS", "css_variables", "page_meta", "page_head"]

#: segment names, in display order (the Segment enum's order)
SEGMENTS: tuple[str, ...] = tuple(s.value for s in Segment)
#: flow types that carry value (``none`` is classified but never drawn)
FLOW_TYPES: tuple[str, ...] = tuple(f.value for f in FlowType if f is not FlowType.none)

SEGMENT_COLOURS: dict[str, str] = {
    Segment.workforce.value: "#10b981",
    Segment.partner.value: "#f59e0b",
    Segment.customer.value: "#3b82f6",
    Segment.influencer.value: "#ec4899",
    Segment.unknown.value: "#9ca3af",
}
FLOW_COLOURS: dict[str, str] = {
    FlowType.knowledge.value: "#0284c7",
    FlowType.idea.value: "#ca8a04",
    FlowType.reputation.value: "#9333ea",
}


def page_meta() -> dict[str, Any]:
    """Names and colours for a client: ``segments``, ``flow_types``, ``palette: {segments, flows}``."""
    return {
        "segments": list(SEGMENTS),
        "flow_types": list(FLOW_TYPES),
        "palette": {"segments": dict(SEGMENT_COLOURS), "flows": dict(FLOW_COLOURS)},
    }


def css_variables() -> str:
    """``:root { --<segment>: colour; --<flow type>: colour; }``."""
    pairs = {**SEGMENT_COLOURS, **FLOW_COLOURS}
    return ":root { " + " ".join(f"--{name}: {colour};" for name, colour in pairs.items()) + " }"


def page_head() -> str:
    """The ``<style>`` and ``<script>`` the dashboard page gets in its head (CSS variables, ``window.VNPalette``)."""
    palette = json.dumps(page_meta()["palette"], separators=(",", ":"))
    return f"<style>{css_variables()}</style>\n<script>window.VNPalette = {palette};</script>"
