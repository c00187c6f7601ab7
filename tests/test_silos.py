"""Silos by evidence (``analytics.metrics.silos``): against networkx on the same window, and planted silos vs dense teams."""

from __future__ import annotations

import math
import random

import networkx as nx
import numpy as np
import pytest

from tests._metrics_flows import flow, store_with
from valuenet.analytics.metrics.silos import KAPPA, silo_test

TEAMS = ("open0", "open1", "open2", "open3", "dense", "silo")


def _planted_flows(seed: int = 4) -> list:
    """Six workforce teams of 10 and 60 customers; ``silo`` has no outside tie, ``dense`` chats a lot and has 6."""
    rng = random.Random(seed)
    members = {t: [f"w{k}{i:02d}" for i in range(10)] for k, t in enumerate(TEAMS)}
    team_of = {p: t for t, ps in members.items() for p in ps}
    customers = [f"c{i:03d}" for i in range(60)]
    out = []

    def add(a: str, b: str, n: int = 1) -> None:
        for _ in range(n):
            out.append(flow(a, b, t=rng.uniform(0, 3000), giver_team=team_of.get(a), receiver_team=team_of.get(b)))

    for t, ps in members.items():
        for i, a in enumerate(ps):
            for b in ps[i + 1 :]:
                if t == "dense":
                    add(a, b, 15)  # every pair, many flows: E-I of its flows below -0.9
                elif rng.random() < 0.6:
                    add(a, b)
    outsiders = customers + [p for t in TEAMS[:4] for p in members[t]]
    for t in TEAMS[:4]:
        for a in members[t]:
            for b in rng.sample([o for o in outsiders if team_of.get(o) != t], 3):
                add(a, b)
    for a in members["dense"][:6]:
        add(a, rng.choice(customers))
    for _ in range(150):
        a, b = rng.sample(customers, 2)
        add(a, b)
    return out


@pytest.fixture(scope="module")
def window():
    return store_with(_planted_flows(), windows=["1h"]).tick().windows[0]


def test_planted_silo_found_and_dense_team_not_called_one(window) -> None:
    g = window.graph
    result = silo_test(g)
    by = {r.group: r for r in result.groups}
    assert set(by) == set(TEAMS)
    assert result.silos == ["silo"]
    assert by["silo"].external_ties == 0 and by["silo"].q_value <= 0.05
    assert by["dense"].external_ties == 6 and not by["dense"].silo
    # the old fixed cut would have called the dense team a silo: E-I of its flows ≤ -0.9
    inside = g.team == list(g.team_names).index("dense")
    w = g.total.tocoo()
    internal = w.data[inside[w.row] & inside[w.col]].sum()
    external = w.data[inside[w.row] ^ inside[w.col]].sum()
    assert (external - internal) / (external + internal) <= -0.9


def test_the_whatif_runner_answers_silos_of_a_loaded_window() -> None:
    from valuenet.analytics.whatif import load_window
    from valuenet.analytics.whatif_runner import run_task

    flows = sorted(_planted_flows(), key=lambda f: f.timestamp)  # stream order: nothing late
    out = run_task(load_window(flows, network="n1", window="1h"), "silos", {})
    assert out["silos"] == ["silo"]
    by = {gr["group"]: gr for gr in out["groups"]}
    assert by["dense"]["external_ties"] == 6 and not by["dense"]["silo"] and by["silo"]["q_value"] <= 0.05


def test_counts_expectation_and_p_values_match_networkx(window) -> None:
    g = window.graph
    result = silo_test(g)
    # independent: an undirected networkx graph of who exchanged with whom in the window
    G = nx.Graph()
    G.add_nodes_from(g.names.tolist())
    total = g.total.tocoo()
    G.add_edges_from((g.names[i], g.names[j]) for i, j in zip(total.row.tolist(), total.col.tolist()) if i != j)
    two_m = 2 * G.number_of_edges()
    assert result.two_m == two_m
    team_of = {str(g.names[i]): g.team_names[t] for i, t in enumerate(g.team.tolist()) if t >= 0}
    ratios = {}
    for r in result.groups:
        s = [a for a, t in team_of.items() if t == r.group]
        d = nx.volume(G, s)
        assert r.members == len(s)
        assert r.external_ties == nx.cut_size(G, s)
        assert r.internal_ties == G.subgraph(s).number_of_edges()
        assert r.volume == d
        assert r.expected_config == pytest.approx(d * (two_m - d) / two_m)
        ratios[r.group] = r.external_ties / r.expected_config
    openness = float(np.median(list(ratios.values())))
    assert result.openness == pytest.approx(openness)
    ps = []
    for r in result.groups:
        mu = KAPPA * openness * r.expected_config
        p = sum(math.exp(-mu) * mu**x / math.factorial(x) for x in range(r.external_ties + 1))
        assert r.expected_null == pytest.approx(mu)
        assert r.p_value == pytest.approx(min(p, 1.0), rel=1e-9, abs=1e-12)
        ps.append(r.p_value)
    # Benjamini–Hochberg by hand: q_(i) = min_{j ≥ i} p_(j) · n / j
    order = sorted(range(len(ps)), key=ps.__getitem__)
    q = [0.0] * len(ps)
    running = 1.0
    for rank in range(len(ps), 0, -1):
        i = order[rank - 1]
        running = min(running, ps[i] * len(ps) / rank)
        q[i] = running
    for r, want in zip(result.groups, q):
        assert r.q_value == pytest.approx(want)


def test_expected_external_ties_match_degree_preserving_rewiring() -> None:
    # a sparse window: the configuration-model expectation is what double_edge_swap converges to
    rng = random.Random(9)
    teams = {f"w{k}{i:02d}": f"t{k}" for k in range(4) for i in range(15)}
    actors = list(teams) + [f"c{i:03d}" for i in range(90)]
    flows = [flow(*rng.sample(actors, 2), t=rng.uniform(0, 3000)) for _ in range(360)]
    flows = [
        flow(f.giver, f.receiver, t=30.0, giver_team=teams.get(f.giver), receiver_team=teams.get(f.receiver))
        for f in flows
    ]
    g = store_with(flows, windows=["1h"]).tick().windows[0].graph
    result = silo_test(g)
    G = nx.Graph()
    G.add_edges_from((f.giver, f.receiver) for f in flows if f.giver != f.receiver)
    members = {r.group: [a for a, t in teams.items() if t == r.group and a in G] for r in result.groups}
    samples: dict[str, list[int]] = {t: [] for t in members}
    H = G.copy()
    m = H.number_of_edges()
    nx.double_edge_swap(H, nswap=5 * m, max_tries=100 * m, seed=1)
    for k in range(150):
        nx.double_edge_swap(H, nswap=m // 2, max_tries=100 * m, seed=100 + k)
        for t, s in members.items():
            samples[t].append(nx.cut_size(H, s))
    for r in result.groups:
        assert np.mean(samples[r.group]) == pytest.approx(r.expected_config, rel=0.05), r.group
