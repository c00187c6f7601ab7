"""Strength, give/get, brokerage, E-I, communities, tunnels and network figures against direct counts / networkx."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import numpy as np
import pytest

from tests._metrics_flows import SEGMENT_OF, by_name, random_flows, store_with, window_digraph


@pytest.fixture(scope="module")
def case():
    flows = random_flows(48, 1000, span=3000, seed=11)
    w = store_with(flows, windows=["1h"]).tick().windows[0]
    inside = [
        f
        for f in flows
        if w.start <= f.timestamp.timestamp() < w.end
        and f.receiver not in (None, f.giver)
        and f.flow_type.value != "none"
    ]
    return flows, inside, w


def seg(actor: str) -> str:
    return SEGMENT_OF[actor[0]]


def test_strength_and_give_get(case) -> None:
    _, inside, w = case
    for layer in ("knowledge", "idea", "reputation"):
        out = Counter(f.giver for f in inside if f.flow_type.value == layer)
        inn = Counter(f.receiver for f in inside if f.flow_type.value == layer)
        got_out, got_in = w.strength[layer]
        assert by_name(w, got_out) == {a: out.get(a, 0) for a in by_name(w, got_out)}
        assert by_name(w, got_in) == {a: inn.get(a, 0) for a in by_name(w, got_in)}
    out, inn = Counter(f.giver for f in inside), Counter(f.receiver for f in inside)
    for actor, value in by_name(w, w.give_get_balance).items():
        assert value == pytest.approx((out[actor] - inn[actor]) / (out[actor] + inn[actor]))


def test_boundary_spanning_and_ei(case) -> None:
    _, inside, w = case
    cross = Counter()
    for f in inside:
        if seg(f.giver) != seg(f.receiver):
            cross[f.giver] += 1
            cross[f.receiver] += 1
    assert {a: v for a, v in by_name(w, w.boundary_spanning).items() if v} == dict(cross)

    def group(actor: str, team: str | None) -> tuple:
        return (seg(actor), team)

    external = sum(1 for f in inside if group(f.giver, f.giver_team) != group(f.receiver, f.receiver_team))
    internal = len(inside) - external
    assert w.network_metrics["ei_index"] == pytest.approx((external - internal) / (external + internal))


def test_communities_and_modularity(case) -> None:
    flows, _, w = case
    G = window_digraph(flows, w.start, w.end)
    U = nx.Graph()
    U.add_nodes_from(G)
    for u, v, d in G.edges(data=True):
        prev = U.get_edge_data(u, v, {"weight": 0})["weight"]
        U.add_edge(u, v, weight=prev + d["weight"])
    labels = by_name(w, w.community)
    parts = [{a for a, c in labels.items() if c == k} for k in sorted(set(labels.values()))]
    assert w.network_metrics["modularity"] == pytest.approx(
        nx.community.modularity(U, parts, weight="weight"), abs=1e-12
    )
    assert w.network_metrics["communities"] == len(parts)
    assert [len(p) for p in parts] == sorted((len(p) for p in parts), reverse=True)


def test_network_size_density_reciprocity(case) -> None:
    flows, _, w = case
    G = window_digraph(flows, w.start, w.end)
    assert w.network_metrics["actors"] == G.number_of_nodes()
    assert w.network_metrics["edges"] == G.number_of_edges()
    assert w.network_metrics["density"] == pytest.approx(nx.density(G))
    assert w.network_metrics["reciprocity"] == pytest.approx(nx.reciprocity(G))


def test_tunnels(case) -> None:
    flows, inside, w = case
    G = window_digraph(flows, w.start, w.end)
    for t in w.tunnel_rows:
        mine = [f for f in inside if seg(f.giver) == t.src and seg(f.receiver) == t.dst]
        back = [f for f in inside if seg(f.giver) == t.dst and seg(f.receiver) == t.src]
        assert (t.knowledge, t.idea, t.reputation) == tuple(
            sum(1 for f in mine if f.flow_type.value == k) for k in ("knowledge", "idea", "reputation")
        )
        pairs = {(f.giver, f.receiver) for f in mine}
        assert t.actor_pairs == len(pairs)
        assert t.reciprocity == pytest.approx(sum(1 for u, v in pairs if G.has_edge(v, u)) / len(pairs))
        assert t.give_get_balance == pytest.approx((len(mine) - len(back)) / (len(mine) + len(back)))
    assert sum(t.knowledge + t.idea + t.reputation for t in w.tunnel_rows) == len(inside)


def test_readiness_index(case) -> None:
    flows, inside, w = case
    wf = [f for f in inside if seg(f.giver) == seg(f.receiver) == "workforce"]
    W = nx.DiGraph()
    W.add_nodes_from(a for a in w.graph.names.tolist() if seg(a) == "workforce")
    W.add_edges_from((f.giver, f.receiver) for f in wf)
    recip = nx.reciprocity(W)
    team = {}
    for f in inside:
        team[f.giver] = f.giver_team if seg(f.giver) == "workforce" else None
    ext = sum(1 for f in wf if f.giver_team != f.receiver_team)
    openness = ((ext - (len(wf) - ext)) / len(wf) + 1) / 2
    giant = max(len(c) for c in nx.weakly_connected_components(W)) / W.number_of_nodes()
    assert w.network_metrics["readiness_index"] == pytest.approx((recip + openness + giant) / 3)


def test_louvain_partition_carried_over_between_recomputes() -> None:
    """Staleness policy: large windows reuse the last partition for ``community_every − 1`` ticks."""
    from tests._metrics_flows import flow
    from valuenet.analytics.graph_store import GraphStore
    from valuenet.analytics.metrics import community

    flows = random_flows(48, 1000, span=3000, seed=11)
    store = GraphStore("n1", windows=["1h"], community_every=3, community_reuse_min_actors=1)
    store.add_many(flows)
    first = store.tick().windows[0]
    assert first.community_fresh
    # a newcomer whose heaviest tie is w0 joins w0's community; a lone pair forms its own
    store.add_many(
        [
            flow("c900", "w0", t=3001),
            flow("c900", "w0", t=3002),
            flow("c900", "w4", t=3003),
            flow("p901", "p902", t=3004),
        ]
    )
    second = store.tick().windows[0]
    assert not second.community_fresh
    old, new = by_name(first, first.community), by_name(second, second.community)
    renamed = {old[a]: new[a] for a in old}  # ids renumbered by size, but the grouping is unchanged
    assert len(set(renamed.values())) == len(renamed)
    assert new["c900"] == new["w0"]
    assert new["p901"] == new["p902"] and new["p901"] not in renamed.values()
    assert second.network_metrics["modularity"] == pytest.approx(
        community.modularity(second.graph, second.community), abs=1e-12
    )
    assert second.network_metrics["communities"] == len(renamed) + 1
    # Burt and Gould–Fernandez ride along: the same values per actor, none for the newcomers
    for metric in ("constraint", "effective_size", "broker_roles"):
        before, after = by_name(first, getattr(first, metric)), by_name(second, getattr(second, metric))
        assert all(np.array_equal(after[a], before[a]) for a in before), metric
    assert np.isnan(by_name(second, second.constraint)["c900"])
    assert by_name(second, second.brokerage)["c900"] == 0
    assert not store.tick().windows[0].community_fresh
    assert store.tick().windows[0].community_fresh  # every 3rd tick recomputes


def test_small_windows_always_recompute_louvain() -> None:
    from valuenet.analytics.graph_store import GraphStore

    store = store_with(random_flows(48, 1000, span=3000, seed=11), windows=["1h"])
    assert isinstance(store, GraphStore) and store.community_reuse_min_actors > 48
    assert all(store.tick().windows[0].community_fresh for _ in range(3))


def test_snapshot_plans_carry_over_after_record() -> None:
    """The worker path (snapshot → compute_tick elsewhere → record) follows the same staleness policy."""
    import pickle

    from valuenet.analytics.tick import compute_tick

    store = store_with(
        random_flows(48, 1000, span=3000, seed=11), windows=["1h"], community_every=2, community_reuse_min_actors=1
    )
    first = store.snapshot()
    assert first.community_reuse == frozenset() and first.community_prev == {}
    result = compute_tick(pickle.loads(pickle.dumps(first)))
    store.record(result)
    second = store.snapshot()
    assert second.community_reuse == frozenset({"1h"})
    carried = compute_tick(second).windows[0]
    assert not carried.community_fresh and carried.community.tolist() == result.windows[0].community.tolist()
    store.record(compute_tick(second))
    assert store.snapshot().community_reuse == frozenset()  # every 2nd tick recomputes
