"""Headless Chromium (Debian's, via Playwright) on the live dashboard while metric ticks stream.

Ticks reach the page through the store poller (snapshots written to chdb) and through Kafka
(MetricsEvent records produced to ``valuenet.metrics`` on the real broker). The page's numbers
must change and agree with the API. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.test_api import BASE, NET, LiveServer, Seed, build_seed, latest, web_settings, write_seed
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.snapshot import live_event
from valuenet.config import TOPIC_METRICS
from valuenet.schemas import MetricsEvent
from valuenet.web.app import create_app

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = dict(
    executable_path="/usr/bin/chromium",
    headless=True,
    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
)


def next_tick(store, seed: Seed, i: int) -> tuple:
    """Write tick ``i`` (actors + i, knowledge rate + i/3600, inf1 reach 6 + i) to the store; return its rows."""
    t = BASE + timedelta(minutes=1, seconds=5 * i)
    nm = [
        m.model_copy(
            update={
                "computed_at": t,
                "actors": m.actors + i,
                "flows_per_s_knowledge": m.flows_per_s_knowledge + i / 3600,
                "reciprocity": m.reciprocity + 0.01 * i,
                "questions": 10 + i,
                "questions_answered": 9,
                "ideas": 4,
                "ideas_picked_up": 3,
            }
        )
        for m in seed.network[-2:]
    ]
    am = [
        a.model_copy(update={"computed_at": t, "reach": a.reach + i if a.actor == "inf1" else a.reach})
        for w in ("1h", "24h")
        for a in latest(seed.actors, w)
    ]
    tu = [
        x.model_copy(update={"computed_at": t, "knowledge": x.knowledge + i})
        for w in ("1h", "24h")
        for x in latest(seed.tunnels, w)
    ]
    store.write_models("actor_metrics", am)
    store.write_models("segment_flows", tu)
    store.write_models("network_metrics", nm)
    return t, nm, am, tu


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(**CHROMIUM)
        yield b
        b.close()


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[tuple]:
    """(settings, store, seed) with Kafka pointed at the test broker."""
    from valuenet.analytics.storage import open_store

    tmp = tmp_path_factory.mktemp("browser")
    settings = web_settings(tmp, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    store = open_store(settings)
    seed = build_seed()
    write_seed(store, seed)
    yield settings, store, seed
    store.close()


def kpis(page) -> dict:
    """The raw values behind the overview's numbers."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[id^=kpi-],[id^=rate-]')]
        .map(e => [e.id, e.dataset.value === undefined || e.dataset.value === '' ? null : Number(e.dataset.value)]))""")


def wait_value(page, selector: str, value: float, timeout_ms: int = 15000) -> None:
    """Wait until the element's data-value equals ``value``."""
    page.wait_for_function(
        "([s, v]) => { const e = document.querySelector(s); return e && Number(e.dataset.value) === v; }",
        arg=[selector, value],
        timeout=timeout_ms,
    )


