"""The fast engine (igraph + scipy) and the networkx reference agree on the same window."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from tests._metrics_flows import flow, random_flows, store_with
from valuenet.analytics.metrics import centrality, community
from valuenet.analytics.metrics.engine import check_engine


@pytest.fixture(scope="module")
def window():
    return store_with(random_flows(80, 1500, span=3000, seed=8), windows=["1h"]).tick().windows[0].graph


@pytest.fixture(scope="module")
def planted():
    """Four dense groups of 15 actors with a few flows between groups."""
    rng = random.Random(2)
    flows = []
    for _ in range(900):
        grp = rng.randrange(4)
        a, b = rng.sample(range(15), 2)
        flows.append(flow(f"w{grp * 15 + a}", f"w{grp * 15 + b}", t=rng.uniform(0, 3000)))
    for _ in range(30):
        a, b = rng.sample(range(60), 2)
        flows.append(flow(f"w{a}", f"w{b}", t=rng.uniform(0, 3000)))
    return store_with(flows, windows=["1h"]).tick().windows[0].graph


@pytest.mark.parametrize("layer", [None, "reputation", "idea"])
def test_pagerank_agrees(window, layer) -> None:
    fast = centrality.pagerank(window, layer=layer, engine="fast", tol=1e-12)
    ref = centrality.pagerank(window, layer=layer, engine="networkx", tol=1e-12)
    assert np.abs(fast - ref).max() < 1e-6
    assert fast.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("pivots", [None, 10, 40])
def test_betweenness_agrees(window, pivots) -> None:
    fast = centrality.betweenness(window, pivots=pivots, seed=3, engine="fast")
    ref = centrality.betweenness(window, pivots=pivots, seed=3, engine="networkx")
    assert np.allclose(fast, ref, rtol=0, atol=1e-12)
    assert fast.max() > 0


def test_louvain_agrees_on_planted_groups(planted) -> None:
    fast, q_fast = community.louvain(planted, engine="fast", seed=1)
    ref, q_ref = community.louvain(planted, engine="networkx", seed=1)
    truth = np.array([int(name[1:]) // 15 for name in planted.names.tolist()])
    assert normalized_mutual_info_score(truth, fast) > 0.95
    assert normalized_mutual_info_score(fast, ref) > 0.95
    assert q_fast == pytest.approx(q_ref, abs=0.01) and q_fast > 0.6


def test_louvain_modularity_close_on_random_window(window) -> None:
    _, q_fast = community.louvain(window, engine="fast", seed=1)
    _, q_ref = community.louvain(window, engine="networkx", seed=1)
    assert q_fast == pytest.approx(q_ref, abs=0.03)


def test_engine_names() -> None:
    assert check_engine("igraph") == "fast" and check_engine("networkx") == "networkx"
    with pytest.raises(ValueError, match="engine 'graph-tool'"):
        check_engine("graph-tool")
