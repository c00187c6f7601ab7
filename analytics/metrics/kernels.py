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

__all__ = ["THREADS", "brandes_dependencies", "burt", "gould_fernandez", "khop_reach"]

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


@njit(cache=True, nogil=True)
def _find(indices: np.ndarray, lo: int, hi: int, key: int) -> int:
    """Position of ``key`` in the sorted slice ``indices[lo:hi]``, or -1."""
    while lo < hi:
        mid = (lo + hi) // 2
        v = indices[mid]
        if v == key:
            return mid
        if v < key:
            lo = mid + 1
        else:
            hi = mid
    return -1


@njit(cache=True, nogil=True)
def _burt_range(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    lo: int,
    hi: int,
    constraint: np.ndarray,
    effective: np.ndarray,
) -> None:
    """Burt's constraint and effective size of nodes ``lo ≤ i < hi`` on a symmetric weighted CSR (sorted rows)."""
    n = len(indptr) - 1
    strength = np.zeros(n)
    biggest = np.zeros(n)
    for v in range(n):
        for e in range(indptr[v], indptr[v + 1]):
            strength[v] += data[e]
            if data[e] > biggest[v]:
                biggest[v] = data[e]
    share = np.zeros(n)
    mark = np.full(n, -1, dtype=np.int64)
    for i in range(lo, hi):
        si = strength[i]
        if si <= 0.0:
            constraint[i] = np.nan
            effective[i] = np.nan
            continue
        for e in range(indptr[i], indptr[i + 1]):
            share[indices[e]] = data[e] / si
            mark[indices[e]] = i
        deg_i = indptr[i + 1] - indptr[i]
        c = 0.0
        es = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            indirect = 0.0  # Σ_q p_iq p_qj
            redundant = 0.0  # Σ_q p_iq M_jq
            if indptr[j + 1] - indptr[j] <= deg_i:
                for f in range(indptr[j], indptr[j + 1]):
                    q = indices[f]
                    if q != i and mark[q] == i:
                        indirect += share[q] * data[f] / strength[q]
                        redundant += share[q] * data[f]
            else:
                for f in range(indptr[i], indptr[i + 1]):
                    q = indices[f]
                    if q == j:
                        continue
                    pos = _find(indices, indptr[j], indptr[j + 1], q)
                    if pos >= 0:
                        indirect += share[q] * data[pos] / strength[q]
                        redundant += share[q] * data[pos]
            c += (share[j] + indirect) ** 2
            es += 1.0 - redundant / biggest[j]
        constraint[i] = c
        effective[i] = es


def burt(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, chunks: int = THREADS
) -> tuple[np.ndarray, np.ndarray]:
    """``(constraint, effective size)`` per node of a symmetric weighted CSR with sorted rows (NaN: isolated)."""
    n = len(indptr) - 1
    constraint = np.zeros(n)
    effective = np.zeros(n)
    step = (n + chunks - 1) // max(chunks, 1)
    _spread(
        lambda c: _burt_range(indptr, indices, data, c * step, min(n, (c + 1) * step), constraint, effective), chunks
    )
    return constraint, effective


@njit(cache=True, nogil=True)
def _role(ga: int, gb: int, gc: int) -> int:
    """Gould–Fernandez role code of ``a → b → c`` by groups: 0 coordinator, 1 gatekeeper, 2 representative, 3 consultant, 4 liaison."""
    if ga == gb:
        return 0 if gb == gc else 2
    if gb == gc:
        return 1
    return 3 if ga == gc else 4


