"""Influencer reach through amplification cascades, potential reach, amplification and engagement rates.

Amplification graph: ``u → v`` when ``u`` reposted or quoted ``v`` in the window (kinds
``repost``, ``quote``). A cascade ``A ← B ← C`` is B amplifying A and C amplifying B. The
**reach** of ``v`` within ``k`` hops (default 3) is the number of distinct actors with an
amplification path to ``v`` of at most ``k`` hops:

.. math::

    reach_k(v) = \\big| \\{ u \\ne v : \\exists\\ u = x_0 \\to x_1 \\to \\dots \\to x_h = v,\\ h \\le k \\} \\big|

(actor-level: C amplifying B counts toward A's cascade whenever B amplified A in the same
window, without checking that C's repost was of that very item.) **Potential reach** sums
the follower counts of those amplifiers where known (``Flow.giver_followers``; unknown = 0):

.. math::

    potential_k(v) = \\sum_{u \\in R_k(v)} followers(u)

Rates per authored post (``P(v)`` = posts of ``v`` in the window, at least 1):

.. math::

    amplification(v) = \\frac{\\#\\{\\text{repost, quote flows to } v\\}}{\\max(P(v), 1)}, \\qquad
    engagement(v) = \\frac{\\#\\{\\text{reply, reaction, repost, quote, mention, star flows to } v\\}}{\\max(P(v), 1)}

Fast engine: a depth-limited breadth-first search per actor on ``Aᵀ``, compiled with numba and
run in parallel (``valuenet.analytics.metrics.kernels``); reference: the same search with networkx.
"""

from __future__ import annotations

import numpy as np

from valuenet.analytics.metrics.engine import WindowGraph, check_engine, to_networkx

__all__ = ["reach", "amplification_rate", "engagement_rate"]


def reach(g: WindowGraph, *, hops: int = 3, engine: str = "fast") -> tuple[np.ndarray, np.ndarray]:
    """``(reach_k, potential_k)`` per actor: distinct amplifiers within ``hops`` and their summed followers."""
    engine = check_engine(engine)
    n = g.n
    followers = np.nan_to_num(g.followers, nan=0.0)
    if n == 0 or g.amplify.nnz == 0 or hops < 1:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    if engine == "networkx":
        import networkx as nx

        G = to_networkx(g, matrix=g.amplify).reverse(copy=False)
        counts = np.zeros(n, dtype=np.int64)
        potential = np.zeros(n, dtype=np.int64)
        for v in range(n):
            seen = nx.single_source_shortest_path_length(G, v, cutoff=hops)
            members = [u for u in seen if u != v]
            counts[v] = len(members)
            potential[v] = int(followers[members].sum()) if members else 0
        return counts, potential
    from valuenet.analytics.metrics.kernels import khop_reach

    back = g.amplify.T.tocsr()  # back[v, u] > 0: u amplified v
    counts, total = khop_reach(back.indptr.astype(np.int64), back.indices.astype(np.int64), followers, hops)
    potential = total.round().astype(np.int64)
    return counts, potential


def amplification_rate(g: WindowGraph) -> np.ndarray:
    """Repost/quote flows received per authored post (at least one post)."""
    return np.asarray(g.amplify.sum(axis=0)).ravel() / np.maximum(g.posts, 1)


def engagement_rate(g: WindowGraph) -> np.ndarray:
    """Reply/reaction/repost/quote/mention/star flows received per authored post (at least one post)."""
    return np.asarray(g.engage.sum(axis=0)).ravel() / np.maximum(g.posts, 1)
