"""Shortest hop paths for the what-if analysis: a compiled multi-source breadth-first search.

``hops(indptr, indices, sources, blocked, extra_src, extra_dst, max_hops)`` returns, for every
node ``v``, the hop count ``d(S, v) = min_{s ∈ S} d(s, v)`` of the shortest directed path from
the source set ``S`` to ``v`` over the CSR graph plus the ``extra`` edges, never entering a
``blocked`` node (``-1``: unreachable, or farther than ``max_hops`` when that is ≥ 0). Run on the
transposed graph (``Wᵀ``), ``d`` is the distance *to* the nearest member of ``S``. Compiled with
numba (``nogil``), O(n + m) per call.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit

__all__ = ["hops", "hops_from", "tie_gain", "NO_EDGES"]

NO_EDGES = np.zeros(0, dtype=np.int64)


@njit(cache=True, nogil=True)
def _bfs(
    indptr: np.ndarray,
    indices: np.ndarray,
    sources: np.ndarray,
    blocked: np.ndarray,
    extra_src: np.ndarray,
    extra_dst: np.ndarray,
    max_hops: int,
) -> np.ndarray:
    """Multi-source BFS hop counts (see module docstring)."""
    n = len(indptr) - 1
    dist = np.full(n, -1, dtype=np.int32)
    queue = np.empty(n, dtype=np.int64)
    tail = 0
    for s in sources:
        if dist[s] < 0 and not blocked[s]:
            dist[s] = 0
            queue[tail] = s
            tail += 1
    head = 0
    while head < tail:
        v = queue[head]
        head += 1
        d = dist[v] + 1
        if max_hops >= 0 and d > max_hops:
            continue
        for e in range(indptr[v], indptr[v + 1]):
            w = indices[e]
            if dist[w] < 0 and not blocked[w]:
                dist[w] = d
                queue[tail] = w
                tail += 1
        for e in range(len(extra_src)):
            if extra_src[e] == v:
                w = extra_dst[e]
                if dist[w] < 0 and not blocked[w]:
                    dist[w] = d
                    queue[tail] = w
                    tail += 1
    return dist


def hops(
    csr: sp.csr_matrix,
    sources: np.ndarray,
    *,
    blocked: np.ndarray | None = None,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    max_hops: int = -1,
) -> np.ndarray:
    """Hop count from the nearest of ``sources`` to every node over ``csr`` (+ ``extra`` edges), avoiding ``blocked``."""
    n = csr.shape[0]
    block = np.zeros(n, dtype=np.bool_) if blocked is None else np.asarray(blocked, dtype=np.bool_)
    es, ed = extra if extra is not None else (NO_EDGES, NO_EDGES)
    return _bfs(
        csr.indptr.astype(np.int64, copy=False),
        csr.indices.astype(np.int64, copy=False),
        np.asarray(sources, dtype=np.int64),
        block,
        np.asarray(es, dtype=np.int64),
        np.asarray(ed, dtype=np.int64),
        int(max_hops),
    )


def hops_from(csr: sp.csr_matrix, source: int, **kwargs: object) -> np.ndarray:
    """Hop count from one ``source`` to every node (:func:`hops` with one source)."""
    return hops(csr, np.array([source], dtype=np.int64), **kwargs)  # type: ignore[arg-type]


@njit(cache=True, nogil=True)
def tie_gain(d0: np.ndarray, to_a: np.ndarray, to_b: np.ndarray, a: int, b: int, cap: int) -> tuple[int, int]:
    """Hops saved and pairs newly reached by adding the tie ``a ↔ b``, over every row (target set) of ``d0``.

    ``d0[t, v]`` = hops from ``v`` to target set ``t`` (-1: unreachable), ``to_a[v]`` = hops from ``v`` to
    ``a``. After the tie ``d'(v) = min(d(v), d(v, a) + 1 + d(b), d(v, b) + 1 + d(a))`` (exact: a shortest
    path uses the tie at most once); distances are capped at ``cap`` (unreachable counts as ``cap``).
    """
    saved = 0
    newly = 0
    rows, n = d0.shape
    for t in range(rows):
        db, da = d0[t, b], d0[t, a]
        for v in range(n):
            d = d0[t, v]
            before = cap if d < 0 else min(d, cap)
            best = before
            reached = False
            if db >= 0 and to_a[v] >= 0:
                reached = True
                best = min(best, to_a[v] + 1 + db)
            if da >= 0 and to_b[v] >= 0:
                reached = True
                best = min(best, to_b[v] + 1 + da)
            saved += before - best
            if d < 0 and reached:
                newly += 1
    return saved, newly
