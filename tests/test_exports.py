"""Exports read back with pyarrow and networkx and compared with ClickHouse; k-suppression; periodic runs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.test_api import BASE, NET, build_seed, web_settings, write_seed
from valuenet.analytics.exports import ExportError, ExportJob, due_jobs, export, load_jobs, run_jobs
from valuenet.analytics.storage.reader import Reader
from valuenet.config import Settings

START, END = (BASE - timedelta(hours=1)).replace(tzinfo=None), BASE.replace(tzinfo=None)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(store, reader, seed, tmp) over a seeded chdb store."""
    from valuenet.analytics.storage import open_store

    tmp = tmp_path_factory.mktemp("exports")
    store = open_store(web_settings(tmp))
    seed = build_seed()
    write_seed(store, seed)
    yield store, Reader(store), seed, tmp
    store.close()


def ch_latest_actors(store) -> dict[str, dict]:
    """Latest 1h actor snapshot straight from ClickHouse."""
    rows = store.query(
        "SELECT actor, pagerank, reach, out_knowledge FROM actor_metrics WHERE network = %(n)s AND window = '1h' "
        "AND computed_at_ms = (SELECT max(computed_at_ms) FROM actor_metrics WHERE network = %(n)s AND window = '1h')",
        {"n": NET},
    )
    return {r["actor"]: r for r in rows}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_actor_export_matches_clickhouse(env: tuple, fmt: str) -> None:
    store, reader, _, tmp = env
    out = tmp / f"actors.{fmt}"
    entry = export(reader, "actors", fmt, "1h", NET, out)
    if fmt == "csv":
        rows = pacsv.read_csv(out).to_pylist()
    elif fmt == "parquet":
        rows = pq.read_table(out).to_pylist()
    else:
        rows = json.loads(out.read_text())
    want = ch_latest_actors(store)
    assert entry["rows"] == len(rows) == len(want) == 15
    for r in rows:
        assert r["pagerank"] == pytest.approx(want[r["actor"]]["pagerank"])
        assert int(r["reach"]) == want[r["actor"]]["reach"]
    assert entry["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_flow_export_is_the_window_read_with_final(env: tuple) -> None:
    store, reader, _, tmp = env
    store.write_models("flows", build_seed().flows[:3])  # a replay: FINAL folds it
    out = tmp / "flows.parquet"
    export(reader, "flows", "parquet", "1h", NET, out)
    t = pq.read_table(out)
    (n,) = store.query(
        "SELECT count() AS n FROM flows FINAL WHERE network = %(n)s AND timestamp > %(s)s AND timestamp <= %(e)s",
        {"n": NET, "s": START, "e": END},
    )
    assert t.num_rows == n["n"] == 23
    assert len(set(t.column("event_id").to_pylist())) == t.num_rows


@pytest.mark.parametrize("fmt, read", [("gexf", nx.read_gexf), ("graphml", nx.read_graphml)])
def test_graph_export_reads_back_with_networkx(env: tuple, fmt: str, read) -> None:
    store, reader, _, tmp = env
    out = tmp / f"graph.{fmt}"
    entry = export(reader, "graph", fmt, "1h", NET, out)
    g = read(out)
    rows = store.query(
        "SELECT giver, receiver, toString(flow_type) AS t, count() AS n FROM flows FINAL WHERE network = %(n)s "
        "AND timestamp > %(s)s AND timestamp <= %(e)s AND receiver IS NOT NULL AND flow_type != 'none' "
        "GROUP BY giver, receiver, t",
        {"n": NET, "s": START, "e": END},
    )
    pairs = {(r["giver"], r["receiver"]) for r in rows}
    assert g.is_directed() and set(g.edges()) == pairs and entry["rows"] == len(pairs)
    assert sum(float(d["weight"]) for _, _, d in g.edges(data=True)) == sum(r["n"] for r in rows)
    for r in rows:
        assert int(float(g[r["giver"]][r["receiver"]][r["t"]])) == r["n"]
    assert g.nodes["ana"]["segment"] == "workforce" and g.nodes["ana"]["team"] == "platform"
    assert float(g.nodes["inf1"]["reach"]) == 6


def test_group_exports_suppress_groups_smaller_than_k(env: tuple) -> None:
    _, reader, _, tmp = env
    entry0 = export(reader, "tunnels", "json", "1h", NET, tmp / "t1.json", k=1)
    kept1 = json.loads((tmp / "t1.json").read_text())
    # k=5: partner (2 actors) and influencer (2) segments drop out; so do pairs with < 5 actor pairs
    entry5 = export(reader, "tunnels", "json", "1h", NET, tmp / "t5.json", k=5)
    kept5 = json.loads((tmp / "t5.json").read_text())
    assert entry0["suppressed"] == 0 and len(kept1) == entry5["rows"] + entry5["suppressed"]
    assert {(r["src_segment"], r["dst_segment"]) for r in kept5} == {("workforce", "customer")}
    assert all(r["actor_pairs"] >= 5 for r in kept5)
    net = export(reader, "network", "csv", "1h", NET, tmp / "n.csv", k=100)
    assert net["rows"] == 0 and net["suppressed"] == 1


def test_bad_kind_or_format_is_refused(env: tuple) -> None:
    _, reader, _, tmp = env
    with pytest.raises(ExportError, match="gexf"):
        export(reader, "actors", "gexf", "1h", NET, tmp / "x.gexf")
    with pytest.raises(ExportError, match="--what"):
        export(reader, "people", "csv", "1h", NET, tmp / "x.csv")
    with pytest.raises(ValueError, match="cron"):
        ExportJob(cron="every hour", what="actors", format="csv")


def test_periodic_run_writes_a_manifest(env: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, reader, _, _ = env
    cfg = tmp_path / "valuenet.toml"
    cfg.write_text(
        '[[exports]]\ncron = "0 * * * *"\nwhat = "actors"\nformat = "parquet"\nwindow = "1h"\n\n'
        '[[exports]]\ncron = "*/15 * * * *"\nwhat = "graph"\nformat = "gexf"\nwindow = "1h"\n'
    )
    monkeypatch.setenv("VALUENET_CONFIG", str(cfg))
    jobs = load_jobs(Settings())  # the schedules are a field of the settings, read with the rest of the file
    t0 = datetime(2024, 5, 1, 12, 7, tzinfo=UTC)
    assert due_jobs(jobs, t0, t0 + timedelta(minutes=5)) == []
    assert [j.what for j in due_jobs(jobs, t0, t0 + timedelta(minutes=10))] == ["graph"]
    assert [j.what for j in due_jobs(jobs, t0, t0 + timedelta(minutes=60))] == ["actors", "graph"]
    out = run_jobs(reader, jobs, tmp_path / "exports", NET, k=5, now=datetime(2024, 5, 1, 13, 0, tzinfo=UTC))
    assert out.name == "20240501T130000Z"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generated_at"] == "2024-05-01T13:00:00Z" and manifest["windows"] == ["1h"]
    for f in manifest["files"]:
        data = (out / f["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
    assert (
        pq.read_table(out / "actors-1h.parquet").num_rows
        == manifest["files"][0]["rows"]
        == len(ch_latest_actors(store))
    )
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["20240501T130000Z"]


def test_export_command_writes_a_file(tmp_path: Path) -> None:
    """The CLI in its own process (chdb allows one process per data directory)."""
    home = tmp_path / "home"
    env_vars = {
        **os.environ,
        "VALUENET_HOME": str(home),
        "VALUENET_CHDB_PATH": str(home / "chdb"),
        "VALUENET_NETWORK": NET,
        "VALUENET_WINDOWS": '["1h", "24h"]',
        "VALUENET_CONFIG": str(tmp_path / "none.toml"),
    }
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from valuenet.analytics.storage import open_store\n"
        "from tests.test_api import build_seed, write_seed, web_settings\n"
        "from pathlib import Path\n"
        f"s = open_store(web_settings(Path({str(home)!r}))); write_seed(s, build_seed()); s.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env_vars, timeout=300)
    out = tmp_path / "net.graphml"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "valuenet.cli",
            "export",
            "--what",
            "graph",
            "--window",
            "1h",
            "--format",
            "graphml",
            "--out",
            str(out),
        ],
        env=env_vars,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "wrote 21 rows" in r.stderr and nx.read_graphml(out).number_of_edges() == 21
    bad = subprocess.run(
        [sys.executable, "-m", "valuenet.cli", "export", "--what", "actors", "--format", "gexf", "--out", str(out)],
        env=env_vars,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "--format for actors" in bad.stderr


def _keys(path: Path) -> list[tuple[str, str, str]]:
    """(domain, name, type) of every attribute a GraphML or GEXF file declares."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    out = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "key":  # GraphML
            out.append((el.get("for", ""), el.get("attr.name", ""), el.get("attr.type", "")))
        elif tag == "attributes":  # GEXF
            out.extend((el.get("class", ""), a.get("title", ""), a.get("type", "")) for a in el)
    return out


def test_graphml_reads_back_identically_in_networkx_and_igraph(env: tuple) -> None:
    import math

    import igraph as ig

    _, reader, _, tmp = env
    out = tmp / "both.graphml"
    export(reader, "graph", "graphml", "1h", NET, out)
    keys = _keys(out)
    assert len({(d, n) for d, n, _ in keys}) == len(keys)  # one type per attribute
    assert ("node", "betweenness", "double") in keys and ("node", "reach", "long") in keys
    g = nx.read_graphml(out)
    h = ig.Graph.Read_GraphML(str(out))
    assert h.is_directed() and h.vcount() == g.number_of_nodes() and h.ecount() == g.number_of_edges()
    want = reader.actor_snapshot(NET, "1h")
    for v in h.vs:
        n = g.nodes[v["id"]]
        for attr in ("label", "segment", "team", "reach", "community"):
            assert v[attr] == n[attr], (v["id"], attr)
        for attr in ("pagerank", "betweenness"):
            assert (math.isnan(v[attr]) and math.isnan(n[attr])) or v[attr] == n[attr]
        if v["id"] in want:  # the values are the snapshot's, typed
            assert v["pagerank"] == pytest.approx(want[v["id"]]["pagerank"]) and v["reach"] == want[v["id"]]["reach"]
        else:
            assert math.isnan(v["pagerank"]) and v["reach"] == -1
    for e in h.es:
        u, w = h.vs[e.source]["id"], h.vs[e.target]["id"]
        d = g[u][w]
        assert (e["knowledge"], e["idea"], e["reputation"], e["weight"]) == (
            d["knowledge"],
            d["idea"],
            d["reputation"],
            d["weight"],
        )
    assert isinstance(g.nodes["ana"]["reach"], int) and isinstance(g.nodes["ana"]["pagerank"], float)


def test_gexf_carries_segment_colours_and_pagerank_sizes(env: tuple) -> None:
    from valuenet.analytics.exports import SEGMENT_COLOURS, VIZ_SIZE_MAX, VIZ_SIZE_MIN

    _, reader, _, tmp = env
    out = tmp / "viz.gexf"
    export(reader, "graph", "gexf", "1h", NET, out)
    keys = _keys(out)
    assert len({(d, n) for d, n, _ in keys}) == len(keys)
    g = nx.read_gexf(out)
    snap = reader.actor_snapshot(NET, "1h")
    top = max(r["pagerank"] for r in snap.values())
    for node, d in g.nodes(data=True):
        c = SEGMENT_COLOURS[d["segment"]]
        assert (d["viz"]["color"]["r"], d["viz"]["color"]["g"], d["viz"]["color"]["b"]) == tuple(
            int(c[i : i + 2], 16) for i in (1, 3, 5)
        )
        pr = snap[node]["pagerank"] if node in snap else 0.0
        want = VIZ_SIZE_MIN + (VIZ_SIZE_MAX - VIZ_SIZE_MIN) * (pr / top) ** 0.5
        assert d["viz"]["size"] == pytest.approx(want, abs=1e-3)
    assert g.nodes["ana"]["label"] == "Ana Alves" and g.nodes["ben"]["label"] == "ben"  # directory names for Gephi
    biggest = max(g.nodes, key=lambda n: g.nodes[n]["viz"]["size"])
    assert biggest == max(snap, key=lambda a: snap[a]["pagerank"]) and g.nodes[biggest]["viz"]["size"] == VIZ_SIZE_MAX


def test_export_window_must_be_stored_or_configured(env: tuple) -> None:
    from valuenet.analytics.exports import check_window

    _, reader, _, _ = env
    assert check_window(reader, NET, None) == "1h"
    assert check_window(reader, NET, "24h") == "24h"
    assert check_window(reader, NET, "7d", ["1h", "7d"]) == "7d"  # configured, not stored yet: allowed
    with pytest.raises(ExportError, match="stored windows for network 'acme': 1h, 24h"):
        check_window(reader, NET, "365d", ["1h"])
    with pytest.raises(ExportError, match="no metric snapshots yet"):
        check_window(reader, "nobody", "1h")


def test_a_bad_export_schedule_is_refused_with_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    cfg = tmp_path / "valuenet.toml"
    cfg.write_text(
        '[[exports]]\ncron = "0 * * * *"\nwhat = "actors"\nformat = "csv"\n\n[[exports]]\ncron = "x"\nwhat = "graph"\nformat = "gexf"\n'
    )
    monkeypatch.setenv("VALUENET_CONFIG", str(cfg))
    with pytest.raises(ValidationError, match=r"exports\.1\.cron[\s\S]*cron expression 'x' is not valid"):
        Settings()
    cfg.write_text('[[exports]]\ncron = "0 * * * *"\nwhat = "actors"\nformat = "gexf"\n')
    with pytest.raises(ValidationError, match="export 'actors' cannot be written as 'gexf'"):
        Settings()
