"""Compiled graph kernels (numba, parallel over sources) for the fast engine.

Both work on a CSR adjacency (``indptr``, ``indices``; distinct directed pairs, no weights) and
parallelise over independent breadth-first searches, so their results do not depend on the
thread count (each search writes its own row; rows are summed in source order).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["brandes_dependencies", "khop_reach"]


@njit(cache=True, nogil=True)
def _dependency(indptr: np.ndarray, indices: np.ndarray, s: int, out: np.ndarray,
                dist: np.ndarray, sigma: np.ndarray, delta: np.ndarray, order: np.ndarray) -> None:
    """Brandes' single-source dependency ``δ_s(v)`` written into ``out`` (hop counts; ``out[s] = 0``)."""
    n = len(indptr) - 1
    for v in range(n):
        dist[v] = -1
        sigma[v] = 0.0
        delta[v] = 0.0
    dist[s] = 0
    sigma[s] = 1.0
    order[0] = s
    head, tail = 0, 1
    while head < tail:
        v = order[head]
        head += 1
        dv = dist[v] + 1
        for e in range(indptr[v], indptr[v + 1]):
            w = indices[e]
            if dist[w] < 0:
                dist[w] = dv
                order[tail] = w
                tail += 1
            if dist[w] == dv:
                sigma[w] += sigma[v]
    # backward: δ(v) = σ(v) Σ_{w child} (1 + δ(w)) / σ(w); ``coef`` holds (1 + δ(w)) / σ(w) = 1/σ(w) + acc(w)
    coef = delta
    for i in range(tail - 1, -1, -1):
        v = order[i]
        dv = dist[v] + 1
        acc = 0.0
        for e in range(indptr[v], indptr[v + 1]):
            w = indices[e]
            if dist[w] == dv:
                acc += coef[w]
        if v != s:
            out[v] = sigma[v] * acc
        coef[v] = 1.0 / sigma[v] + acc


@njit(cache=True, parallel=True)
def brandes_dependencies(indptr: np.ndarray, indices: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """``Σ_{s ∈ sources} δ_s(v)`` for every ``v`` (unnormalised sampled betweenness, Brandes 2001)."""
    n = len(indptr) - 1
    k = len(sources)
    rows = np.zeros((k, n))
    for j in prange(k):
        dist = np.empty(n, dtype=np.int32)
        sigma = np.empty(n)
        delta = np.empty(n)
        order = np.empty(n, dtype=np.int64)
        _dependency(indptr, indices, sources[j], rows[j], dist, sigma, delta, order)
    out = np.zeros(n)
    for j in range(k):
        out += rows[j]
    return out


@njit(cache=True, parallel=True)
def khop_reach(indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, hops: int,
               chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per node ``v``: count and ``weight`` sum of the distinct ``u ≠ v`` within ``hops`` steps of ``v``."""
    n = len(indptr) - 1
    count = np.zeros(n, dtype=np.int64)
    total = np.zeros(n)
    step = (n + chunks - 1) // chunks
    for c in prange(chunks):
        mark = np.full(n, -1, dtype=np.int64)
        queue = np.empty(n, dtype=np.int64)
        depth = np.empty(n, dtype=np.int64)
        for v in range(c * step, min(n, (c + 1) * step)):
            if indptr[v] == indptr[v + 1]:
                continue
            mark[v] = v
            queue[0] = v
            depth[0] = 0
            head, tail = 0, 1
            cnt = 0
            acc = 0.0
            while head < tail:
                x = queue[head]
                d = depth[head] + 1
                head += 1
                if d > hops:
                    break
                for e in range(indptr[x], indptr[x + 1]):
                    u = indices[e]
                    if mark[u] != v:
                        mark[u] = v
                        queue[tail] = u
                        depth[tail] = d
                        tail += 1
                        cnt += 1
                        acc += weight[u]
            count[v] = cnt
            total[v] = acc
    return count, total
