"""API tests: every endpoint against a chdb store seeded with real model rows, bad params, bad tokens."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import networkx as nx
import pytest
from fastapi.testclient import TestClient

from valuenet.config import Settings
from valuenet.schemas import ActorMetrics, Alert, Flow, NetworkMetrics, SegmentFlow
from valuenet.web.app import create_app
from valuenet.web.auth import InsecureBindError

NET = "acme"
BASE = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)  # window_end of every snapshot
WINDOWS = ("1h", "24h")
SEGMENT = {
    "ana": ("workforce", "platform"),
    "ben": ("workforce", "platform"),
    "eve": ("workforce", "platform"),
    "cai": ("workforce", "support"),
    "dee": ("workforce", "support"),
    "fay": ("workforce", "support"),
    "pat": ("partner", None),
    "pia": ("partner", None),
    "cu1": ("customer", None),
    "cu2": ("customer", None),
    "cu3": ("customer", None),
    "cu4": ("customer", None),
    "cu5": ("customer", None),
    "inf1": ("influencer", None),
    "inf2": ("influencer", None),
}
NAMES = {"ana": "Ana Alves", "inf1": "Ivy Influence", "cu1": "Carla Customer"}
TOKEN = "s3cret-token-of-at-least-32-characters"  # beyond loopback a token needs 32 characters or more


def flow(
    eid: str,
    giver: str,
    receiver: str | None,
    ftype: str,
    kind: str,
    minutes_ago: float,
    parent: str | None = None,
    followers: int | None = None,
) -> Flow:
    """One Flow of the seed network."""
    gs, gt = SEGMENT[giver]
    rs, rt = SEGMENT[receiver] if receiver else ("unknown", None)
    return Flow(
        event_id=eid,
        network=NET,
        source="synth",
        kind=kind,
        timestamp=BASE - timedelta(minutes=minutes_ago),
        giver=giver,
        receiver=receiver,
        giver_segment=gs,
        receiver_segment=rs,
        giver_team=gt,
        receiver_team=rt,
        flow_type=ftype,
        confidence=0.9,
        reason="seed",
        parent_id=parent,
        giver_followers=followers,
    )


def seed_flows() -> list[Flow]:
    """Knowledge, idea and reputation flows plus one two-hop repost cascade of inf1's post."""
    f = [
        flow("k1", "ana", "cu1", "knowledge", "reply", 50),
        flow("k2", "ana", "cu2", "knowledge", "reply", 45),
        flow("k3", "ben", "cu1", "knowledge", "reply", 40),
        flow("k4", "cai", "cu3", "knowledge", "reply", 35),
        flow("k5", "cai", "cu4", "knowledge", "reply", 30),
        flow("k6", "dee", "cu5", "knowledge", "reply", 25),
        flow("k7", "ana", "ben", "knowledge", "review", 20),
        flow("k8", "ben", "ana", "knowledge", "review", 19),
        flow("k9", "eve", "cai", "knowledge", "help", 18),
        flow("k10", "fay", "dee", "knowledge", "help", 17),
        flow("i1", "cu1", "ana", "idea", "suggestion", 48),
        flow("i2", "cu2", "ben", "idea", "suggestion", 44),
        flow("i3", "pat", "eve", "idea", "suggestion", 33),
        flow("i4", "pia", "ana", "idea", "suggestion", 22),
        flow("r1", "cu3", "cai", "reputation", "reaction", 12),
        flow("r2", "ben", "ana", "reputation", "approve", 11),
        flow("p-inf1", "inf1", None, "none", "post", 15, followers=10000),
        flow("r-cu1", "cu1", "inf1", "reputation", "repost", 14, "p-inf1"),
        flow("r-cu2", "cu2", "inf1", "reputation", "repost", 13, "p-inf1"),
        flow("r-cu3", "cu3", "inf1", "reputation", "repost", 9, "p-inf1"),
        flow("r-inf2", "inf2", "inf1", "reputation", "repost", 8, "p-inf1", followers=5000),
        flow("r-cu4", "cu4", "inf2", "reputation", "repost", 6, "r-inf2"),
        flow("q-cu5", "cu5", "cu1", "reputation", "quote", 5, "r-cu1"),
        flow("old1", "ana", "cu1", "knowledge", "reply", 180),  # in 24h, not in 1h
        flow("old2", "pat", "ana", "idea", "suggestion", 600),
    ]
    return f


