"""Tunnels: the value-exchange matrix between segments.

For an ordered segment pair ``(a, b)`` (``a = b`` allowed) and ``P_ab = {(u, v): W[u,v] > 0,
seg(u) = a, seg(v) = b}``:

.. math::

    vol_l(a,b) = \\sum_{(u,v) \\in P_{ab}} W_l[u,v], \\qquad pairs(a,b) = |P_{ab}|

    rec(a,b) = \\frac{|\\{(u,v) \\in P_{ab} : W[v,u] > 0\\}|}{|P_{ab}|}, \\qquad
    gg(a,b) = \\frac{V(a,b) - V(b,a)}{V(a,b) + V(b,a)}, \\quad V = \\sum_l vol_l

Only pairs with at least one flow are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from valuenet.analytics.metrics.engine import EDGE_LAYERS, SEGMENTS, WindowGraph

__all__ = ["Tunnel", "tunnels"]


@dataclass(frozen=True)
class Tunnel:
    """Flows from segment ``src`` to segment ``dst`` in one window."""

    src: str
    dst: str
    knowledge: int
    idea: int
    reputation: int
    actor_pairs: int
    reciprocity: float
    give_get_balance: float


def tunnels(g: WindowGraph) -> list[Tunnel]:
    """Every segment pair with flows: volume per type, distinct actor pairs, reciprocity, give/get."""
    s = len(SEGMENTS)
    w = g.total.tocoo()
    pair_code = g.segment[w.row].astype(np.int64) * s + g.segment[w.col]
    volume = np.zeros((len(EDGE_LAYERS), s * s))
    for i, name in enumerate(EDGE_LAYERS):
        m = g.layers[name].tocoo()
        volume[i] = np.bincount(
            g.segment[m.row].astype(np.int64) * s + g.segment[m.col], weights=m.data, minlength=s * s
        )
    pairs = np.bincount(pair_code, minlength=s * s)
    recip_mask = np.asarray(g.total.T.tocsr()[w.row, w.col]).ravel() > 0 if w.nnz else np.zeros(0, dtype=bool)
    recip = np.bincount(pair_code[recip_mask], minlength=s * s)
    total = volume.sum(axis=0).reshape(s, s)
    out: list[Tunnel] = []
    for code in np.flatnonzero(pairs):
        a, b = divmod(int(code), s)
        fwd, back = total[a, b], total[b, a]
        out.append(
            Tunnel(
                src=SEGMENTS[a],
                dst=SEGMENTS[b],
                knowledge=int(volume[0, code]),
                idea=int(volume[1, code]),
                reputation=int(volume[2, code]),
                actor_pairs=int(pairs[code]),
                reciprocity=float(recip[code] / pairs[code]),
                give_get_balance=float((fwd - back) / (fwd + back)) if fwd + back > 0 else 0.0,
            )
        )
    return out
