"""Issue 25 (5, 6): export headers from untrusted network names, and XML exports of names holding control characters.

Through the real API (uvicorn on 127.0.0.1, httpx): any Unicode network name exports, its file name
comes back per RFC 6266 / 5987 and no control character reaches a header; GraphML and GEXF of
display names with characters XML 1.0 forbids read back in networkx and igraph.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_api import BASE, NAMES, SEGMENT, WINDOWS, LiveServer, build_seed
from valuenet.analytics.exports import ExportTable, write_export
from valuenet.analytics.xmltext import xml_text
from valuenet.config import Settings
from valuenet.web.app import create_app

UNICODE_NET = "日本語ネットワーク"
NEWLINE_NET = "a\nb"
CONTROL_NET = "ctl\x0bnet"
#: display names that break XML 1.0 (vertical tab, SOH, U+FFFE, ESC) next to allowed tab / CR / LF
EVIL_NAMES = {"ana": "Ana\x0bAlves", "inf1": "\x01Ivy\tInfluence", "cu1": "Carla\ufffe\r\nCustomer", "ben": "B\x1ben"}


def _write_network(store, network: str, names: dict[str, str]) -> None:
    """The test_api seed (flows and three ticks of metrics) under ``network``, with ``names`` as display names."""
    seed = build_seed()
    store.write_models("flows", [f.model_copy(update={"network": network}) for f in seed.flows])
    store.write_models("actor_metrics", [m.model_copy(update={"network": network}) for m in seed.actors])
    store.write_models("network_metrics", [m.model_copy(update={"network": network}) for m in seed.network])
    store.write_models("segment_flows", [m.model_copy(update={"network": network}) for m in seed.tunnels])
    rows = [
        {
            "network": network,
            "actor": a,
            "display_name": n,
            "segment": SEGMENT[a][0],
            "team": SEGMENT[a][1],
            "organisation": None,
            "updated_at": BASE,
        }
        for a, n in names.items()
    ]
    store.write("directory", rows)


@pytest.fixture(scope="module")
def server(chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The API over a chdb store holding four networks, served by uvicorn on 127.0.0.1."""
    from tests.fixtures_clickhouse import _drop, fresh_database_name
    from valuenet.analytics.storage.chdb_store import ChdbStore

    store = ChdbStore(chdb_dir, database=fresh_database_name())
    store.setup()
    for net, names in ((UNICODE_NET, NAMES), (NEWLINE_NET, NAMES), (CONTROL_NET, EVIL_NAMES), ("acme", NAMES)):
        _write_network(store, net, names)
    tmp = tmp_path_factory.mktemp("surface")
    s = Settings(home=tmp, chdb_path=chdb_dir, network="acme", windows=WINDOWS, api_allowed_hosts=())
    try:
        with LiveServer(create_app(s, store, kafka=False, feed_poll_seconds=3600)) as live:
            yield live
    finally:
        _drop(store)


def _printable_ascii(headers: httpx.Headers) -> None:
    for k, v in headers.raw:
        assert re.fullmatch(rb"[\x20-\x7e]*", v), (k, v)


def _filename_star(disposition: str) -> str:
    m = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert m, disposition
    return unquote(m.group(1), encoding="utf-8", errors="strict")


def test_a_unicode_network_exports_with_an_rfc6266_filename(server: LiveServer) -> None:
    r = httpx.get(
        f"{server.url}/api/export", params={"what": "actors", "format": "csv", "network": UNICODE_NET, "window": "1h"}
    )
    assert r.status_code == 200, r.text
    _printable_ascii(r.headers)
    cd = r.headers["content-disposition"]
    assert cd.startswith("attachment; filename=\"_-actors-1h.csv\"; filename*=UTF-8''%E6%97%A5")
    assert _filename_star(cd) == f"{UNICODE_NET}-actors-1h.csv"
    assert unquote(r.headers["x-valuenet-network"]) == UNICODE_NET
    assert r.headers["x-valuenet-window"] == "1h" and int(r.headers["x-valuenet-rows"]) > 0
    assert r.text.splitlines()[0].startswith("network,") or "actor" in r.text.splitlines()[0]


def test_an_ascii_network_keeps_plain_headers(server: LiveServer) -> None:
    r = httpx.get(f"{server.url}/api/export", params={"what": "tunnels", "format": "json", "network": "acme"})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="acme-tunnels-1h.json"'
    assert r.headers["x-valuenet-network"] == "acme"


def test_control_characters_in_the_network_never_reach_a_header(server: LiveServer) -> None:
    # a stored network whose name holds a line feed: answered, the file named without it
    r = httpx.get(f"{server.url}/api/export?what=network&format=csv&network=a%0Ab&window=24h")
    assert r.status_code == 200, r.text
    _printable_ascii(r.headers)
    assert unquote(r.headers["x-valuenet-network"]) == NEWLINE_NET
    assert r.headers["content-disposition"] == 'attachment; filename="a_b-network-24h.csv"'
    # header injection attempts (networks without data: an empty export): an HTTP answer, nothing injected
    for net in ("x\r\nSet-Cookie: a=b", "\x7f\x85\x01", "evil\u2028name"):
        r = httpx.get(f"{server.url}/api/export", params={"what": "actors", "format": "csv", "network": net})
        assert r.status_code == 200, (net, r.status_code)
        assert "set-cookie" not in r.headers
        _printable_ascii(r.headers)
        assert unquote(r.headers["x-valuenet-network"]) == net