def in_window(flows: list[Flow], window: str) -> list[Flow]:
    """Flows of one window ending at BASE."""
    span = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}[window]
    return [x for x in flows if BASE - span < x.timestamp <= BASE]


@dataclass
class Seed:
    """Everything written to the store, kept for expected values."""

    flows: list[Flow]
    actors: list[ActorMetrics] = field(default_factory=list)
    network: list[NetworkMetrics] = field(default_factory=list)
    tunnels: list[SegmentFlow] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    ticks: list[datetime] = field(default_factory=list)


def snapshot(seed: Seed, computed_at: datetime, reach_inf1: int, tick_s: float) -> None:
    """Append one tick's snapshots (both windows) computed from the seed flows."""
    for w in WINDOWS:
        fl = [x for x in in_window(seed.flows, w) if x.receiver and x.flow_type != "none"]
        g = nx.DiGraph()
        strength: dict[str, Counter] = defaultdict(Counter)
        for x in fl:
            ft = x.flow_type.value
            strength[x.giver][f"out_{ft}"] += 1
            strength[x.receiver][f"in_{ft}"] += 1
            wgt = g.get_edge_data(x.giver, x.receiver, {"weight": 0})["weight"]
            g.add_edge(x.giver, x.receiver, weight=wgt + 1)
        pr = nx.pagerank(g, weight="weight")
        for a in sorted(g.nodes):
            s = strength[a]
            out_t, in_t = (
                sum(v for k, v in s.items() if k.startswith("out")),
                sum(v for k, v in s.items() if k.startswith("in")),
            )
            seed.actors.append(
                ActorMetrics(
                    network=NET,
                    window=w,
                    computed_at=computed_at,
                    window_end=BASE,
                    actor=a,
                    segment=SEGMENT[a][0],
                    pagerank=pr[a],
                    give_get_balance=(out_t - in_t) / (out_t + in_t),
                    reach=reach_inf1 if a == "inf1" else (1 if a == "inf2" else 0),
                    potential_reach=10000 if a == "inf1" else 0,
                    **{k: float(v) for k, v in s.items()},
                )
            )
        per_type = Counter(x.flow_type.value for x in fl)
        span = 3600 if w == "1h" else 86400
        seed.network.append(
            NetworkMetrics(
                network=NET,
                window=w,
                computed_at=computed_at,
                window_end=BASE,
                actors=g.number_of_nodes(),
                edges=g.number_of_edges(),
                density=nx.density(g),
                reciprocity=nx.reciprocity(g),
                flows_per_s_knowledge=per_type["knowledge"] / span,
                flows_per_s_idea=per_type["idea"] / span,
                flows_per_s_reputation=per_type["reputation"] / span,
                responsiveness_median_s=300.0,
                responsiveness_p90_s=900.0,
                idea_pickup_share=0.5,
                idea_pickup_median_s=1200.0,
                readiness_index=0.62,
                tick_seconds=tick_s,
            )
        )
        pairs: dict[tuple[str, str], Counter] = defaultdict(Counter)
        actor_pairs: dict[tuple[str, str], set] = defaultdict(set)
        for x in fl:
            key = (x.giver_segment.value, x.receiver_segment.value)
            pairs[key][x.flow_type.value] += 1
            actor_pairs[key].add((x.giver, x.receiver))
        for (src, dst), c in sorted(pairs.items()):
            seed.tunnels.append(
                SegmentFlow(
                    network=NET,
                    window=w,
                    computed_at=computed_at,
                    window_end=BASE,
                    src_segment=src,
                    dst_segment=dst,
                    knowledge=c["knowledge"],
                    idea=c["idea"],
                    reputation=c["reputation"],
                    actor_pairs=len(actor_pairs[(src, dst)]),
                )
            )
    seed.ticks.append(computed_at)


def build_seed() -> Seed:
    """Three ticks (inf1's reach 2 → 4 → 6) and two alerts."""
    seed = Seed(flows=seed_flows())
    for i, reach in enumerate((2, 4, 6)):
        snapshot(seed, BASE + timedelta(seconds=5 * (i + 1), milliseconds=250), reach, 0.1 + 0.01 * i)
    seed.alerts = [
        Alert(
            network=NET,
            window="1h",
            raised_at=BASE + timedelta(seconds=6),
            kind="silo_forming",
            subject="support",
            value=-0.8,
            threshold=-0.5,
            message="support team talks only to itself",
        ),
        Alert(
            network=NET,
            window="1h",
            raised_at=BASE + timedelta(seconds=16),
            kind="reach_spike",
            subject="inf1",
            value=6,
            threshold=3,
            message="inf1 reach tripled",
        ),
    ]
    return seed


