"""PageRank (overall and reputation layer) and sampled betweenness with its error bound.

PageRank on the weighted directed graph (giver → receiver, weight = flow count), damping
``α`` (0.85), dangling mass spread uniformly:

.. math::

    PR(v) = \\frac{1-\\alpha}{n} + \\alpha \\sum_{u \\to v} PR(u)\\,\\frac{W[u,v]}{s^{out}(u)}
            + \\frac{\\alpha}{n} \\sum_{u:\\, s^{out}(u)=0} PR(u), \\qquad \\sum_v PR(v) = 1

Value received from valued givers ranks high. ``pagerank_reputation`` is the same on ``W_reputation``.

Betweenness on the unweighted directed union graph (hop-count shortest paths), normalised:

.. math::

    b(v) = \\frac{1}{(n-1)(n-2)} \\sum_{s \\ne v \\ne t} \\frac{\\sigma_{st}(v)}{\\sigma_{st}}
         = \\frac{1}{(n-1)(n-2)} \\sum_{s \\ne v} \\delta_s(v)

Sampled (Brandes & Pich 2007): ``k`` pivots ``S`` drawn uniformly without replacement
(``random.Random(seed).sample(range(n), k)`` over the actors in id order, the same draw as
networkx on a graph whose nodes are inserted in that order), and

.. math::

    \\hat b(v) = \\frac{1}{k_v (n-2)} \\sum_{s \\in S} \\delta_s(v), \\qquad
    k_v = k - [v \\in S]

which is unbiased. Each term ``δ_s(v)/(n-2)`` lies in ``[0, 1]``, so Hoeffding's inequality
(valid for sampling without replacement) and a union bound over the ``n`` actors give, with
probability at least ``1 - δ``, for every actor at once

.. math::

    |\\hat b(v) - b(v)| \\le \\varepsilon = \\sqrt{\\frac{\\ln(2n/\\delta)}{2(k-1)}}

(:func:`betweenness_error_bound`; e.g. n = 100 000, k = 64, δ = 0.1: ε ≈ 0.34 — a worst-case
bound; ranks of the top brokers are far more stable in practice). ``k ≥ n`` is exact (ε = 0).

Fast engine: Brandes' dependency accumulation compiled with numba, one breadth-first search
per pivot in parallel (``valuenet.analytics.metrics.kernels``); PageRank: scipy sparse power iteration.
"""

from __future__ import annotations

import math
import random

import numpy as np
import scipy.sparse as sp

from valuenet.analytics.metrics.engine import WindowGraph, check_engine, to_networkx

__all__ = ["pagerank", "betweenness", "betweenness_error_bound", "canonical_pivots", "sample_pivots"]


def pagerank(
    g: WindowGraph, *, layer: str | None = None, alpha: float = 0.85, engine: str = "fast", tol: float = 1e-9
) -> np.ndarray:
    """PageRank of every actor on ``layer`` (overall when None); sums to 1; stops when ``‖x_t − x_{t−1}‖₁ < n·tol``."""
    engine = check_engine(engine)
    if g.n == 0:
        return np.zeros(0)
    if engine == "networkx":
        import networkx as nx

        pr = nx.pagerank(to_networkx(g, layer), alpha=alpha, weight="weight", tol=tol, max_iter=10_000)
        out = np.array([pr[i] for i in range(g.n)])
    else:
        out = _pagerank_scipy(g.layer(layer), alpha, tol)
    return out / out.sum()


def _pagerank_scipy(w: sp.csr_matrix, alpha: float, tol: float, max_iter: int = 10_000) -> np.ndarray:
    """Power iteration ``x ← α Pᵀx + (α Σ_dangling x + 1 − α)/n`` on the row-normalised ``P``."""
    n = w.shape[0]
    out = np.asarray(w.sum(axis=1)).ravel()
    dangling = out == 0
    inv = np.divide(1.0, out, out=np.zeros(n), where=~dangling)
    pt = (sp.diags(inv) @ w).T.tocsr()
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        prev = x
        x = alpha * (pt @ prev) + (alpha * prev[dangling].sum() + 1.0 - alpha) / n
        if np.abs(x - prev).sum() < n * tol:
            break
    return x


def sample_pivots(n: int, k: int, seed: int = 0) -> list[int]:
    """``k`` pivot sources drawn like networkx: ``random.Random(seed).sample(range(n), k)``."""
    return random.Random(seed).sample(range(n), k)


def canonical_pivots(g: WindowGraph, k: int, seed: int = 0) -> list[int]:
    """:func:`sample_pivots` over the actors in id order, as indices of ``g``: the same actors are pivots
    whatever order they first appeared in (that order depends on how workers interleave the raw partitions)."""
    order = np.argsort(np.asarray(g.names, dtype=str), kind="stable")
    return [int(order[i]) for i in sample_pivots(g.n, k, seed)]


def betweenness(g: WindowGraph, *, pivots: int | None = None, seed: int = 0, engine: str = "fast") -> np.ndarray:
    """Normalised directed hop-count betweenness; exact when ``pivots`` is None or ``≥ n``, else sampled."""
    engine = check_engine(engine)
    n = g.n
    if n < 3:
        return np.zeros(n)
    sources = None if pivots is None or pivots >= n else canonical_pivots(g, pivots, seed)
    exact = sources is None
    if engine == "networkx":
        import networkx as nx

        unit = g.total.copy()
        unit.data[:] = 1.0
        G = to_networkx(g, matrix=unit)
        if exact:
            raw = nx.betweenness_centrality(G, normalized=False)
        else:
            raw = nx.betweenness_centrality_subset(G, sources=sources, targets=list(range(n)), normalized=False)
        sums = np.array([raw[i] for i in range(n)])
    else:
        from valuenet.analytics.metrics.kernels import brandes_dependencies

        w = g.total  # CSR, distinct pairs; weights ignored → hop counts
        src = np.arange(n, dtype=np.int64) if exact else np.asarray(sources, dtype=np.int64)
        sums = brandes_dependencies(w.indptr.astype(np.int64), w.indices.astype(np.int32), src)
    if sources is None:
        return sums / ((n - 1) * (n - 2))
    k_v = np.full(n, float(len(sources)))  # len(sources) == pivots
    k_v[sources] -= 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k_v > 0, sums / (np.maximum(k_v, 1.0) * (n - 2)), 0.0)


def betweenness_error_bound(n: int, k: int | None, delta: float = 0.1) -> float:
    """``ε = sqrt(ln(2n/δ) / (2(k-1)))``: all sampled betweenness values are within ε w.p. ≥ 1-δ; 0 when exact."""
    if k is None or k >= n or n < 3:
        return 0.0
    if k < 2:
        return 1.0
    return min(1.0, math.sqrt(math.log(2 * n / delta) / (2 * (k - 1))))
