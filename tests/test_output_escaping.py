"""Outputs escape what they embed: SVG attributes, DOT and Mermaid labels, CSV cells (formula injection)."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from valuenet.analytics.exports import ExportTable, write_export
from valuenet.web.valuemap import build_valuemap, to_dot, to_mermaid, to_svg

EVIL_TEAM = "\"><script>alert(1)</script><x a='b"
EVIL_NET = 'acme" onload="alert(1)'
ROWS = [
    {
        "src_segment": "workforce",
        "src_team": EVIL_TEAM,
        "dst_segment": "customer",
        "dst_team": "",
        "flow_type": "knowledge",
        "n": 3,
        "pairs": 2,
    },
    {
        "src_segment": "customer",
        "src_team": "",
        "dst_segment": "workforce",
        "dst_team": "a|b]\n--> x",
        "flow_type": "idea",
        "n": 1,
        "pairs": 1,
    },
]


def test_svg_attributes_and_text_cannot_be_broken_out_of() -> None:
    svg = to_svg(build_valuemap(ROWS, EVIL_NET, "24h"))
    root = ET.fromstring(svg)  # still well-formed XML
    assert root.get("aria-label") == f"value map {EVIL_NET} 24h"  # the quote stayed inside the attribute
    assert root.get("onload") is None
    roles = [g.get("data-role") for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-role")]
    assert f"workforce/{EVIL_TEAM}" in roles
    assert not any(el.tag.endswith("script") for el in root.iter())


def test_dot_labels_stay_inside_their_quotes() -> None:
    dot = to_dot(build_valuemap(ROWS, 'n"; evil [x', "24h"))
    # every line is a statement: no label leaked a quote or a line break that ends the string early
    for line in dot.splitlines()[1:-1]:
        unescaped = re.sub(r"\\.", "", line)
        assert unescaped.count('"') % 2 == 0, line
    assert "\n--> x" not in dot and 'label="workforce / a|b] --> x"' in dot


def test_mermaid_labels_are_entity_coded() -> None:
    mer = to_mermaid(build_valuemap(ROWS, "acme", "24h"))
    labels = re.findall(r'\["([^"]*)"\]', mer)
    assert labels and all(not set(label) & set('"[]|<>\n') for label in labels)
    assert "#34;#62;#60;script#62;" in mer  # '"><script>' spelled as entities
    assert "-->" not in "".join(labels)


def test_csv_cells_that_look_like_formulas_are_defused(tmp_path: Path) -> None:
    rows = [
        {"actor": '=HYPERLINK("http://x","hi")', "display_name": "+1-555", "team": "@SUM(A1)", "score": -0.5},
        {"actor": "-2+3", "display_name": "\tTab", "team": "plain", "score": 1.25},
    ]
    write_export(ExportTable("actors", "acme", "24h", rows), "csv", tmp_path / "a.csv")
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    assert [r["actor"] for r in got] == ['\'=HYPERLINK("http://x","hi")', "'-2+3"]
    assert [r["display_name"] for r in got] == ["'+1-555", "'\tTab"]
    assert [r["team"] for r in got] == ["'@SUM(A1)", "plain"]
    assert [r["score"] for r in got] == ["-0.5", "1.25"]  # numbers are not text: left as they are