def write_seed(store, seed: Seed) -> None:
    """Write the seed through the store's own model path."""
    store.write_models("flows", seed.flows)
    store.write_models("actor_metrics", seed.actors)
    store.write_models("network_metrics", seed.network)
    store.write_models("segment_flows", seed.tunnels)
    store.write_models("alerts", seed.alerts)
    store.write(
        "directory",
        [
            {
                "network": NET,
                "actor": a,
                "display_name": n,
                "segment": SEGMENT[a][0],
                "team": SEGMENT[a][1],
                "organisation": None,
                "updated_at": BASE,
            }
            for a, n in NAMES.items()
        ],
    )


def web_settings(tmp: Path, **kw) -> Settings:
    """Settings for the tests: chdb under ``tmp``, two windows, network acme."""
    return Settings(home=tmp, chdb_path=tmp / "chdb", network=NET, windows=WINDOWS, **kw)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(settings, store, seed): one chdb store per module (chdb allows one directory per process)."""
    from valuenet.analytics.storage import open_store

    tmp = tmp_path_factory.mktemp("web")
    settings = web_settings(tmp)
    store = open_store(settings)
    seed = build_seed()
    write_seed(store, seed)
    yield settings, store, seed
    store.close()


@pytest.fixture(scope="module")
def client(seeded: tuple) -> Iterator[TestClient]:
    """TestClient on an app over the seeded store (feed from the store poller only)."""
    settings, store, _ = seeded
    with TestClient(create_app(settings, store, kafka=False, feed_poll_seconds=3600)) as c:
        yield c


def latest(rows: list, window: str) -> list:
    """Rows of the newest tick of one window."""
    t = max(r.computed_at for r in rows if r.window == window)
    return [r for r in rows if r.window == window and r.computed_at == t]


# -- endpoints ----------------------------------------------------------------------------


def test_healthz_and_openapi_list_every_endpoint(client: TestClient) -> None:
    assert client.get("/healthz").json()["store"] is True
    paths = set(client.get("/openapi.json").json()["paths"])
    for p in (
        "/api/networks",
        "/api/actors",
        "/api/actors/{actor}",
        "/api/metrics/network",
        "/api/metrics/actors",
        "/api/tunnels",
        "/api/reach",
        "/api/reach/leaderboard",
        "/api/cascade/{event_id}",
        "/api/alerts",
        "/api/flows/timeline",
        "/api/graph",
        "/api/valuemap",
        "/api/feed",
        "/metrics",
    ):
        assert p in paths
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_networks(client: TestClient, seeded: tuple) -> None:
    body = client.get("/api/networks").json()
    assert body["default"] == NET and body["windows"] == list(WINDOWS)
    (net,) = body["networks"]
    assert net["network"] == NET and net["windows"] == ["1h", "24h"]
    assert net["last_tick"] == seeded[2].ticks[-1].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_actor_search_by_id_and_display_name(client: TestClient) -> None:
    ids = [a["actor"] for a in client.get("/api/actors", params={"q": "cu"}).json()["actors"]]
    assert sorted(ids) == ["cu1", "cu2", "cu3", "cu4", "cu5"]
    (hit,) = client.get("/api/actors", params={"q": "ALVES"}).json()["actors"]
    assert hit["actor"] == "ana" and hit["name"] == "Ana Alves" and hit["segment"] == "workforce"


def test_actor_page_history_and_ego_network(client: TestClient, seeded: tuple) -> None:
    seed = seeded[2]
    body = client.get("/api/actors/ana", params={"window": "1h"}).json()
    want = next(a for a in latest(seed.actors, "1h") if a.actor == "ana")
    assert body["latest"]["pagerank"] == pytest.approx(want.pagerank)
    assert body["latest"]["out_knowledge"] == 3.0 and body["latest"]["in_idea"] == 2.0
    assert len(body["history"]) == 3
    node_ids = {n["id"] for n in body["ego"]["nodes"]}
    assert node_ids == {"ana", "ben", "cu1", "cu2", "pia"}
    pairs = {(e["source"], e["target"], e["type"]) for e in body["ego"]["edges"]}
    assert ("ben", "cu1", "knowledge") in pairs  # an edge among neighbours
    assert ("cai", "cu3", "knowledge") not in pairs
    assert client.get("/api/actors/nobody").status_code == 404


def test_network_metrics_latest_and_history(client: TestClient, seeded: tuple) -> None:
    seed = seeded[2]
    body = client.get("/api/metrics/network", params={"window": "1h", "history": 10}).json()
    (m,) = body["metrics"]
    (want,) = latest(seed.network, "1h")
    assert m["actors"] == want.actors and m["edges"] == want.edges
    assert m["flows_per_s_knowledge"] == pytest.approx(10 / 3600)
    assert m["density"] == pytest.approx(want.density)
    assert [h["tick_seconds"] for h in body["history"]] == pytest.approx([0.1, 0.11, 0.12])
    both = client.get("/api/metrics/network").json()["metrics"]
    assert [m["window"] for m in both] == ["1h", "24h"]
    assert both[1]["actors"] > 0


def test_top_actors_by_metric(client: TestClient) -> None:
    rows = client.get("/api/metrics/actors", params={"metric": "out_knowledge", "limit": 3, "window": "1h"}).json()[
        "actors"
    ]
    assert [r["actor"] for r in rows][0] == "ana" and rows[0]["out_knowledge"] == 3.0
    assert [r["out_knowledge"] for r in rows] == sorted((r["out_knowledge"] for r in rows), reverse=True)
    day = client.get("/api/metrics/actors", params={"metric": "out_knowledge", "limit": 1, "window": "24h"}).json()
    assert day["actors"][0]["out_knowledge"] == 4.0  # old1 is in 24h only
    cust = client.get("/api/metrics/actors", params={"metric": "reach", "segment": "influencer"}).json()["actors"]
    assert [r["actor"] for r in cust] == ["inf1", "inf2"]


def test_tunnels_matrix(client: TestClient, seeded: tuple) -> None:
    body = client.get("/api/tunnels", params={"window": "1h"}).json()
    segs = body["segments"]
    wf, cu = segs.index("workforce"), segs.index("customer")
    assert body["matrix"][wf][cu] == 6  # six answers to customers
    assert body["matrix"][cu][wf] == 3  # two ideas and one like
    row = next(t for t in body["tunnels"] if t["src_segment"] == "workforce" and t["dst_segment"] == "customer")
    assert row["knowledge"] == 6 and row["actor_pairs"] == 6


def test_reach_of_one_actor_with_trend_and_posts(client: TestClient) -> None:
    body = client.get("/api/reach", params={"actor": "inf1", "window": "1h"}).json()
    assert body["latest"]["reach"] == 6 and body["latest"]["potential_reach"] == 10000
    assert [p["reach"] for p in body["trend"]] == [2, 4, 6]
    assert body["posts"][0]["event_id"] == "p-inf1" and body["posts"][0]["responses"] == 4
    assert client.get("/api/reach", params={"actor": "ghost"}).status_code == 404


def test_reach_leaderboard(client: TestClient) -> None:
    leaders = client.get("/api/reach/leaderboard", params={"window": "1h", "limit": 2}).json()["leaders"]
    assert [l["actor"] for l in leaders] == ["inf1", "inf2"]
    assert leaders[0]["trend"] == [2, 4, 6] and leaders[0]["delta"] == 4 and leaders[0]["name"] == "Ivy Influence"


def test_cascade(client: TestClient) -> None:
    body = client.get("/api/cascade/p-inf1").json()
    assert body["author"] == "inf1" and body["reach"] == 6 and body["depth"] == 2
    assert body["per_depth"] == [{"depth": 1, "events": 4}, {"depth": 2, "events": 2}]
    spread = {(e["from"], e["giver"]) for e in body["events"]}
    assert ("inf2", "cu4") in spread and ("cu1", "cu5") in spread
    sub = client.get("/api/cascade/r-cu1").json()
    assert sub["reach"] == 1 and sub["author"] == "cu1"
    assert client.get("/api/cascade/nothing-here").status_code == 404
    # a Bluesky post id holds slashes: the route still takes it whole (escaped by the page as %2F)
    bsky = "at://did:plc:abc/app.bsky.feed.post/3n3l"
    miss = client.get("/api/cascade/" + bsky.replace(":", "%3A").replace("/", "%2F"))
    assert miss.status_code == 404 and bsky in miss.json()["detail"]


def test_alerts_newest_first(client: TestClient) -> None:
    alerts = client.get("/api/alerts").json()["alerts"]
    assert [a["kind"] for a in alerts] == ["reach_spike", "silo_forming"]
    assert alerts[0]["raised_at"] == "2024-05-01T12:00:16Z"


def test_alerts_show_the_display_name_beside_the_subject(client: TestClient) -> None:
    spike, silo = client.get("/api/alerts").json()["alerts"]
    assert (spike["subject"], spike["name"]) == ("inf1", "Ivy Influence")  # the directory's name
    assert spike["message"] == "Ivy Influence (inf1) reach tripled"
    assert silo["name"] is None and silo["message"] == "support team talks only to itself"  # not an actor


def test_flow_timeline_matches_clickhouse(client: TestClient, seeded: tuple) -> None:
    store = seeded[1]
    body = client.get("/api/flows/timeline", params={"window": "1h", "bucket": "10m"}).json()
    got = Counter()
    for b in body["buckets"]:
        for t in ("knowledge", "idea", "reputation"):
            got[t] += b[t]
    rows = store.query(
        "SELECT toString(flow_type) AS t, count() AS n FROM flows FINAL WHERE network = %(n)s AND timestamp > %(s)s "
        "AND timestamp <= %(e)s AND flow_type != 'none' GROUP BY t",
        {"n": NET, "s": (BASE - timedelta(hours=1)).replace(tzinfo=None), "e": BASE.replace(tzinfo=None)},
    )
    assert dict(got) == {r["t"]: r["n"] for r in rows} == {"knowledge": 10, "idea": 4, "reputation": 8}
    assert body["bucket_seconds"] == 600 and all(b["t"].endswith("0:00Z") for b in body["buckets"])


def test_graph_filters(client: TestClient, seeded: tuple) -> None:
    body = client.get("/api/graph", params={"window": "1h", "type": "idea"}).json()
    assert {e["type"] for e in body["edges"]} == {"idea"}
    assert {(e["source"], e["target"]) for e in body["edges"]} == {
        ("cu1", "ana"),
        ("cu2", "ben"),
        ("pat", "eve"),
        ("pia", "ana"),
    }
    ana = next(n for n in body["nodes"] if n["id"] == "ana")
    assert ana["segment"] == "workforce" and ana["team"] == "platform" and ana["strength"] == 2
    both = client.get(
        "/api/graph",
        params=[("window", "1h"), ("type", "knowledge,reputation"), ("segment", "workforce"), ("segment", "customer")],
    ).json()
    segs = {n["segment"] for n in both["nodes"]}
    assert segs == {"workforce", "customer"}
    assert sum(e["weight"] for e in both["edges"]) == 10 + 3  # knowledge + cu3→cai, ben→ana, cu5→cu1
    limited = client.get("/api/graph", params={"window": "1h", "limit": 2}).json()
    assert len(limited["edges"]) == 2 and limited["total_edges"] > 2


def test_valuemap_formats(client: TestClient) -> None:
    svg = client.get("/api/valuemap", params={"format": "svg", "window": "1h"})
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.lstrip().startswith("<svg")
    assert 'data-role="workforce/support"' in svg.text
    dot = client.get("/api/valuemap", params={"format": "dot", "window": "1h"}).text
    assert '"workforce/support" -> "customer" [label="knowledge 3"' in dot
    mer = client.get("/api/valuemap", params={"format": "mermaid", "window": "1h"}).text
    assert mer.startswith("flowchart LR")
    js = client.get("/api/valuemap", params={"format": "json", "window": "1h", "teams": False}).json()
    ex = {(e["src"], e["dst"], e["flow_type"]): e["flows"] for e in js["exchanges"]}
    assert ex[("workforce", "customer", "knowledge")] == 6 and ex[("customer", "influencer", "reputation")] == 4


def test_prometheus_metrics(client: TestClient, seeded: tuple) -> None:
    text = client.get("/metrics").text
    assert 'valuenet_tick_seconds{network="acme",window="1h"} 0.12' in text
    assert f'valuenet_store_rows{{table="flows"}} {len(seeded[2].flows)}.0' in text
    assert "valuenet_kafka_up 0.0" in text and "valuenet_store_up 1.0" in text


@pytest.mark.parametrize(
    "url, params, field",
    [
        ("/api/metrics/actors", {"metric": "bogus"}, "metric"),
        ("/api/metrics/actors", {"limit": 0}, "limit"),
        ("/api/metrics/actors", {"segment": "aliens"}, "segment"),
        ("/api/metrics/network", {"window": "2h"}, "window"),
        ("/api/tunnels", {"window": "'; DROP TABLE flows"}, "window"),
        ("/api/reach", {}, "actor"),
        ("/api/flows/timeline", {"bucket": "abc"}, "bucket"),
        ("/api/flows/timeline", {"bucket": "1s", "window": "24h"}, "bucket"),
        ("/api/graph", {"type": "gossip"}, "type"),
        ("/api/graph", {"segment": "aliens"}, "segment"),
        ("/api/graph", {"limit": "many"}, "limit"),
        ("/api/valuemap", {"format": "png"}, "format"),
        ("/api/actors", {"limit": 100000}, "limit"),
    ],
)
def test_bad_params_are_clear_422s(client: TestClient, url: str, params: dict, field: str) -> None:
    r = client.get(url, params=params)
    assert r.status_code == 422
    assert field in {d["loc"][-1] for d in r.json()["detail"]}


def test_feed_poller_announces_a_new_tick_once(client: TestClient, seeded: tuple) -> None:
    _, store, seed = seeded
    hub = client.app.state.feed
    q = hub.subscribe()
    try:
        t = BASE + timedelta(seconds=20)
        nm = latest(seed.network, "1h")[0].model_copy(update={"computed_at": t, "actors": 99})
        store.write_models("network_metrics", [nm])
        store.write_models("alerts", [seed.alerts[1].model_copy(update={"raised_at": t, "subject": "inf2"})])
        assert hub.poll_once() == 2 and hub.poll_once() == 0
        items = [q.get_nowait(), q.get_nowait()]
        tick = next(json.loads(i.data) for i in items if i.event == "tick")
        alert = next(json.loads(i.data) for i in items if i.event == "alert")
        assert tick["source"] == "store" and tick["computed_at"] == "2024-05-01T12:00:20Z"
        assert {m["window"]: m["actors"] for m in tick["network_metrics"]}["1h"] == 99
        assert alert["subject"] == "inf2"
        # the same tick arriving from Kafka later is not announced again
        from valuenet.schemas import MetricsEvent

        ev = MetricsEvent(type="tick", network=NET, computed_at=t, network_metrics=[nm])
        assert hub.handle_record(ev.model_dump_json().encode()) == "tick" and q.empty()
        assert hub.handle_record(b'{"type": "nonsense"}') is None and hub.bad_records == 1
    finally:
        hub.unsubscribe(q)


def test_live_counters_served_from_the_newest_live_record(client: TestClient, seeded: tuple) -> None:
    from valuenet.analytics.graph_store import GraphStore
    from valuenet.analytics.snapshot import live_event

    settings, _, seed = seeded
    hub = client.app.state.feed
    assert client.get("/api/metrics/live", params={"network": NET}).status_code == 404
    store = GraphStore.from_settings(settings, NET)
    flows = sorted(seed.flows, key=lambda f: f.timestamp)  # in event-time order: none is late
    store.add_many(flows[:10])
    older = live_event(store).model_dump_json().encode()
    store.add_many(flows[10:])
    assert hub.handle_record(live_event(store).model_dump_json().encode()) == "live"
    assert hub.handle_record(older) == "live"  # arrives late: an older watermark is not served
    body = client.get("/api/metrics/live", params={"network": NET}).json()
    assert [r["window"] for r in body["live"]] == list(WINDOWS)
    for row in body["live"]:
        start, end = (datetime.fromisoformat(row[k].replace("Z", "+00:00")) for k in ("window_start", "window_end"))
        inside = [f for f in seed.flows if start <= f.timestamp < end]
        for t in ("knowledge", "idea", "reputation", "none"):
            assert row[f"flows_{t}"] == sum(f.flow_type.value == t for f in inside), (row["window"], t)
        pairs = {
            (x["src_segment"], x["dst_segment"]): sum(x[t] for t in ("knowledge", "idea", "reputation", "none"))
            for x in row["tunnels"]
        }
        assert pairs[("influencer", None)] == 1  # inf1's post has no receiver
        assert sum(pairs.values()) == len(inside)
    assert body["watermark_ms"] == int(max(f.timestamp for f in seed.flows).timestamp() * 1000)
    one = client.get("/api/metrics/live", params={"network": NET, "window": "24h"}).json()["live"]
    assert [r["window"] for r in one] == ["24h"]
    assert client.get("/api/metrics/live", params={"network": NET, "window": "2h"}).status_code == 422


# -- auth -----------------------------------------------------------------------------------


def test_non_loopback_without_token_is_refused(seeded: tuple, tmp_path: Path) -> None:
    settings = web_settings(tmp_path, api_host="0.0.0.0")
    with pytest.raises(InsecureBindError, match="VALUENET_API_TOKEN"):
        create_app(settings, seeded[1], kafka=False)


def test_bearer_token_required_when_configured(seeded: tuple, tmp_path: Path) -> None:
    settings = web_settings(tmp_path, api_host="0.0.0.0", api_token=TOKEN)
    with TestClient(create_app(settings, seeded[1], kafka=False)) as c:
        assert c.get("/api/networks").status_code == 401
        assert c.get("/api/networks", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/networks", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        assert c.get("/metrics").status_code == 401
        assert c.get("/api/feed").status_code == 401
        ok = c.get("/api/networks", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["default"] == NET
        assert c.get("/healthz").json()["auth"] is True
        assert c.get("/").status_code == 200  # the page itself carries no data


# -- SSE over a real server -------------------------------------------------------------------


class LiveServer:
    """uvicorn on 127.0.0.1 in a thread (so it shares this process's chdb store)."""

    def __init__(self, app, port: int = 0) -> None:
        import socket

        import uvicorn

        if not port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def read_sse(lines: Iterator[str], want: int) -> list[tuple[str, dict]]:
    """Parse ``want`` SSE events (event name, JSON data) from the lines of a streaming response."""
    out, event, data = [], None, []
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            out.append((event, json.loads("\n".join(data))))
            event, data = None, []
            if len(out) >= want:
                break
    return out


def test_sse_feed_over_uvicorn(seeded: tuple) -> None:
    settings, store, seed = seeded
    app = create_app(settings, store, kafka=False, feed_poll_seconds=0.1)
    with LiveServer(app) as srv, httpx.Client(timeout=20) as http:
        with http.stream("GET", f"{srv.url}/api/feed", params={"network": NET}) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            lines = resp.iter_lines()
            hello = read_sse(lines, 1)[0]
            assert hello[0] == "hello" and hello[1]["network"] == NET
            assert hello[1]["tick"]["network_metrics"][0]["window"] == "1h"
            t = BASE + timedelta(seconds=40)
            nm = latest(seed.network, "1h")[0].model_copy(update={"computed_at": t, "actors": 123})
            store.write_models("network_metrics", [nm])
            ev, data = read_sse(lines, 1)[0]
        assert ev == "tick" and {m["window"]: m["actors"] for m in data["network_metrics"]}["1h"] == 123


def test_labels_store_an_analysts_correction(client: TestClient, seeded: tuple) -> None:
    from valuenet.schemas import Interaction

    _, store, _ = seeded
    it = Interaction(
        event_id="msg:C1:1.000",
        network=NET,
        source="slack",
        kind="post",
        timestamp=BASE,
        actor="slack:U1",
        text="how do I rotate the API keys?",
    )
    store.write_models("interactions", [it])
    r = client.post(
        "/api/labels", json={"network": NET, "event_id": it.event_id, "label": "knowledge", "labelled_by": "ana"}
    )
    assert r.status_code == 201 and r.json()["label"] == "knowledge"
    rows = store.query("SELECT label, labelled_by, text FROM labels FINAL WHERE event_id = %(e)s", {"e": it.event_id})
    assert [(x["label"], x["labelled_by"], x["text"]) for x in rows] == [("knowledge", "ana", it.text)]
    assert client.post("/api/labels", json={"network": NET, "event_id": "nope", "label": "idea"}).status_code == 404
    bad = client.post("/api/labels", json={"network": NET, "event_id": it.event_id, "label": "gossip"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "label"
