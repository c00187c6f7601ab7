"""Whole-network metrics: size, density, reciprocity, flow rates, responsiveness, idea pickup, readiness.

.. math::

    n = |V|, \\quad m = |\\{(u,v) : W[u,v] > 0\\}|, \\quad density = \\frac{m}{n(n-1)}, \\quad
    reciprocity = \\frac{|\\{(u,v) \\in E : (v,u) \\in E\\}|}{m}

``V`` = actors incident to at least one edge of the window; ``m`` counts distinct directed
actor pairs over all layers. Flow rate of type ``l``: ``rate_l = N_l / L`` with ``N_l`` the
flows of type ``l`` in the window (with or without a receiver) and ``L`` the window length in
seconds.

**Responsiveness.** A *customer question* is a flow whose giver is a customer, whose kind
is ``ticket``, or ``post`` with a text the classifier calls a question (reason
``rule:question …`` or ``… [question]``), and whose type is not ``idea`` (a question itself
carries no value: its type is ``none``; the answer is the knowledge flow to the asker); it opens the thread ``key = thread or parent_id or event_id`` at its
timestamp ``t_q`` (the earliest such flow when several). The *answer* is the earliest flow in
the same thread key from a workforce giver with kind in ``reply, review, approve, help, apply``
and timestamp ``t_a ≥ t_q``. For the questions opened in the window and answered by the
watermark, ``d = t_a − t_q``; the metric is ``median(d)`` and ``p90(d)`` (linear interpolation);
``None`` when no question was answered.

**Idea pickup.** An *idea* is a flow of type ``idea`` from a customer or partner giver (not a
``mention``: a post's mentions repeat the post's idea), at
``t_i``, in thread key ``key`` (as above). It is *picked up* when a workforce flow of kind
``reply, review, approve, help, apply`` in the same thread key has ``t ≥ t_i``; the delay is the
earliest such ``t − t_i``. For ideas in the window: ``share = picked / ideas`` and
``median delay`` over the picked ones (``None`` when there is no idea / no pickup).

**Readiness index** (internal collaboration, ``[0, 1]``), on the workforce-only subgraph
``W_ww`` (both ends workforce):

.. math::

    R = \\operatorname{mean}\\Big( \\rho_{ww},\\ \\frac{EI_{team} + 1}{2},\\ \\frac{|GC_{ww}|}{n_w} \\Big)

``ρ_ww`` = reciprocity of ``W_ww``; ``EI_team`` = E-I index of ``W_ww`` grouped by team (the
term is left out when fewer than two teams are known); ``GC_ww`` = the largest weakly
connected component of ``W_ww`` over all ``n_w`` workforce actors of the window. No workforce
actor → 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from valuenet.analytics.metrics.brokerage import ei_index
from valuenet.analytics.metrics.engine import SEGMENTS, WindowGraph

__all__ = [
    "edges",
    "density",
    "reciprocity",
    "flows_per_second",
    "responsiveness",
    "idea_pickup",
    "readiness_index",
]

_WORKFORCE = SEGMENTS.index("workforce")


def edges(g: WindowGraph, matrix: sp.spmatrix | None = None) -> int:
    """``m``: distinct directed actor pairs with at least one flow."""
    return int((g.total if matrix is None else matrix).nnz)


def density(g: WindowGraph) -> float:
    """``m / (n (n − 1))``; 0 for fewer than two actors."""
    n = g.n
    return edges(g) / (n * (n - 1)) if n > 1 else 0.0


def reciprocity(g: WindowGraph, matrix: sp.spmatrix | None = None) -> float:
    """Share of directed pairs ``(u, v)`` whose reverse ``(v, u)`` also carries a flow."""
    w = (g.total if matrix is None else matrix).tocsr()
    if w.nnz == 0:
        return 0.0
    b = w.astype(bool)
    return float(b.multiply(b.T).nnz) / float(b.nnz)


def flows_per_second(counts: dict[str, int], window_seconds: float) -> dict[str, float]:
    """``N_l / L`` for every flow type."""
    return {name: c / window_seconds for name, c in counts.items()}


def responsiveness(delays: np.ndarray) -> tuple[float | None, float | None]:
    """``(median, p90)`` of answered questions' delays in seconds (NaN = unanswered, ignored)."""
    d = np.asarray(delays, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) == 0:
        return None, None
    return float(np.median(d)), float(np.percentile(d, 90))


def idea_pickup(delays: np.ndarray) -> tuple[float | None, float | None]:
    """``(share picked up, median delay)`` over ideas (NaN delay = not picked up)."""
    d = np.asarray(delays, dtype=float)
    if len(d) == 0:
        return None, None
    picked = d[~np.isnan(d)]
    return float(len(picked) / len(d)), (float(np.median(picked)) if len(picked) else None)


def readiness_index(g: WindowGraph) -> tuple[float, dict[str, float]]:
    """``R`` (module docstring) and its terms ``{"reciprocity", "openness", "giant_share"}``."""
    wf = g.segment == _WORKFORCE
    n_w = int(wf.sum())
    if n_w == 0:
        return 0.0, {}
    mask = sp.diags(wf.astype(np.float64))
    w_ww = (mask @ g.total @ mask).tocsr()
    w_ww.eliminate_zeros()
    terms = {"reciprocity": reciprocity(g, w_ww)}
    teams = g.team[wf]
    if len(set(teams[teams >= 0].tolist())) >= 2:
        terms["openness"] = (ei_index(g, g.team.astype(np.int64), matrix=w_ww) + 1.0) / 2.0
    idx = np.flatnonzero(wf)
    _, labels = connected_components(w_ww[idx][:, idx], directed=True, connection="weak")
    terms["giant_share"] = float(np.bincount(labels).max() / n_w)
    return float(np.mean(list(terms.values()))), terms