def test_dashboard_follows_store_ticks_and_agrees_with_api(browser, seeded_store: tuple) -> None:
    settings, store, seed = seeded_store
    ARTIFACTS.mkdir(exist_ok=True)
    app = create_app(settings, store, kafka=False, feed_poll_seconds=0.2)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, timeout=20) as http:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(srv.url + "/")
        api = http.get("/api/metrics/network", params={"window": "1h"}).json()["metrics"][0]
        wait_value(page, "#kpi-actors", api["actors"])
        page.wait_for_selector("#tunnels td[data-value]")
        page.wait_for_selector("#live.on")
        before = kpis(page)
        assert before["kpi-edges"] == api["edges"] and before["kpi-density"] == pytest.approx(api["density"])
        assert before["rate-knowledge"] == pytest.approx(api["flows_per_s_knowledge"])
        page.screenshot(path=str(ARTIFACTS / "dashboard-overview-before.png"), full_page=True)

        for i in (1, 2, 3):
            _, nm, _, _ = next_tick(store, seed, i)
            wait_value(page, "#kpi-actors", nm[0].actors)
            now = kpis(page)
            api = http.get("/api/metrics/network", params={"window": "1h"}).json()["metrics"][0]
            assert now["kpi-actors"] == api["actors"] == before["kpi-actors"] + i
            assert now["rate-knowledge"] == pytest.approx(api["flows_per_s_knowledge"])
            assert now["kpi-reciprocity"] == pytest.approx(api["reciprocity"])
            # the counts behind responsiveness and idea pickup, beside them
            assert page.inner_text("#resp-count") == f"9 of {10 + i} customer questions answered"
            assert page.inner_text("#idea-count") == "3 of 4 ideas taken up"
        # the tunnel heat map refreshed too: workforce → customer knowledge grew by 3
        api_t = http.get("/api/tunnels", params={"window": "1h"}).json()
        wf, cu = api_t["segments"].index("workforce"), api_t["segments"].index("customer")
        page.wait_for_function(
            "v => Number(document.querySelector('#tunnels td[data-src=workforce][data-dst=customer]').dataset.value) === v",
            arg=api_t["matrix"][wf][cu],
            timeout=15000,
        )
        assert api_t["matrix"][wf][cu] == 6 + 3
        # each tunnel cell spells out its parts: "<n> knowledge", "<n> idea", "<n> reputation" (zeros left out)
        for r in api_t["tunnels"]:
            cell = f"#tunnels td[data-src={r['src_segment']}][data-dst={r['dst_segment']}] .part"
            want = [f"{r[t]:,} {t}" for t in ("knowledge", "idea", "reputation") if r[t]]
            assert page.locator(cell).all_inner_texts() == want
        # flow rates are labelled with their unit and say they are event-time rates
        assert "flows per minute" in page.inner_text("#rates-unit") and "event time" in page.inner_text("#rates-unit")
        page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)

        # graph view: as many actors as the API's graph
        page.click("a[data-tab=graph]")
        n_nodes = len(http.get("/api/graph", params={"window": "1h", "limit": 1500}).json()["nodes"])
        page.wait_for_function(
            "n => Number(document.querySelector('#graph-meta').dataset.nodes) === n", arg=n_nodes, timeout=15000
        )
        page.uncheck("#type-filters input[value=reputation]")
        idea_know = len(http.get("/api/graph", params={"window": "1h", "type": "knowledge,idea"}).json()["nodes"])
        page.wait_for_function(
            "n => Number(document.querySelector('#graph-meta').dataset.nodes) === n", arg=idea_know, timeout=15000
        )
        page.check("#type-filters input[value=reputation]")
        page.wait_for_function(
            "n => Number(document.querySelector('#graph-meta').dataset.nodes) === n", arg=n_nodes, timeout=15000
        )
        page.wait_for_timeout(2500)  # let the layout settle for the picture
        page.click("#zoom-fit")
        page.screenshot(path=str(ARTIFACTS / "dashboard-graph.png"))
        page.fill("#graph-search", "ana")
        page.screenshot(path=str(ARTIFACTS / "dashboard-graph-search.png"))

        # marketing view: leaderboard reach = API, drill into the cascade
        page.click("a[data-tab=marketing]")
        lead = http.get("/api/reach/leaderboard", params={"window": "1h"}).json()["leaders"][0]
        page.wait_for_selector("#leaderboard tr[data-actor=inf1]")
        shown = page.get_attribute("#leaderboard tr[data-actor=inf1] td[data-value]", "data-value")
        assert lead["actor"] == "inf1" and int(shown) == lead["reach"] == 6 + 3

        # the board ranks by the metric, in the API's order, and leaves out actors with none of it;
        # a click on another metric's header re-ranks by that metric
        def shown(col: int) -> list[float]:
            return [
                float(v)
                for v in page.locator(f"#leaderboard tr.click td:nth-child({col})").evaluate_all(
                    "tds => tds.map(td => td.dataset.value)"
                )
            ]

        for metric, col in (("reach", 3), ("potential_reach", 4)):
            if metric != "reach":
                page.click(f"#leaderboard th[data-metric={metric}]")
                page.wait_for_selector(f"#leaderboard th.sorted[data-metric={metric}]")
            ranked = http.get("/api/reach/leaderboard", params={"window": "1h", "metric": metric}).json()["leaders"]
            positive = [float(x[metric]) for x in ranked if x[metric] > 0]
            page.wait_for_function(
                "n => document.querySelectorAll('#leaderboard tr.click').length === n", arg=len(positive)
            )
            assert shown(col) == positive == sorted(positive, reverse=True)
            assert 0 < len(positive) < len(ranked)  # the API's zero rows are not ranked on the page
        assert shown(4) == [10000.0]
        page.click("#leaderboard th[data-metric=reach]")
        page.wait_for_selector("#leaderboard th.sorted[data-metric=reach]")
        page.click("#leaderboard tr[data-actor=inf1]")
        page.wait_for_selector(".posts div[data-event=p-inf1]")
        page.click(".posts div[data-event=p-inf1]")
        page.wait_for_selector("#cascade-svg circle")
        assert page.locator("#cascade-svg circle").count() == 1 + len(http.get("/api/cascade/p-inf1").json()["events"])
        page.screenshot(path=str(ARTIFACTS / "dashboard-marketing.png"), full_page=True)

        page.click("a[data-tab=valuemap]")
        page.wait_for_selector("#valuemap svg .vm-role")
        assert page.locator("#valuemap svg .vm-role").count() == len(
            http.get("/api/valuemap", params={"format": "json", "window": "1h"}).json()["roles"]
        )
        page.screenshot(path=str(ARTIFACTS / "dashboard-valuemap.png"), full_page=True)

        page.goto(srv.url + "/#actor/ana")
        page.wait_for_selector("#actor-body:not([hidden])")
        page.wait_for_timeout(1200)
        assert "Ana Alves" in page.inner_text("#actor-title")
        page.screenshot(path=str(ARTIFACTS / "dashboard-actor.png"), full_page=True)
        assert errors == []
        page.close()


