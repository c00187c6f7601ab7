"""Communities (Louvain) and modularity.

Communities are found on the undirected weighted graph ``A = W + Wᵀ`` (flows in either
direction tie two actors) by the Louvain method (Blondel et al. 2008): igraph's
``community_multilevel`` or networkx's ``louvain_communities``. Modularity of a partition ``c``:

.. math::

    Q = \\frac{1}{2m} \\sum_{ij} \\Big( A_{ij} - \\frac{k_i k_j}{2m} \\Big) \\delta(c_i, c_j)
      = \\sum_{c} \\Big[ \\frac{L_c}{m} - \\Big( \\frac{d_c}{2m} \\Big)^2 \\Big]

with ``k_i = Σ_j A_ij``, ``2m = Σ_ij A_ij``, ``L_c`` the weight inside community ``c`` and
``d_c`` the summed degree of ``c``. Community ids are renumbered by size (0 = largest).
"""

from __future__ import annotations

import random

import numpy as np
import scipy.sparse as sp

from analytics.metrics.engine import WindowGraph, check_engine

__all__ = ["undirected", "louvain", "modularity"]


def undirected(g: WindowGraph) -> sp.csr_matrix:
    """Symmetric weights ``A = W + Wᵀ``."""
    a = (g.total + g.total.T).tocsr()
    a.sum_duplicates()
    return a


def modularity(g: WindowGraph, membership: np.ndarray, *, resolution: float = 1.0) -> float:
    """``Q = Σ_c [L_c/m − γ (d_c/2m)²]`` of ``membership`` on ``A = W + Wᵀ``."""
    a = undirected(g).tocoo()
    two_m = float(a.data.sum())
    if two_m == 0:
        return 0.0
    membership = np.asarray(membership)
    same = membership[a.row] == membership[a.col]
    inside = float(a.data[same].sum())  # = 2 Σ_c L_c
    deg = np.bincount(a.row, weights=a.data, minlength=g.n)
    d_c = np.bincount(membership, weights=deg)
    return inside / two_m - resolution * float(((d_c / two_m) ** 2).sum())


def louvain(
    g: WindowGraph, *, seed: int = 0, engine: str = "fast", resolution: float = 1.0
) -> tuple[np.ndarray, float]:
    """``(membership, Q)``: Louvain communities of ``A = W + Wᵀ`` (ids by size) and their modularity."""
    engine = check_engine(engine)
    n = g.n
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0.0
    if engine == "networkx":
        a = sp.triu(undirected(g), k=0).tocoo()
        import networkx as nx

        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_weighted_edges_from(zip(a.row.tolist(), a.col.tolist(), a.data.tolist()))
        parts = nx.community.louvain_communities(G, weight="weight", resolution=resolution, seed=seed)
        membership = np.empty(n, dtype=np.int64)
        for cid, nodes in enumerate(parts):
            membership[list(nodes)] = cid
    else:
        import igraph as ig

        G = g.igraph.as_undirected(mode="collapse", combine_edges={"weight": "sum"})
        ig.set_random_number_generator(random.Random(seed))
        try:
            membership = np.asarray(G.community_multilevel(weights="weight", resolution=resolution).membership)
        finally:
            ig.set_random_number_generator(random)
    membership = _by_size(membership)
    return membership, modularity(g, membership, resolution=resolution)


def _by_size(membership: np.ndarray) -> np.ndarray:
    """Renumber community ids so 0 is the largest (ties by smallest member)."""
    ids, inverse, counts = np.unique(membership, return_inverse=True, return_counts=True)
    first = np.full(len(ids), len(membership))
    np.minimum.at(first, inverse, np.arange(len(membership)))
    order = np.lexsort((first, -counts))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank[inverse]
