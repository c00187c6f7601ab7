"""Value map: roles and exchanges from flow aggregates, rendered as SVG, DOT and Mermaid."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from valuenet.web.valuemap import MAX_ROLES, build_valuemap, to_dot, to_mermaid, to_svg

SVG = "{http://www.w3.org/2000/svg}"


def row(ss: str, st: str, ds: str, dt: str, ft: str, n: int, pairs: int = 1) -> dict:
    """One roles_exchanges row."""
    return {
        "src_segment": ss,
        "src_team": st,
        "dst_segment": ds,
        "dst_team": dt,
        "flow_type": ft,
        "n": n,
        "pairs": pairs,
    }


ROWS = [
    row("workforce", "support", "customer", "", "knowledge", 12, 5),
    row("customer", "", "workforce", "product", "idea", 4, 3),
    row("workforce", "product", "workforce", "support", "knowledge", 7, 2),
    row("workforce", "support", "workforce", "support", "reputation", 3, 2),
    row("customer", "", "influencer", "", "reputation", 9, 6),
    row("customer", "", "influencer", "", "none", 50, 6),  # no-flow interactions are not exchanges
]


def test_roles_split_by_team_and_ordered_by_segment() -> None:
    vm = build_valuemap(ROWS, "acme", "24h")
    assert [r.id for r in vm.roles] == ["workforce/product", "workforce/support", "customer", "influencer"]
    ex = {(e.src, e.dst, e.flow_type): (e.flows, e.pairs) for e in vm.exchanges}
    assert ex == {
        ("workforce/support", "customer", "knowledge"): (12, 5),
        ("customer", "workforce/product", "idea"): (4, 3),
        ("workforce/product", "workforce/support", "knowledge"): (7, 2),
        ("workforce/support", "workforce/support", "reputation"): (3, 2),
        ("customer", "influencer", "reputation"): (9, 6),
    }


def test_without_teams_exchanges_merge_per_segment() -> None:
    vm = build_valuemap(ROWS, "acme", "24h", by_team=False)
    ex = {(e.src, e.dst, e.flow_type): e.flows for e in vm.exchanges}
    assert ex[("workforce", "workforce", "knowledge")] == 7 and ex[("workforce", "customer", "knowledge")] == 12
    many = [row("workforce", f"t{i}", "customer", "", "knowledge", 1) for i in range(MAX_ROLES + 1)]
    assert [r.id for r in build_valuemap(many, "a", "1h").roles] == ["workforce", "customer"]


def test_svg_is_wellformed_with_one_group_per_role_and_exchange() -> None:
    vm = build_valuemap(ROWS, "acme", "24h")
    root = ET.fromstring(to_svg(vm))
    groups = root.findall(f"{SVG}g")
    roles = [g.get("data-role") for g in groups if g.get("class") == "vm-role"]
    exchanges = [g for g in groups if g.get("class") == "vm-exchange"]
    assert roles == [r.id for r in vm.roles] and len(exchanges) == len(vm.exchanges)
    idea = next(g for g in exchanges if g.get("data-type") == "idea")
    path = idea.find(f"{SVG}path")
    assert path.get("stroke-dasharray") == "7 4" and path.get("marker-end") == "url(#vm-arrow-idea)"
    assert idea.find(f"{SVG}title").text == "customer → workforce/product: 4 idea flows, 3 actor pairs"
    heaviest = max(exchanges, key=lambda g: float(g.find(f"{SVG}path").get("stroke-width")))
    assert heaviest.find(f"{SVG}text").text == "12"


def test_svg_escapes_names_and_handles_no_data() -> None:
    vm = build_valuemap([row("workforce", "R&D <core>", "customer", "", "knowledge", 2)], "a&b", "1h")
    root = ET.fromstring(to_svg(vm))  # parses: names are escaped
    assert any(g.get("data-role") == "workforce/R&D <core>" for g in root.iter(f"{SVG}g"))
    empty = ET.fromstring(to_svg(build_valuemap([], "acme", "1h")))
    assert "no flows in this window" in "".join(empty.itertext())


def test_dot_has_clusters_and_styled_edges() -> None:
    dot = to_dot(build_valuemap(ROWS, "acme", "24h"))
    assert dot.startswith('digraph "valuemap acme 24h" {') and dot.rstrip().endswith("}")
    assert 'subgraph "cluster_workforce" {' in dot and '"workforce/support" [label="workforce / support"' in dot
    edge = re.search(
        r'"customer" -> "workforce/product" \[label="idea 4", color="#ca8a04", fontcolor="#ca8a04", style=dashed, penwidth=([\d.]+)\];',
        dot,
    )
    assert edge and float(edge.group(1)) == pytest.approx(1 + 4 * 4 / 12, abs=0.005)  # penwidth = 1 + 4·n/max
    assert dot.count("->") == 5


def test_mermaid_flowchart() -> None:
    mer = to_mermaid(build_valuemap(ROWS, "acme", "24h")).splitlines()
    assert mer[0] == "flowchart LR"
    assert '    r0["workforce / product"]' in mer and "  subgraph customer" in mer
    assert "  r2 -.->|idea 4| r0" in mer and "  r1 -->|knowledge 12| r2" in mer and "  r2 ==>|reputation 9| r3" in mer
    link_styles = [line for line in mer if line.startswith("  linkStyle")]
    assert len(link_styles) == 5 and "stroke-dasharray:2 3" in link_styles[-1]