def test_the_cli_remote_source_reads_the_network_back(server: LiveServer, tmp_path: Path) -> None:
    from valuenet.commands.source import RemoteSource
    from valuenet.service import ServiceInfo

    info = ServiceInfo(url=server.url, pid=0, role="serve", store="chdb", started_at=0.0)
    src = RemoteSource(info, Settings(home=tmp_path, api_token=None))
    try:
        entry = src.export("graph", "json", "1h", UNICODE_NET, tmp_path / "g.json", 5, lambda a, b: None)
    finally:
        src.close()
    assert entry["network"] == UNICODE_NET and entry["window"] == "1h" and entry["rows"] > 0


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_xml_exports_of_control_character_names_read_back(server: LiveServer, tmp_path: Path, fmt: str) -> None:
    import igraph as ig

    r = httpx.get(
        f"{server.url}/api/export", params={"what": "graph", "format": fmt, "network": CONTROL_NET, "window": "1h"}
    )
    assert r.status_code == 200, r.text
    out = tmp_path / f"g.{fmt}"
    out.write_bytes(r.content)
    g = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
    labels = {n: d["label"] for n, d in g.nodes(data=True)}
    for actor, name in EVIL_NAMES.items():
        assert labels[actor] == xml_text(name)
    assert labels["ana"] == "Ana\ufffdAlves" and labels["cu1"] == "Carla\ufffd\r\nCustomer"
    assert labels["inf1"] == "\ufffdIvy\tInfluence"
    assert g.graph.get("network", CONTROL_NET.replace("\x0b", "\ufffd")) == "ctl\ufffdnet"
    if fmt == "graphml":
        h = ig.Graph.Read_GraphML(str(out))
        assert {v["id"]: v["label"] for v in h.vs} == labels
        assert h.ecount() == g.number_of_edges() > 0


def test_the_svg_value_map_of_control_character_names_is_well_formed(server: LiveServer) -> None:
    import xml.etree.ElementTree as ET

    r = httpx.get(f"{server.url}/api/valuemap", params={"network": CONTROL_NET, "format": "svg"})
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.get("aria-label", "").startswith("value map ctl\ufffdnet")


# -- any text, offline: hypothesis over names, ids and teams -------------------------------------------

#: any code point (surrogates included), with the characters XML forbids or escapes drawn often
_ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=()),
        st.sampled_from("\x00\x01\x08\x0b\x0c\x1f\t\r\n\ufffe\uffff\ud800\udfff&<>\"'"),
    ),
    max_size=12,
)


def _graph(ids: list[str], names: list[str], team: str) -> nx.DiGraph:
    g = nx.DiGraph(network="n\x0c", window="1h")
    for i, (a, name) in enumerate(zip(ids, names)):
        g.add_node(
            a,
            label=name,
            segment="workforce",
            team=team,
            pagerank=0.1 * i,
            betweenness=math.nan,
            reach=i,
            community=-1,
        )
    for u, v in zip(ids, ids[1:]):
        g.add_edge(u, v, knowledge=1, idea=0, reputation=2, weight=3)
    return g


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(_ANY_TEXT.filter(bool), min_size=2, max_size=5, unique=True),
    names=st.lists(_ANY_TEXT, min_size=5, max_size=5),
    team=_ANY_TEXT,
)
def test_any_text_survives_graphml_and_gexf(tmp_path: Path, ids: list[str], names: list[str], team: str) -> None:
    import igraph as ig

    g = _graph(ids, names, team)
    expected_ids = [xml_text(a) for a in ids]
    for fmt in ("graphml", "gexf"):
        out = tmp_path / f"any.{fmt}"
        write_export(ExportTable("graph", "n", "1h", [], graph=g), fmt, out)
        back = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
        assert back.number_of_nodes() == len(ids) and back.number_of_edges() == len(ids) - 1
        by_label = sorted((d["label"], d.get("team", "")) for _, d in back.nodes(data=True))
        assert by_label == sorted((xml_text(n), xml_text(team)) for n in names[: len(ids)])
        if len(set(expected_ids)) == len(ids):  # no two ids became the same text: they read back as written
            assert sorted(back.nodes) == sorted(expected_ids)
        if fmt == "graphml":
            h = ig.Graph.Read_GraphML(str(out))
            assert sorted(v["label"] for v in h.vs) == sorted(xml_text(n) for n in names[: len(ids)])
            if not any("&" in a for a in back.nodes):  # igraph hands an id's "&" back as "&#38;" (its own quirk)
                assert sorted(v["id"] for v in h.vs) == sorted(back.nodes)