@njit(cache=True, nogil=True)
def _gf_range(
    out_ptr: np.ndarray,
    out_idx: np.ndarray,
    in_ptr: np.ndarray,
    in_idx: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    lo: int,
    hi: int,
    roles: np.ndarray,
) -> None:
    """Gould–Fernandez role counts of brokers ``lo ≤ b < hi`` (rows of ``roles``: the five roles)."""
    n = len(out_ptr) - 1
    mark = np.full(n, -1, dtype=np.int64)
    n_in = np.zeros(n_groups, dtype=np.int64)
    n_out = np.zeros(n_groups, dtype=np.int64)
    for b in range(lo, hi):
        d_in = in_ptr[b + 1] - in_ptr[b]
        d_out = out_ptr[b + 1] - out_ptr[b]
        if d_in == 0 or d_out == 0:
            continue
        gb = group[b]
        for e in range(out_ptr[b], out_ptr[b + 1]):
            c = out_idx[e]
            mark[c] = b
            n_out[group[c]] += 1
        for e in range(in_ptr[b], in_ptr[b + 1]):
            n_in[group[in_idx[e]]] += 1
        same_ac = 0  # Σ_{g ≠ gb} n_in[g] n_out[g]
        both_same = 0  # a = c in gb
        both_other = 0  # a = c outside gb
        for e in range(in_ptr[b], in_ptr[b + 1]):
            a = in_idx[e]
            ga = group[a]
            if ga != gb:
                same_ac += n_out[ga]
            if mark[a] == b:
                if ga == gb:
                    both_same += 1
                else:
                    both_other += 1
        ib, ob = n_in[gb], n_out[gb]
        r0 = ib * ob - both_same
        r1 = (d_in - ib) * ob
        r2 = ib * (d_out - ob)
        r3 = same_ac - both_other
        r4 = (d_in - ib) * (d_out - ob) - same_ac
        # closed pairs (a → c exists) broker nothing: subtract them
        for e in range(in_ptr[b], in_ptr[b + 1]):
            a = in_idx[e]
            deg_a = out_ptr[a + 1] - out_ptr[a]
            if deg_a <= d_out:
                for f in range(out_ptr[a], out_ptr[a + 1]):
                    c = out_idx[f]
                    if c != a and c != b and mark[c] == b:
                        k = _role(group[a], gb, group[c])
                        if k == 0:
                            r0 -= 1
                        elif k == 1:
                            r1 -= 1
                        elif k == 2:
                            r2 -= 1
                        elif k == 3:
                            r3 -= 1
                        else:
                            r4 -= 1
            else:
                for f in range(out_ptr[b], out_ptr[b + 1]):
                    c = out_idx[f]
                    if c != a and _find(out_idx, out_ptr[a], out_ptr[a + 1], c) >= 0:
                        k = _role(group[a], gb, group[c])
                        if k == 0:
                            r0 -= 1
                        elif k == 1:
                            r1 -= 1
                        elif k == 2:
                            r2 -= 1
                        elif k == 3:
                            r3 -= 1
                        else:
                            r4 -= 1
        roles[b, 0] = r0
        roles[b, 1] = r1
        roles[b, 2] = r2
        roles[b, 3] = r3
        roles[b, 4] = r4
        for e in range(out_ptr[b], out_ptr[b + 1]):
            n_out[group[out_idx[e]]] = 0
        for e in range(in_ptr[b], in_ptr[b + 1]):
            n_in[group[in_idx[e]]] = 0


def gould_fernandez(
    out_ptr: np.ndarray,
    out_idx: np.ndarray,
    in_ptr: np.ndarray,
    in_idx: np.ndarray,
    group: np.ndarray,
    chunks: int = THREADS,
) -> np.ndarray:
    """``(n, 5)`` Gould–Fernandez role counts on a directed CSR (out rows and in rows, sorted); ``group`` in 0..G-1."""
    n = len(out_ptr) - 1
    roles = np.zeros((n, 5), dtype=np.int64)
    n_groups = int(group.max()) + 1 if n else 1
    step = (n + chunks - 1) // max(chunks, 1)
    _spread(
        lambda c: _gf_range(out_ptr, out_idx, in_ptr, in_idx, group, n_groups, c * step, min(n, (c + 1) * step), roles),
        chunks,
    )
    return roles
