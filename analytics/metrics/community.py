"""Communities (Louvain) and modularity.

Communities are found on the undirected weighted graph ``A = W + Wᵀ`` (flows in either
direction tie two actors) by the Louvain method (Blondel et al. 2008): NetworKit's PLM
(parallel Louvain, fast engine) or networkx's ``louvain_communities`` (reference). Modularity
of a partition ``c``:

.. math::

    Q = \\frac{1}{2m} \\sum_{ij} \\Big( A_{ij} - \\frac{k_i k_j}{2m} \\Big) \\delta(c_i, c_j)
      = \\sum_{c} \\Big[ \\frac{L_c}{m} - \\Big( \\frac{d_c}{2m} \\Big)^2 \\Big]

with ``k_i = Σ_j A_ij``, ``2m = Σ_ij A_ij``, ``L_c`` the weight inside community ``c`` and
``d_c`` the summed degree of ``c``. Community ids are renumbered by size (0 = largest).

Fast engine settings: PLM without refinement, at most :data:`PLM_MAX_ITER` move sweeps per
level, seeded with ``seed`` and run on one OpenMP thread (deterministic and fork-safe; see
``_plm``), so a window gives the identical partition on every run and after a rebuild (agreement with networkx: ``tests/test_engine_agreement.py``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from valuenet.analytics.metrics.engine import WindowGraph, check_engine

__all__ = ["PLM_MAX_ITER", "undirected", "louvain", "carry_over", "modularity"]

PLM_MAX_ITER = 8


def undirected(g: WindowGraph) -> sp.csr_matrix:
    """Symmetric weights ``A = W + Wᵀ``."""
    a = (g.total + g.total.T).tocsr()
    a.sum_duplicates()
    return a


def modularity(
    g: WindowGraph, membership: np.ndarray, *, resolution: float = 1.0, a: sp.spmatrix | None = None
) -> float:
    """``Q = Σ_c [L_c/m − γ (d_c/2m)²]`` of ``membership`` on ``A = W + Wᵀ`` (``a``: that matrix, if already built)."""
    a = (undirected(g) if a is None else a).tocoo()
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
    a_full = undirected(g)
    # Louvain's result depends on the order it visits nodes: run it in the actors' id order, not in the
    # order they first appeared (which depends on how the workers interleaved the raw partitions).
    order = np.argsort(np.asarray(g.names, dtype=str), kind="stable")
    canonical = a_full[order][:, order].tocsr()
    canonical.sort_indices()  # NetworKit reads the CSR as given
    membership = _louvain_membership(canonical, n, seed=seed, engine=engine, resolution=resolution)
    unsorted = np.empty(n, dtype=np.int64)
    unsorted[order] = membership
    return unsorted, modularity(g, unsorted, resolution=resolution, a=a_full)


def _louvain_membership(a_full: sp.csr_matrix, n: int, *, seed: int, engine: str, resolution: float) -> np.ndarray:
    """Louvain membership (ids by size) of the symmetric weights ``a_full`` in their node order."""
    if engine == "networkx":
        a = sp.triu(a_full, k=0).tocoo()
        import networkx as nx

        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_weighted_edges_from(zip(a.row.tolist(), a.col.tolist(), a.data.tolist()))
        parts = nx.community.louvain_communities(G, weight="weight", resolution=resolution, seed=seed)
        membership = np.empty(n, dtype=np.int64)
        for cid, nodes in enumerate(parts):
            membership[list(nodes)] = cid
    else:
        membership = _plm(sp.triu(a_full, k=0, format="csr"), seed, resolution)
    return _by_size(membership)


def carry_over(g: WindowGraph, known: np.ndarray) -> tuple[np.ndarray, float]:
    """``(membership, Q)`` from a previous partition: ``known[i]`` is actor ``i``'s old community or ``-1``.

    Actors without an old community join the community of their heaviest neighbour in
    ``A = W + Wᵀ`` that has one (one pass); the rest form one new community per connected
    group among themselves; ids are then
    renumbered by size and ``Q`` is the modularity of that partition on the current graph.
    """
    n = g.n
    membership = np.asarray(known, dtype=np.int64).copy()
    if n == 0:
        return membership, 0.0
    new = membership < 0
    a = undirected(g)
    if new.any():
        a = a.tocoo()
        ok = new[a.row] & ~new[a.col]
        rows, cols, w = a.row[ok], a.col[ok], a.data[ok]
        order = np.lexsort((-w, rows))
        rows, cols = rows[order], cols[order]
        first = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, dtype=bool)
        membership[rows[first]] = membership[cols[first]]
        alone = np.flatnonzero(membership < 0)
        if len(alone):  # newcomers tied only to newcomers: one community per connected group
            _, groups = connected_components(a.tocsr()[alone][:, alone], directed=False)
            membership[alone] = membership.max(initial=-1) + 1 + groups
    membership = _by_size(membership)
    return membership, modularity(g, membership, a=a)


def _plm(upper: sp.spmatrix, seed: int, resolution: float) -> np.ndarray:
    """NetworKit PLM membership of the undirected graph given by its upper triangle (CSR)."""
    import networkit as nk

    # One OpenMP thread, set before NetworKit's first parallel region and kept: the partition
    # is deterministic, and no OpenMP worker pool exists, so the process can still fork safely.
    nk.setNumberOfThreads(1)
    G = nk.graph.GraphFromCsr(sp.csr_matrix(upper, dtype=np.float64), directed=False, weighted=True)
    nk.engineering.setSeed(seed, False)
    part = nk.community.PLM(G, refine=False, gamma=resolution, maxIter=PLM_MAX_ITER).run().getPartition()
    return np.asarray(part.getVector(), dtype=np.int64)


def _by_size(membership: np.ndarray) -> np.ndarray:
    """Renumber community ids so 0 is the largest (ties by smallest member)."""
    ids, inverse, counts = np.unique(membership, return_inverse=True, return_counts=True)
    first = np.full(len(ids), len(membership))
    np.minimum.at(first, inverse, np.arange(len(membership)))
    order = np.lexsort((first, -counts))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank[inverse]