@pytest.mark.kafka
def test_dashboard_follows_kafka_ticks(browser, seeded_store: tuple, kafka_bootstrap: str) -> None:
    from kafka import KafkaProducer

    settings, store, seed = seeded_store
    # the poller is effectively off: only valuenet.metrics can move the page
    app = create_app(settings, store, kafka=True, feed_poll_seconds=3600)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, timeout=20) as http:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(srv.url + "/")
        page.wait_for_selector("#live.on")
        page.wait_for_function("() => document.querySelector('#kpi-actors').dataset.value", timeout=15000)
        start = kpis(page)["kpi-actors"]
        hub = app.state.feed
        for _ in range(150):  # the consumer joins at the end of the topic; wait until it is assigned
            if hub.kafka_connected:
                break
            page.wait_for_timeout(100)
        assert hub.kafka_connected
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        try:
            for i in (10, 11):
                t, nm, am, tu = next_tick(store, seed, i)
                ev = MetricsEvent(
                    type="tick", network=NET, computed_at=t, network_metrics=nm, actors=am[:5], tunnels=tu
                )
                # keep producing until the page shows it (the consumer may still be seeking to the end)
                for _ in range(20):
                    producer.send(TOPIC_METRICS, key=NET.encode(), value=ev.model_dump_json().encode()).get(timeout=10)
                    try:
                        wait_value(page, "#kpi-actors", nm[0].actors, timeout_ms=1500)
                        break
                    except Exception:  # noqa: BLE001 - not shown yet: send again (the feed dedupes)
                        continue
                api = http.get("/api/metrics/network", params={"window": "1h"}).json()["metrics"][0]
                assert kpis(page)["kpi-actors"] == api["actors"] == nm[0].actors
            assert kpis(page)["kpi-actors"] != start and hub.published["tick"] >= 2
            # a live record (sent by the graph agent after every batch) moves the flow rates at once
            gs = GraphStore.from_settings(settings, NET)
            gs.add_many(sorted(seed.flows, key=lambda f: f.timestamp))
            live = live_event(gs)
            rate = next(r for r in live.live if r.window == "1h").flows_per_s_knowledge
            assert rate != kpis(page)["rate-knowledge"]
            for attempt in range(10):  # as for the ticks: send again until shown (a busy machine can be slow)
                producer.send(TOPIC_METRICS, key=NET.encode(), value=live.model_dump_json().encode()).get(timeout=10)
                try:
                    wait_value(page, "#rate-knowledge", rate, timeout_ms=3000)
                    break
                except Exception:  # not shown yet: send again
                    if attempt == 9:
                        raise
            assert "flows through" in page.text_content("#live-text")
            # /metrics reads the same broker: the metrics topic holds at least what we produced
            prom = http.get("/metrics").text
            assert "valuenet_kafka_up 1.0" in prom
            produced = next(
                float(line.split()[-1])
                for line in prom.splitlines()
                if line.startswith('valuenet_topic_records_total{topic="valuenet.metrics"}')
            )
            assert produced >= 2
            page.screenshot(path=str(ARTIFACTS / "dashboard-kafka.png"))
        finally:
            producer.close()
            page.close()


