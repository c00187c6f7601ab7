"""Silos by evidence: a group whose external ties are significantly below what its size and activity predict.

A fixed E-I cut (``EI ≤ −0.9``) calls every busy team a silo: a team of 14 that chats all day has
an E-I near −0.9 even when its members keep dozens of ties outside it. Instead each group is tested
against a degree-preserving null model on the window's **tie graph** ``A`` (``A[u,v] = 1`` when
``u`` and ``v`` exchanged at least one flow in either direction; ties rather than flow counts, so
one long thread does not weigh more than many contacts):

.. math::

    k_i = \\sum_j A[i,j], \\quad 2m = \\sum_i k_i, \\quad D_G = \\sum_{i \\in G} k_i, \\quad
    O_G = \\sum_{i \\in G,\\, j \\notin G} A[i,j]

**Configuration-model expectation** of the external ties of ``G`` (each tie end of ``G`` pairs with a
random tie end of the network, so it lands outside with probability ``(2m − D_G)/2m``):

.. math::

    E_G = D_G \\cdot \\frac{2m - D_G}{2m}

Real groups are never random mixers — a team talks inside more than chance — so the raw ratio
``O_G / E_G`` is below 1 for every team. The **openness** of the network is its typical group ratio,
``r = median_G (O_G / E_G)`` over the tested groups (the median, so silos do not pull it down),
and a group is a **silo** when its external ties are significantly below a small share ``κ`` of
that typical openness (default ``κ = 1/3``: a group exchanging
less than a third of what its peers do, relative to its size and activity): under ``H_0`` its external ties are
``X ~ Poisson(μ_G)`` with

.. math::

    μ_G = κ \\cdot r \\cdot E_G, \\qquad p_G = P(X \\le O_G) = \\sum_{x=0}^{O_G} e^{-μ_G} μ_G^x / x!

and the p-values of all tested groups are adjusted for multiple testing with Benjamini–Hochberg
(``scipy.stats.false_discovery_control``): ``silo ⇔ q_G ≤ α`` (default ``α = 0.05``). A small group
whose expectation is small is never called a silo on thin evidence (``μ_G = 3`` and ``O_G = 0``
gives ``p = 0.05`` before adjustment). ``E_G`` is the same value networkx's degree-preserving
rewiring (``double_edge_swap``) converges to on a sparse graph; ``tests/test_silos.py`` checks both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import stats

from valuenet.analytics.metrics.engine import WindowGraph

__all__ = ["ALPHA", "KAPPA", "GroupSilo", "SiloTest", "silo_test", "tie_graph"]

#: Default share of the network's typical openness below which a group is a silo.
KAPPA = 1 / 3
#: Default false discovery rate of the Benjamini–Hochberg adjustment.
ALPHA = 0.05


@dataclass(frozen=True)
class GroupSilo:
    """One group's test: observed and expected external ties, p-value, adjusted q-value, verdict."""

    group: str
    members: int
    internal_ties: int
    external_ties: int  # O_G
    volume: int  # D_G
    expected_config: float  # E_G
    expected_null: float  # μ_G = κ · r · E_G
    ratio: float  # O_G / E_G
    ei: float  # (O_G − I_G) / (O_G + I_G) over ties, for comparison with the old cut
    p_value: float
    q_value: float
    silo: bool


@dataclass(frozen=True)
class SiloTest:
    """All groups' tests plus the network values they share (``2m``, openness ``r``, ``κ``, ``α``)."""

    groups: list[GroupSilo]
    two_m: int
    openness: float
    kappa: float
    alpha: float

    @property
    def silos(self) -> list[str]:
        """Names of the groups found to be silos."""
        return [g.group for g in self.groups if g.silo]


def tie_graph(g: WindowGraph, mask: np.ndarray | None = None) -> sp.csr_matrix:
    """Undirected 0/1 tie matrix ``A`` of ``W + Wᵀ`` without self-ties; actors outside ``mask`` lose their ties."""
    a = ((g.total + g.total.T) > 0).astype(np.int64).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    if mask is not None:
        keep = np.asarray(mask, dtype=bool)
        c = a.tocoo()
        both = keep[c.row] & keep[c.col]
        a = sp.csr_matrix((c.data[both], (c.row[both], c.col[both])), shape=a.shape)
    return a


def silo_test(
    g: WindowGraph,
    groups: np.ndarray | None = None,
    names: dict[int, str] | None = None,
    *,
    mask: np.ndarray | None = None,
    kappa: float = KAPPA,
    alpha: float = ALPHA,
    min_members: int = 3,
) -> SiloTest:
    """Test every group (code ≥ 0 in ``groups``; default the known teams) for a silo against the null above."""
    if groups is None:
        groups = np.where(g.team >= 0, g.team.astype(np.int64), -1)
        names = {i: t for i, t in enumerate(g.team_names)}
    groups = np.asarray(groups, dtype=np.int64)
    if mask is not None:
        groups = np.where(np.asarray(mask, dtype=bool), groups, -1)
    a = tie_graph(g, mask)
    deg = np.asarray(a.sum(axis=1)).ravel()
    two_m = int(deg.sum())
    upper = sp.triu(a).tocoo()
    rows: list[tuple[str, int, int, int, int, float, float]] = []
    for code in sorted(set(groups[groups >= 0].tolist())):
        inside = groups == code
        members = int(inside.sum())
        if members < min_members:
            continue
        d = int(deg[inside].sum())
        ext = int((inside[upper.row] ^ inside[upper.col]).sum())
        internal = int((inside[upper.row] & inside[upper.col]).sum())
        expected = d * (two_m - d) / two_m if two_m else 0.0
        ei = (ext - internal) / (ext + internal) if ext + internal else 0.0
        label = (names or {}).get(code, str(code))
        rows.append((label, members, internal, ext, d, expected, ei))
    ratios = [r[3] / r[5] for r in rows if r[5] > 0]
    openness = float(np.median(ratios)) if ratios else 0.0
    mus = [kappa * openness * r[5] for r in rows]
    ps = [float(stats.poisson.cdf(r[3], mu)) if mu > 0 else 1.0 for r, mu in zip(rows, mus)]
    qs = [float(q) for q in stats.false_discovery_control(ps, method="bh")] if ps else []
    out = [
        GroupSilo(
            group=label,
            members=members,
            internal_ties=internal,
            external_ties=ext,
            volume=d,
            expected_config=expected,
            expected_null=mu,
            ratio=ext / expected if expected > 0 else 0.0,
            ei=ei,
            p_value=p,
            q_value=q,
            silo=q <= alpha,
        )
        for (label, members, internal, ext, d, expected, ei), mu, p, q in zip(rows, mus, ps, qs)
    ]
    return SiloTest(groups=out, two_m=two_m, openness=openness, kappa=kappa, alpha=alpha)
