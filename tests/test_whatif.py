"""What-if, key-person risk and tunnels to dig, validated on the synthetic network's planted truth.

Synth seeds 3, 7 and 11 go through the real stage (parsers, identity directory, classifier) into
the same GraphStore window a tick computes; the planted brokers and silo teams come from truth.json.
Independent checks: a window recomputed by the tick from the flows without the removed actor,
and networkx reachability on the same graph.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.keyperson import KeyPersonAlerts, key_person_risk
from valuenet.analytics.metrics.engine import SEGMENTS, to_networkx
from valuenet.analytics.paths import hops
from valuenet.analytics.recommend import recommend
from valuenet.analytics.whatif import Change, WhatIfWindow, impact, load_window, segment_hops, with_tie
from valuenet.config import Settings
from valuenet.ingest.synth import SynthNetwork, write_dataset
from valuenet.pipeline.wiring import build_stage
from valuenet.schemas import Flow

SEEDS = (3, 7, 11)
WINDOW = "30d"  # the whole run (about a day of event time)


def _synth(out: Path, seed: int) -> tuple[dict, list[Flow]]:
    truth = write_dataset(SynthNetwork(seed=seed, actors=120, rate=0.05), out, 4000)
    stage = build_stage(Settings(directory_path=out / "directory.csv"))
    result = stage.process([line.encode() for line in (out / "events.jsonl").read_text().splitlines()])
    assert result.dead == []
    return truth, list(result.flows)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[dict, list[Flow], WhatIfWindow]]:
    out = {}
    for seed in SEEDS:
        truth, flows = _synth(tmp_path_factory.mktemp(f"whatif-{seed}"), seed)
        out[seed] = (truth, flows, load_window(flows, network="synth", window=WINDOW))
    return out


def _brokers(truth: dict) -> set[str]:
    return {f"person:{b['person']}" for b in truth["brokers"]}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_planted_broker_ranks_among_the_top3_key_persons(synth, seed: int) -> None:
    truth, _, w = synth[seed]
    ranked = [r["actor"] for r in key_person_risk(w.graph, limit=10)]
    assert _brokers(truth) & set(ranked[:3])
    # and removing the top one really cuts cross-segment exchange: workforce ↔ partner loses flows
    report = impact(w, Change(remove_actors=(ranked[0],)))
    cut = {(t["src"], t["dst"]): t["cut"] for t in report["tunnels"]}
    assert cut.get(("workforce", "partner"), 0) + cut.get(("partner", "workforce"), 0) > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_every_planted_silo_is_connected_by_a_top5_introduction(synth, seed: int) -> None:
    truth, _, w = synth[seed]
    recs = recommend(w, limit=5)["recommendations"]
    assert len(recs) == 5
    for silo in truth["silo_teams"]:
        members = {f"person:{p}" for p in truth["teams"][silo]}
        connecting = [r for r in recs if (r["actor_a"] in members) != (r["actor_b"] in members)]
        assert connecting, f"silo {silo}: no top-5 introduction connects it ({[r['group_a'] for r in recs]})"
        best = connecting[0]
        assert best["newly_reachable"] > 0
        assert best["reason"] and best["expected_effect"]
        # the effect is the impact analysis of that very tie: the silo's members now reach partners
        wf_partner = next(x for x in best["effect"]["reachability"] if (x["src"], x["dst"]) == ("workforce", "partner"))
        assert wf_partner["share_after"] > wf_partner["share_before"]


def test_removing_an_actor_without_ties_changes_nothing(synth) -> None:
    _, flows, _ = synth[11]
    # an actor with applied flows in the window but no tie: two posts without a receiver
    quiet = [
        flows[-1].model_copy(
            update={
                "event_id": f"quiet-{i}",
                "giver": "person:quiet",
                "receiver": None,
                "kind": "post",
                "giver_segment": "workforce",
                "giver_team": "support",
                "thread": None,
                "parent_id": None,
            }
        )
        for i in range(2)
    ]
    w = load_window(flows + quiet, network="synth", window=WINDOW)
    assert w.global_id("person:quiet") is not None and w.index("person:quiet") is None
    for actor in ("person:quiet", "person:nobody"):
        r = impact(w, Change(remove_actors=(actor,)))
        assert r["removed_actors"] == [] and r["not_in_window"] == [actor]
        assert r["before"] == r["after"]
        assert all(t["cut"] == 0 and t["before"] == t["after"] for t in r["tunnels"])
        assert all(
            x["share_before"] == x["share_after"] and x["hops_before"] == x["hops_after"] for x in r["reachability"]
        )
        assert r["relayed_pairs"] is None and r["influencers"] == []
        assert r["questions"]["first_by_removed"] == 0 and r["ideas"]["first_by_removed"] == 0


def test_removal_equals_the_tick_on_the_flows_without_the_actor(synth) -> None:
    truth, flows, w = synth[7]
    broker = sorted(_brokers(truth))[0]
    r = impact(w, Change(remove_actors=(broker,)))
    store = GraphStore("synth", windows=[WINDOW])
    store.add_many(f for f in flows if broker not in (f.giver, f.receiver))
    tick = store.tick().windows[0]
    nm = tick.network_metrics
    assert r["after"]["actors"] == nm["actors"] and r["after"]["edges"] == nm["edges"]
    assert r["after"]["readiness_index"] == pytest.approx(nm["readiness_index"])
    assert r["after"]["ei_index"] == pytest.approx(nm["ei_index"])
    after = {(t["src"], t["dst"]): t["after"] for t in r["tunnels"] if t["after"]}
    assert after == {(t.src, t.dst): t.knowledge + t.idea + t.reputation for t in tick.tunnel_rows}
    assert r["before"]["readiness_index"] == pytest.approx(w.result.network_metrics["readiness_index"])


def test_reachability_and_lost_pairs_agree_with_networkx(synth) -> None:
    truth, _, w = synth[3]
    broker = sorted(_brokers(truth))[0]
    r = impact(w, Change(remove_actors=(broker,)), max_sources=10_000)
    g = w.graph
    G = to_networkx(g)
    x = w.index(broker)
    H = G.copy()
    H.remove_node(x)
    H.remove_nodes_from([v for v in list(H) if H.degree(v) == 0])
    seg = {i: SEGMENTS[int(g.segment[i])] for i in range(g.n)}
    for row in r["reachability"]:
        a, b = row["src"], row["dst"]
        for graph, key in ((G, "share_before"), (H, "share_after")):
            src = [u for u in graph if seg[u] == a]
            ok = [u for u in src if any(seg[v] == b for v in nx.descendants(graph, u))]
            assert row[key] == pytest.approx(len(ok) / len(src) if src else 0.0), (a, b, key)
    pairs = {(u, v) for u in G.predecessors(x) for v in G.successors(x) if u != v}
    lost = sum(1 for u, v in pairs if not (u in H and v in H and nx.has_path(H, u, v)))
    assert r["relayed_pairs"]["pairs"] == len(pairs)
    assert r["relayed_pairs"]["lost"] == lost and r["relayed_pairs"]["rerouted"] == len(pairs) - lost


def test_outcomes_are_the_ticks_questions_with_their_answerers(synth) -> None:
    _, _, w = synth[11]
    delay, who = w.questions.first()
    answered = ~np.isnan(delay)
    nm = w.result.network_metrics
    assert answered.sum() > 10
    assert float(np.median(delay[answered])) == pytest.approx(nm["responsiveness_median_s"])
    assert float(np.percentile(delay[answered], 90)) == pytest.approx(nm["responsiveness_p90_s"])
    # removing the most frequent first answerer leaves each of its questions to the next answer, or none
    top = int(np.bincount(who[answered]).argmax())
    name = str(w.names_global[top])
    r = impact(w, Change(remove_actors=(name,)))
    q = r["questions"]
    assert q["first_by_removed"] == int((who == top).sum()) > 0
    assert q["still_answered"] + q["left_unanswered"] == q["first_by_removed"]
    assert r["after"]["questions_answered"] == r["before"]["questions_answered"] - q["left_unanswered"]


def test_adding_a_tie_and_merging_teams(synth) -> None:
    truth, _, w = synth[11]
    silo = truth["silo_teams"][0]
    other = next(t for t in truth["teams"] if t not in truth["silo_teams"] and t != "support")
    r = impact(w, Change(add_ties=((silo, other),)))
    assert len(r["added_ties"]) == 1 and r["after"]["edges"] == r["before"]["edges"] + 2
    assert r["after"]["readiness_terms"]["giant_share"] > r["before"]["readiness_terms"]["giant_share"]
    # merging two teams that exchange turns their flows internal: the team E-I term falls, no edge changes
    g = w.graph
    tot = g.total.tocoo()
    cross = (g.team[tot.row] >= 0) & (g.team[tot.col] >= 0) & (g.team[tot.row] != g.team[tot.col])
    i = int(np.argmax(np.where(cross, tot.data, 0)))
    a, b = g.team_names[g.team[tot.row[i]]], g.team_names[g.team[tot.col[i]]]
    m = impact(w, Change(merge_teams=((a, b),)))
    assert m["after"]["edges"] == m["before"]["edges"]
    assert m["after"]["readiness_terms"]["openness"] < m["before"]["readiness_terms"]["openness"]
    assert m["after"]["ei_index"] < m["before"]["ei_index"]
    with pytest.raises(ValueError, match="neither"):
        impact(w, Change(add_ties=(("person:nobody", other),)))


def test_key_person_alert_raised_once_while_a_tunnel_depends_on_one_actor(synth) -> None:
    truth, flows, _ = synth[7]
    store = GraphStore("synth", windows=[WINDOW])
    store.add_many(flows)
    result = store.tick()
    detector = KeyPersonAlerts()
    alerts = detector.check(result)
    assert alerts and all(a.kind == "key_person" and a.value >= 0.5 for a in alerts)
    assert _brokers(truth) & {a.subject for a in alerts}
    assert detector.check(result) == []  # already raised: not again while it holds


def test_api_answers_whatif_recommendations_and_key_persons_from_the_stored_flows(
    synth, chdb_store, monkeypatch
) -> None:
    from fastapi.testclient import TestClient

    from valuenet.analytics import whatif_runner
    from valuenet.web.app import create_app

    monkeypatch.setattr(whatif_runner, "PAGE_ROWS", 1000)  # the rows reach the child in several pages

    truth, flows, w = synth[11]
    chdb_store.write_models("flows", flows)
    settings = Settings(windows=[WINDOW])
    broker = sorted(_brokers(truth))[0]
    with TestClient(create_app(settings, chdb_store, kafka=False, feed_poll_seconds=3600)) as client:
        r = client.post("/api/whatif", json={"network": "synth", "window": WINDOW, "remove_actors": [broker]})
        assert r.status_code == 200, r.text
        doc = r.json()
        local = impact(w, Change(remove_actors=(broker,)))
        assert doc["removed_actors"] == [broker]
        assert doc["tunnels"] == local["tunnels"] and doc["reachability"] == local["reachability"]
        assert doc["summary"] == local["summary"] and doc["flows_loaded"] == len(flows)
        recs = client.get("/api/recommendations", params={"network": "synth", "window": WINDOW}).json()
        assert [(x["actor_a"], x["actor_b"]) for x in recs["recommendations"]] == [
            (x["actor_a"], x["actor_b"]) for x in recommend(w)["recommendations"]
        ]
        kp = client.get("/api/keyperson", params={"network": "synth", "window": WINDOW, "limit": 3}).json()
        assert [a["actor"] for a in kp["actors"]] == [a["actor"] for a in key_person_risk(w.graph, limit=3)]
        assert kp["window_load_seconds"] == 0.0  # the child kept the window: no rebuild for the same flows
        silos = client.get("/api/silos", params={"network": "synth", "window": WINDOW}).json()
        assert silos["silos"] == sorted(truth["silo_teams"]) and len(silos["groups"]) == len(truth["teams"])
        bad = client.post("/api/whatif", json={"network": "synth", "window": WINDOW})
        assert bad.status_code == 422
        bad = client.post("/api/whatif", json={"network": "synth", "window": WINDOW, "add_ties": [["nobody", broker]]})
        assert bad.status_code == 422 and "nobody" in bad.text
        assert bad.json()["detail"][0]["loc"] == ["body", "add_ties"]
        missing = client.post("/api/whatif", json={"network": "elsewhere", "window": WINDOW, "remove_actors": ["x"]})
        assert missing.status_code == 404


@pytest.mark.server
def test_cli_whatif_and_recommend_on_a_clickhouse_server(synth, server_store, clickhouse_url, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from valuenet.analytics.storage.server_store import with_database
    from valuenet.cli import app
    from valuenet.config import get_settings

    truth, flows, w = synth[3]
    server_store.write_models("flows", flows)
    monkeypatch.setenv("CLICKHOUSE_URL", with_database(clickhouse_url, server_store.database))
    monkeypatch.setenv("VALUENET_NETWORK", "synth")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        broker = sorted(_brokers(truth))[0]
        r = runner.invoke(app, ["whatif", "--remove", broker, "--window", WINDOW, "--json"])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.output)
        assert doc["tunnels"] == impact(w, Change(remove_actors=(broker,)))["tunnels"]
        r = runner.invoke(app, ["recommend", "--window", WINDOW])
        assert r.exit_code == 0, r.output
        silo = truth["silo_teams"][0]
        assert f"workforce/{silo}" in r.output and "why:" in r.output
        r = runner.invoke(app, ["keyperson", "--window", WINDOW, "--limit", "3"])
        assert r.exit_code == 0, r.output
        top3 = [line for line in r.output.splitlines() if line.count("│") >= 5][:3]  # the table's body rows
        assert any(b in row for row in top3 for b in _brokers(truth)), r.output
        r = runner.invoke(app, ["silos", "--window", WINDOW, "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["silos"] == sorted(truth["silo_teams"])
        r = runner.invoke(app, ["silos", "--window", WINDOW])
        assert r.exit_code == 0 and "silos by evidence" in r.output and truth["silo_teams"][0] in r.output
        r = runner.invoke(app, ["whatif", "--window", WINDOW])
        assert r.exit_code != 0
    finally:
        get_settings.cache_clear()


def test_one_tie_distance_update_equals_a_new_search(synth) -> None:
    import scipy.sparse as sp

    truth, _, w = synth[7]
    g = w.graph
    rev = g.total.T.tocsr()
    base = segment_hops(g)
    silo = {f"person:{p}" for p in truth["teams"][truth["silo_teams"][0]]}
    u = next(i for i, n in enumerate(g.names.tolist()) if n in silo)
    for x in (0, g.n // 2, g.n - 1):
        if x == u:
            continue
        fast = with_tie(base, hops(rev, np.array([u])), hops(rev, np.array([x])), u, x)
        tied = replace_total(g, sp.csr_matrix(([1.0, 1.0], ([u, x], [x, u])), shape=(g.n, g.n)))
        slow = segment_hops(tied)
        assert all(np.array_equal(fast[b], slow[b]) for b in base)
        assert any((fast[b] >= 0).sum() > (base[b] >= 0).sum() for b in base)  # the silo reaches more


def replace_total(g, add):
    from dataclasses import replace

    layers = dict(g.layers)
    layers["knowledge"] = (layers["knowledge"] + add).tocsr()
    return replace(g, layers=layers)


def test_reader_pages_of_stored_flows_equal_one_read(synth, store) -> None:
    from valuenet.analytics.storage.reader import Reader

    _, flows, _ = synth[3]
    store.write_models("flows", flows)
    reader = Reader(store)
    whole = [r["event_id"] for r in reader.flows_since("synth", 0)]
    paged: list[str] = []
    while page := reader.flows_since("synth", 0, 700, len(paged)):
        paged += [r["event_id"] for r in page]
    assert paged == whole and len(whole) == len(flows)
