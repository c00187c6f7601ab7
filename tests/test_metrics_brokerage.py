"""Burt's constraint / effective size and Gould–Fernandez brokerage roles against independent computations."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from tests._metrics_flows import SEGMENT_OF, by_name, flow, random_flows, store_with
from valuenet.analytics.metrics import brokerage


@pytest.fixture(scope="module")
def case():
    flows = random_flows(60, 900, span=3000, seed=5)
    w = store_with(flows, windows=["1h"]).tick().windows[0]
    inside = [
        f
        for f in flows
        if w.start <= f.timestamp.timestamp() < w.end
        and f.receiver not in (None, f.giver)
        and f.flow_type.value != "none"
    ]
    return inside, w


def test_constraint_and_effective_size_match_networkx(case) -> None:
    inside, w = case
    # independent: an undirected graph whose weight is the flow count in both directions
    G = nx.Graph()
    for f in inside:
        old = G.get_edge_data(f.giver, f.receiver, {"weight": 0})["weight"]
        G.add_edge(f.giver, f.receiver, weight=old + 1)
    # effective size with ``nodes=``: networkx 3.6's whole-graph sparse shortcut divides by the max of
    # the wrong axis (M[j,q] / max_k M[q,k]); the per-node path implements the documented formula
    want_c = nx.constraint(G, weight="weight")
    want_es = nx.effective_size(G, nodes=list(G), weight="weight")
    got_c, got_es = by_name(w, w.constraint), by_name(w, w.effective_size)
    assert set(got_c) == set(want_c)
    for actor in want_c:
        assert got_c[actor] == pytest.approx(want_c[actor], abs=1e-9)
        assert got_es[actor] == pytest.approx(want_es[actor], abs=1e-9)
    assert max(got_es.values()) > 5 and min(got_c.values()) < 0.2  # not a degenerate graph


def test_engines_agree_on_burt(case) -> None:
    _, w = case
    fast = brokerage.constraint_effective_size(w.graph, engine="fast")
    ref = brokerage.constraint_effective_size(w.graph, engine="networkx")
    for a, b in zip(fast, ref):
        assert np.allclose(a, b, rtol=0, atol=1e-9)


def _group(actor: str, team: str | None) -> tuple[str, str | None]:
    return SEGMENT_OF[actor[0]], team


def test_gould_fernandez_roles_match_brute_force(case) -> None:
    inside, w = case
    G = nx.DiGraph()
    group = {}
    for f in inside:
        G.add_edge(f.giver, f.receiver)
        group[f.giver] = _group(f.giver, f.giver_team)
        group[f.receiver] = _group(f.receiver, f.receiver_team)
    want = {b: [0] * 5 for b in G}
    for b in G:
        for a in G.predecessors(b):
            for c in G.successors(b):
                if a == c or G.has_edge(a, c):
                    continue
                ga, gb, gc = group[a], group[b], group[c]
                if ga == gb == gc:
                    want[b][0] += 1  # coordinator
                elif ga != gb and gb == gc:
                    want[b][1] += 1  # gatekeeper
                elif ga == gb and gc != gb:
                    want[b][2] += 1  # representative
                elif ga == gc:
                    want[b][3] += 1  # consultant
                else:
                    want[b][4] += 1  # liaison
    got = by_name(w, w.broker_roles)
    assert {a: list(v) for a, v in got.items()} == want
    assert all(sum(v[k] for v in want.values()) > 0 for k in range(5))  # every role occurs
    assert by_name(w, w.brokerage) == {a: float(v[1] + v[2] + v[4]) for a, v in want.items()}
    ref = brokerage.gould_fernandez(w.graph, engine="networkx")
    assert np.array_equal(ref, w.broker_roles)


def test_liaison_between_partner_and_another_team() -> None:
    # p1 → w_b (team red) → w_c (team blue): w_b is a liaison; p1 → w_b → w_d (red): gatekeeper;
    # w_d → w_b → p1: representative; p1 also gives to w_c directly in a second case (closed: no brokerage)
    flows = [
        flow("p1", "w_b", t=1, giver_team=None, receiver_team="red"),
        flow("w_b", "w_c", t=2, giver_team="red", receiver_team="blue"),
        flow("w_b", "w_d", t=3, giver_team="red", receiver_team="red"),
        flow("w_d", "w_b", t=4, giver_team="red", receiver_team="red"),
        flow("w_b", "p1", t=5, giver_team="red", receiver_team=None),
        flow("c1", "w_b", t=6, receiver_team="red"),
        flow("c1", "w_c", t=7, receiver_team="blue"),
    ]
    w = store_with(flows, windows=["1h"]).tick().windows[0]
    roles = by_name(w, w.broker_roles)
    # pairs through w_b: (p1,w_c) liaison, (p1,w_d) gatekeeper, (w_d,p1) representative,
    # (w_d,w_c) representative, (c1,w_d) gatekeeper, (c1,p1) liaison; (c1,w_c) is closed
    assert list(roles["w_b"]) == [0, 2, 2, 0, 2]
    assert by_name(w, w.brokerage)["w_b"] == 6
    assert all(sum(v) == 0 for a, v in roles.items() if a != "w_b")


def test_brokerage_columns_are_stored_and_ranked_by_the_reader(store) -> None:
    """A tick's actor rows go to ``actor_metrics`` on chdb and clickhouse-server; the Reader ranks by brokerage."""
    from valuenet.analytics.snapshot import actor_rows
    from valuenet.analytics.storage.reader import ACTOR_METRICS, Reader

    flows = random_flows(40, 500, span=3000, seed=9) + [
        flow("p1", "w_b", t=3000, receiver_team="red"),
        flow("w_b", "w_c", t=3001, giver_team="red", receiver_team="blue"),
    ]
    result = store_with(flows, windows=["1h"]).tick()
    w = result.windows[0]
    store.write_models("actor_metrics", actor_rows(result))
    names = w.graph.names.tolist()
    top = Reader(store).top_actors("n1", "1h", "brokerage", limit=3)
    order = sorted(range(len(names)), key=lambda i: (-w.brokerage[i], names[i]))[:3]
    assert [r["actor"] for r in top] == [names[i] for i in order]
    row = top[0]
    i = names.index(row["actor"])
    assert row["brokerage"] == w.brokerage[i] > 0
    assert row["burt_constraint"] == pytest.approx(w.constraint[i])
    assert row["effective_size"] == pytest.approx(w.effective_size[i])
    assert [row[f"broker_{r}"] for r in brokerage.BROKER_ROLES] == w.broker_roles[i].tolist()
    assert {"brokerage", "burt_constraint", "effective_size", "broker_liaison"} <= set(ACTOR_METRICS)
