"""Boundary spanning and the E-I index (Krackhardt & Stern 1988).

Boundary spanning of actor ``v`` — the flows it exchanges across a segment boundary:

.. math::

    BS(v) = \\sum_{u:\\, seg(u) \\ne seg(v)} \\big( W[v,u] + W[u,v] \\big)

E-I index of a grouping ``g`` over the weighted flows (``E`` between groups, ``I`` within):

.. math::

    EI = \\frac{E - I}{E + I}, \\quad E = \\sum_{g(u) \\ne g(v)} W[u,v], \\quad I = \\sum_{g(u) = g(v)} W[u,v]

``EI = -1``: all flows stay inside groups (silos); ``+1``: all flows cross. The network's E-I
uses the group ``(segment, team)`` (team when known), so both segment silos and team silos
inside the workforce pull it down. No flow → 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from valuenet.analytics.metrics.engine import WindowGraph

__all__ = ["boundary_spanning", "group_labels", "ei_index"]


def boundary_spanning(g: WindowGraph) -> np.ndarray:
    """``BS(v)``: flows given to or received from actors of another segment."""
    w = g.total.tocoo()
    cross = g.segment[w.row] != g.segment[w.col]
    out = np.bincount(w.row[cross], weights=w.data[cross], minlength=g.n)
    inn = np.bincount(w.col[cross], weights=w.data[cross], minlength=g.n)
    return out + inn


def group_labels(g: WindowGraph) -> np.ndarray:
    """Group code per actor: ``segment · (T+1) + team + 1`` (``team = -1`` when unknown)."""
    return g.segment.astype(np.int64) * (len(g.team_names) + 1) + (g.team.astype(np.int64) + 1)


def ei_index(g: WindowGraph, groups: np.ndarray | None = None, *, matrix: sp.spmatrix | None = None) -> float:
    """``EI = (E - I) / (E + I)`` of ``groups`` (default :func:`group_labels`) over ``matrix`` (default ``W``)."""
    groups = group_labels(g) if groups is None else groups
    w = (g.total if matrix is None else matrix).tocoo()
    same = groups[w.row] == groups[w.col]
    internal = float(w.data[same].sum())
    external = float(w.data[~same].sum())
    total = internal + external
    return (external - internal) / total if total > 0 else 0.0
