"""Compiled graph kernels (numba, parallel over sources) for the fast engine.

Both work on a CSR adjacency (``indptr``, ``indices``; distinct directed pairs, no weights) and
split their independent breadth-first searches over a few Python threads running ``nogil``
compiled code (no numba threading layer: safe to call from threads and to ``fork`` after).
Results do not depend on the thread count (each search writes its own row; rows are summed
in source order).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

__all__ = ["THREADS", "brandes_dependencies", "khop_reach"]

THREADS = max(1, min(4, os.cpu_count() or 1))


def _spread(fn, parts: int) -> None:
    """Run ``fn(i)`` for ``i < parts`` on up to :data:`THREADS` short-lived threads."""
    if parts <= 1 or THREADS == 1:
        for i in range(parts):
            fn(i)
        return
    with ThreadPoolExecutor(max_workers=min(THREADS, parts)) as pool:
        list(pool.map(fn, range(parts)))


@njit(cache=True, nogil=True)
def _dependency(
    indptr: np.ndarray,
    indices: np.ndarray,
    s: int,
    out: np.ndarray,
    dist: np.ndarray,
    sigma: np.ndarray,
    delta: np.ndarray,
    order: np.ndarray,
) -> None:
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


@njit(cache=True, nogil=True)
def _dependencies_rows(
    indptr: np.ndarray, indices: np.ndarray, sources: np.ndarray, rows: np.ndarray, lo: int, hi: int
) -> None:
    """``rows[j] = δ_{sources[j]}`` for ``lo ≤ j < hi``."""
    n = len(indptr) - 1
    dist = np.empty(n, dtype=np.int32)
    sigma = np.empty(n)
    delta = np.empty(n)
    order = np.empty(n, dtype=np.int64)
    for j in range(lo, hi):
        _dependency(indptr, indices, sources[j], rows[j], dist, sigma, delta, order)


def brandes_dependencies(indptr: np.ndarray, indices: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """``Σ_{s ∈ sources} δ_s(v)`` for every ``v`` (unnormalised sampled betweenness, Brandes 2001)."""
    n, k = len(indptr) - 1, len(sources)
    rows = np.zeros((k, n))
    parts = min(THREADS, k)
    bounds = np.linspace(0, k, parts + 1).astype(np.int64) if k else np.zeros(1, dtype=np.int64)
    _spread(lambda i: _dependencies_rows(indptr, indices, sources, rows, int(bounds[i]), int(bounds[i + 1])), parts)
    out = np.zeros(n)
    for j in range(k):  # fixed order: the sum does not depend on the thread count
        out += rows[j]
    return out


def khop_reach(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, hops: int, chunks: int = THREADS
) -> tuple[np.ndarray, np.ndarray]:
    """Per node ``v``: count and ``weight`` sum of the distinct ``u ≠ v`` within ``hops`` steps of ``v``."""
    n = len(indptr) - 1
    count = np.zeros(n, dtype=np.int64)
    total = np.zeros(n)
    step = (n + chunks - 1) // max(chunks, 1)
    _spread(
        lambda c: _khop_range(indptr, indices, weight, hops, c * step, min(n, (c + 1) * step), count, total), chunks
    )
    return count, total


@njit(cache=True, nogil=True)
def _khop_range(
    indptr: np.ndarray,
    indices: np.ndarray,
    weight: np.ndarray,
    hops: int,
    lo: int,
    hi: int,
    count: np.ndarray,
    total: np.ndarray,
) -> None:
    """Fill ``count[v]``, ``total[v]`` for ``lo ≤ v < hi`` (see :func:`khop_reach`)."""
    n = len(indptr) - 1
    if lo >= hi:
        return
    mark = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    depth = np.empty(n, dtype=np.int64)
    for v in range(lo, hi):
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