def test_graph_view_at_10k_actors_50k_edges(browser) -> None:
    """The graph view takes a 10,000-actor / 50,000-edge network, lays it out and focuses a searched actor.

    Prints the time to the first layout step and the frame times (measured, never asserted).
    """
    from benchmarks._graph_page import frame_times, graph_page_server, load_graph, random_graph

    graph = random_graph(10_000, 50_000, seed=3)
    with graph_page_server() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        stats = load_graph(page, graph, layout_wait_ms=1000)
        assert stats["nodes"] == 10_000 and stats["edges"] == 50_000
        assert stats["layoutIterations"] >= 1
        # the layout moved the actors apart: finite, distinct positions over a real area
        spread = page.evaluate("""() => { const xs = [], ys = [];
            window.vg.graph.forEachNode((n, a) => { xs.push(a.x); ys.push(a.y); });
            const ok = xs.every(Number.isFinite) && ys.every(Number.isFinite);
            return { ok, distinct: new Set(xs.map((x, i) => x.toFixed(3) + ',' + ys[i].toFixed(3))).size,
                     w: Math.max(...xs) - Math.min(...xs), h: Math.max(...ys) - Math.min(...ys) }; }""")
        assert spread["ok"] and spread["distinct"] == 10_000 and spread["w"] > 100 and spread["h"] > 100
        page.wait_for_function("() => !window.vg.layoutRunning", timeout=60_000)
        frames = frame_times(page, 2000, redraws=2)
        # search: every actor whose name contains "Actor 17" matches; the biggest one is focused with its neighbours
        matches = [n for n in graph["nodes"] if "actor 17" in n["name"].lower()]
        assert page.evaluate("() => window.vg.search('Actor 17')") == len(matches) == 111
        best = max(matches, key=lambda n: n["pagerank"])["id"]
        neighbours = {e["target"] for e in graph["edges"] if e["source"] == best} | {
            e["source"] for e in graph["edges"] if e["target"] == best
        }
        focus = page.evaluate("() => ({ primary: window.vg.primary, focus: [...window.vg.focus] })")
        assert focus["primary"] == best and set(focus["focus"]) == neighbours | {best}
        # the camera went to it: the focused actor is drawn near the middle of the view
        page.evaluate("() => window.vg.focusDone")  # the camera animation's promise
        xy = page.evaluate(
            "id => window.vg.renderer.framedGraphToViewport(window.vg.renderer.getNodeDisplayData(id))", best
        )
        assert abs(xy["x"] - 700) < 150 and abs(xy["y"] - 400) < 150
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "graph-10k-focus.png"))
        assert errors == []
        page.close()
    print(
        f"\ngraph view, 10,000 actors / 50,000 edges (software WebGL): setData {stats['setDataMs']:.0f} ms, "
        f"first layout {stats['firstLayoutMs']:.0f} ms, {stats['layoutIterations']} ForceAtlas2 iterations; "
        f"frame interval while moving median {frames['frameGapMedianMs']:.0f} ms (p95 {frames['frameGapP95Ms']:.0f}), "
        f"full redraw {frames['fullRedrawMedianMs']:.0f} ms"
    )
