"""Brokerage: boundary spanning, the E-I index (Krackhardt & Stern 1988), Burt's structural holes
(constraint, effective size; Burt 1992) and Gould–Fernandez brokerage roles (1989).

Boundary spanning of actor ``v`` — the flows it exchanges across a segment boundary:

.. math::

    BS(v) = \\sum_{u:\\, seg(u) \\ne seg(v)} \\big( W[v,u] + W[u,v] \\big)

E-I index of a grouping ``g`` over the weighted flows (``E`` between groups, ``I`` within):

.. math::

    EI = \\frac{E - I}{E + I}, \\quad E = \\sum_{g(u) \\ne g(v)} W[u,v], \\quad I = \\sum_{g(u) = g(v)} W[u,v]

``EI = -1``: all flows stay inside groups (silos); ``+1``: all flows cross. The network's E-I
uses the group ``(segment, team)`` (team when known), so both segment silos and team silos
inside the workforce pull it down. No flow → 0.

**Burt's structural holes** on the undirected mutual weights ``M = W + Wᵀ`` (``N(i)`` = actors
with ``M[i,j] > 0``), ``p_ij = M[i,j] / Σ_k M[i,k]``:

.. math::

    C(i) = \\sum_{j \\in N(i)} \\Big( p_{ij} + \\sum_{q \\ne i,j} p_{iq}\\, p_{qj} \\Big)^2, \\qquad
    ES(i) = \\sum_{j \\in N(i)} \\Big( 1 - \\sum_{q \\ne i,j} p_{iq}\\, \\frac{M[j,q]}{\\max_k M[j,k]} \\Big)

Low constraint / high effective size: contacts that do not know each other (holes to broker).
Same values as ``networkx.constraint`` / ``networkx.effective_size`` on ``M`` as an undirected
weighted graph.

**Gould–Fernandez brokerage roles** on the directed graph ``A`` (``A[u,v] = 1`` when ``W[u,v] > 0``)
with groups ``g`` = (segment, team): ``b`` brokers the ordered pair ``(a, c)`` when ``a → b → c``,
``a ≠ c`` and not ``a → c``. Each brokered pair counts for one role of ``b``:

======================  ===========================
role                    groups
======================  ===========================
coordinator             g(a) = g(b) = g(c)
gatekeeper              g(a) ≠ g(b) = g(c)
representative          g(a) = g(b) ≠ g(c)
consultant (itinerant)  g(a) = g(c) ≠ g(b)
liaison                 g(a), g(b), g(c) all different
======================  ===========================

**Brokerage** (what the dashboard and API call "broker") = gatekeeper + representative + liaison:
the pairs an actor brokers *across* a group boundary with its own group on one side or neither
(coordinators stay inside a group; consultants serve one outside group, like a support agent
between customers).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from valuenet.analytics.metrics.engine import WindowGraph, check_engine, to_networkx

__all__ = [
    "BROKER_ROLES",
    "boundary_spanning",
    "brokerage_score",
    "constraint_effective_size",
    "ei_index",
    "gould_fernandez",
    "group_labels",
]

#: Gould–Fernandez roles, in the column order of :func:`gould_fernandez`.
BROKER_ROLES: tuple[str, ...] = ("coordinator", "gatekeeper", "representative", "consultant", "liaison")


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


def _mutual(g: WindowGraph) -> sp.csr_matrix:
    m = (g.total + g.total.T).tocsr()
    m.eliminate_zeros()
    m.sort_indices()
    return m


def constraint_effective_size(g: WindowGraph, *, engine: str = "fast") -> tuple[np.ndarray, np.ndarray]:
    """``(C(i), ES(i))``: Burt's constraint and effective size on ``M = W + Wᵀ`` (NaN for an isolated actor)."""
    engine = check_engine(engine)
    if g.n == 0:
        return np.zeros(0), np.zeros(0)
    m = _mutual(g)
    if engine == "networkx":
        import networkx as nx

        G = to_networkx(g, matrix=m).to_undirected()
        # nodes= takes networkx's per-node path (its whole-graph sparse shortcut for effective
        # size normalises by the wrong axis in networkx 3.6)
        c = nx.constraint(G, weight="weight")
        es = nx.effective_size(G, nodes=list(G), weight="weight")
        return np.array([c[i] for i in range(g.n)]), np.array([es[i] for i in range(g.n)])
    from valuenet.analytics.metrics.kernels import burt

    return burt(m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data.astype(np.float64))


def gould_fernandez(g: WindowGraph, groups: np.ndarray | None = None, *, engine: str = "fast") -> np.ndarray:
    """``(n, 5)`` brokered pairs per actor and role (:data:`BROKER_ROLES`) over ``groups`` (default :func:`group_labels`)."""
    engine = check_engine(engine)
    groups = group_labels(g) if groups is None else np.asarray(groups)
    if g.n == 0:
        return np.zeros((0, len(BROKER_ROLES)), dtype=np.int64)
    _, dense = np.unique(groups, return_inverse=True)
    dense = dense.astype(np.int64)
    a = g.total.astype(bool).astype(np.int8).tocsr()
    a.eliminate_zeros()
    if engine == "networkx":
        return _gould_fernandez_networkx(to_networkx(g, matrix=a), dense)
    from valuenet.analytics.metrics.kernels import gould_fernandez as kernel

    a.sort_indices()
    at = a.T.tocsr()
    at.sort_indices()
    return kernel(
        a.indptr.astype(np.int64),
        a.indices.astype(np.int64),
        at.indptr.astype(np.int64),
        at.indices.astype(np.int64),
        dense,
    )


def _gould_fernandez_networkx(G, groups: np.ndarray) -> np.ndarray:
    """Reference: every open two-path ``a → b → c`` of ``G``, classified by groups."""
    roles = np.zeros((G.number_of_nodes(), len(BROKER_ROLES)), dtype=np.int64)
    for b in G.nodes:
        gb = groups[b]
        for a in G.predecessors(b):
            for c in G.successors(b):
                if a == c or G.has_edge(a, c):
                    continue
                ga, gc = groups[a], groups[c]
                if ga == gb:
                    role = 0 if gc == gb else 2
                elif gc == gb:
                    role = 1
                else:
                    role = 3 if ga == gc else 4
                roles[b, role] += 1
    return roles


def brokerage_score(roles: np.ndarray) -> np.ndarray:
    """Brokerage = gatekeeper + representative + liaison pairs (columns of :func:`gould_fernandez`)."""
    return (roles[:, 1] + roles[:, 2] + roles[:, 4]).astype(np.float64)
