"""PageRank and betweenness of a window against networkx computed directly from the flows."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from tests._metrics_flows import by_name, random_flows, store_with, window_digraph
from valuenet.analytics.metrics.centrality import betweenness_error_bound


@pytest.fixture(scope="module")
def case():
    flows = random_flows(50, 900, span=3000, seed=3)
    store = store_with(flows, windows=["1h"], betweenness_pivots=None)
    return flows, store.tick().windows[0]


def test_pagerank_overall_and_reputation(case) -> None:
    flows, w = case
    for layer, values in ((None, w.pagerank), ("reputation", w.pagerank_reputation)):
        ref = nx.pagerank(window_digraph(flows, w.start, w.end, layer), weight="weight", tol=1e-12, max_iter=10_000)
        got = by_name(w, values)
        assert set(got) == set(ref)
        for actor, value in ref.items():
            assert got[actor] == pytest.approx(value, abs=1e-8)


def test_exact_betweenness(case) -> None:
    flows, w = case
    ref = nx.betweenness_centrality(window_digraph(flows, w.start, w.end), normalized=True)
    got = by_name(w, w.betweenness)
    for actor, value in ref.items():
        assert got[actor] == pytest.approx(value, abs=1e-12)
    assert w.betweenness_error == 0.0 and w.betweenness_pivots is None


def test_sampled_betweenness_matches_networkx_sampling() -> None:
    flows = random_flows(60, 700, span=3000, seed=4)
    w = store_with(flows, windows=["1h"], betweenness_pivots=15, seed=7).tick().windows[0]
    G = window_digraph(flows, w.start, w.end)
    # networkx samples pivots with random.Random(seed).sample(list(G), k); valuenet draws over the actors in
    # id order (independent of arrival order), so G's nodes are inserted in that order
    order = w.graph.names.tolist()
    H = nx.relabel_nodes(G, {a: i for i, a in enumerate(order)})
    ordered = nx.DiGraph()
    ordered.add_nodes_from(sorted(range(len(order)), key=order.__getitem__))
    ordered.add_edges_from(H.edges)
    ref = nx.betweenness_centrality(ordered, k=15, seed=7, normalized=True)
    for i, value in ref.items():
        assert w.betweenness[i] == pytest.approx(value, abs=1e-12)
    assert w.betweenness_error == pytest.approx(math.sqrt(math.log(2 * len(order) / 0.1) / (2 * 14)))


def test_error_bound_formula() -> None:
    assert betweenness_error_bound(100_000, 64) == pytest.approx(math.sqrt(math.log(2 * 100_000 / 0.1) / 126))
    assert betweenness_error_bound(10, 10) == 0.0 and betweenness_error_bound(10, None) == 0.0
