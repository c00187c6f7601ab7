"""Key-person risk: the actors whose removal would cut the most cross-group exchange, and its alert.

Groups are the E-I index's (segment, team) groups (``brokerage.group_labels``); actors of
segment ``unknown`` (unresolved accounts, organisations) are left out. Only persons are ranked
(``kinds``; organisations, bots and platform accounts on request, ``docs/actor-kinds.md``). Every flow ``u → v``
between two different groups is exchange across the tunnel ``t = (G(u), G(v))``, weighted
``c = 1`` for knowledge and ideas and ``c = r`` (``reputation_weight``, default 0.25) for
reputation. With ``V_t`` the weighted volume of tunnel ``t`` and ``V_t(x)`` the part of it on flows
that ``x`` gives or receives (it is cut if ``x`` leaves):

.. math::

    dep_t(x) = \\frac{V_t(x)}{V_t}, \\qquad
    risk(x) = \\sum_{t:\\ V_t \\ge V_{min}} \\omega_t \\, dep_t(x), \\qquad
    \\omega_t = 1 + (k - 1)\\,[t \\text{ has a customer end}]\\,\\frac{K_t}{V_t}

``risk(x)`` counts how many tunnels' worth of exchange depend on ``x`` (an actor carrying all of
two tunnels scores 2): concentration, not volume, so a hub among many equals ranks low and a
single bridge ranks high. Tunnels thinner than ``V_min`` (``min_volume``, 3) are ignored;
customer-facing knowledge weighs ``k`` times (``customer_weight``, 2; ``K_t`` = the knowledge and
idea part of ``V_t``). Actors are ranked by ``risk``, each with ``dep_t(x)`` per tunnel. The
**key_person** alert is raised when ``dep_t(x) ≥ share_threshold`` (0.5) for a tunnel with
``V_t ≥ alert_min_volume`` (5) for one of the ``top_n`` (10) actors: that actor is a single point
of failure of the tunnel. It is raised once while the condition holds (``analytics/alerts.py`` style).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valuenet.analytics.kinds import DEFAULT_KINDS, kinds_of, person_mask
from valuenet.analytics.metrics.brokerage import group_labels
from valuenet.analytics.metrics.engine import EDGE_LAYERS, SEGMENTS, WindowGraph
from valuenet.analytics.tick import TickResult
from valuenet.analytics.whatif import group_names
from valuenet.schemas import Alert

__all__ = ["KeyPersonThresholds", "KeyPersonAlerts", "key_person_risk", "tunnel_name"]

_CUSTOMER = SEGMENTS.index("customer")
_UNKNOWN = SEGMENTS.index("unknown")


@dataclass(frozen=True)
class KeyPersonThresholds:
    """Weights of the risk score and the alert threshold; every field is a keyword with its default."""

    reputation_weight: float = 0.25
    customer_weight: float = 2.0
    share_threshold: float = 0.5
    min_volume: float = 3.0
    alert_min_volume: float = 5.0
    top_n: int = 10


def tunnel_name(src: str, dst: str) -> str:
    """``"workforce/platform → partner"``."""
    return f"{src} → {dst}"


def key_person_risk(
    g: WindowGraph,
    *,
    thresholds: KeyPersonThresholds | None = None,
    limit: int = 20,
    kinds: frozenset[str] = DEFAULT_KINDS,
) -> list[dict[str, Any]]:
    """The ``limit`` actors of ``kinds`` (persons) with the largest ``risk`` (module docstring), with tunnel shares."""
    th = thresholds or KeyPersonThresholds()
    if g.n == 0:
        return []
    labels = group_labels(g)
    names = group_names(g, labels)
    rows, cols, vals, exchange = [], [], [], []
    for name in EDGE_LAYERS:
        m = g.layers[name].tocoo()
        c = np.full(m.nnz, th.reputation_weight if name == "reputation" else 1.0)
        if name != "reputation":
            cust = (g.segment[m.row] == _CUSTOMER) | (g.segment[m.col] == _CUSTOMER)
            c[cust] *= th.customer_weight
        rows.append(m.row)
        cols.append(m.col)
        vals.append(m.data * c)
        exchange.append(np.full(m.nnz, name != "reputation"))
    r, c_, v, kn = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), np.concatenate(exchange)
    known = (g.segment[r] != _UNKNOWN) & (g.segment[c_] != _UNKNOWN)
    cross = (labels[r] != labels[c_]) & known
    r, c_, v, kn = r[cross], c_[cross], v[cross], kn[cross]
    ng = int(labels.max()) + 1
    tcode = labels[r] * ng + labels[c_]
    vt = np.bincount(tcode, weights=v, minlength=ng * ng)
    seg_of = np.zeros(ng, dtype=np.int64)
    seg_of[labels] = g.segment
    a_seg, b_seg = np.divmod(np.arange(ng * ng), ng)
    vk = np.bincount(tcode[kn], weights=v[kn], minlength=ng * ng)  # knowledge and idea part
    facing = (seg_of[a_seg] == _CUSTOMER) | (seg_of[b_seg] == _CUSTOMER)
    omega = 1.0 + facing * (th.customer_weight - 1.0) * np.divide(
        vk, vt, out=np.zeros(vt.shape, dtype=np.float64), where=vt > 0
    )
    omega[vt < th.min_volume] = 0.0  # tunnels too thin to depend on anyone
    per_flow = omega[tcode] * v / np.where(vt[tcode] > 0, vt[tcode], 1.0)  # this flow's share of its tunnel
    per_actor = np.bincount(r, weights=per_flow, minlength=g.n) + np.bincount(c_, weights=per_flow, minlength=g.n)
    per_actor[~person_mask(g.kind, g.n, kinds)] = 0.0  # non-persons are not key persons unless asked
    kind_names = kinds_of(g.kind, g.n)
    order = np.argsort(-per_actor, kind="stable")[:limit]
    order = order[per_actor[order] > 0]
    out = []
    for x in order.tolist():
        mine = (r == x) | (c_ == x)
        vx = np.bincount(tcode[mine], weights=v[mine], minlength=ng * ng)
        shares: list[dict[str, Any]] = []
        for code in np.flatnonzero(vx).tolist():
            a, b = divmod(code, ng)
            shares.append(
                {
                    "src": names[a],
                    "dst": names[b],
                    "share": float(vx[code] / vt[code]),
                    "volume": float(vt[code]),
                    "carried": float(vx[code]),
                    "counted": bool(omega[code] > 0),  # thick enough to count in the risk
                }
            )
        shares.sort(key=lambda s: (not s["counted"], -s["share"], -s["volume"], s["src"], s["dst"]))
        out.append(
            {
                "actor": str(g.names[x]),
                "segment": SEGMENTS[int(g.segment[x])],
                "kind": kind_names[x],
                "group": names[int(labels[x])],
                "risk": float(per_actor[x]),
                "cross_volume": float(np.bincount(tcode[mine], weights=v[mine]).sum()) if mine.any() else 0.0,
                "tunnels": shares,
            }
        )
    return out


def explain(row: dict[str, Any], top: int = 3) -> str:
    """One sentence: why the actor is a key person."""
    counted = [s for s in row["tunnels"] if s["counted"]][:top]
    parts = [
        f"{100 * s['share']:.0f} % of {tunnel_name(s['src'], s['dst'])} (weighted volume {s['volume']:.0f})"
        for s in counted
    ]
    return f"{row['actor']} ({row['group']}) holds {row['risk']:.2f} tunnels' worth of exchange: {', '.join(parts)}."


__all__.append("explain")


@dataclass
class KeyPersonAlerts:
    """Raises ``key_person`` alerts per (network, window): once while a tunnel depends on one actor."""

    thresholds: KeyPersonThresholds = field(default_factory=KeyPersonThresholds)
    _active: dict[tuple[str, str], set[tuple[str, str, str]]] = field(default_factory=dict)

    def check(self, result: TickResult) -> list[Alert]:
        """Alerts raised by ``result``'s windows."""
        th = self.thresholds
        alerts: list[Alert] = []
        for w in result.windows:
            active = self._active.setdefault((result.network, w.window), set())
            now: set[tuple[str, str, str]] = set()
            for row in key_person_risk(w.graph, thresholds=th, limit=th.top_n):
                for s in row["tunnels"]:
                    if s["share"] < th.share_threshold or s["volume"] < th.alert_min_volume:
                        continue
                    key = (row["actor"], s["src"], s["dst"])
                    now.add(key)
                    if key in active:
                        continue
                    alerts.append(
                        Alert(
                            network=result.network,
                            window=w.window,
                            raised_at=result.computed_at,
                            kind="key_person",
                            subject=row["actor"],
                            value=s["share"],
                            threshold=th.share_threshold,
                            message=(
                                f"{row['actor']} carries {100 * s['share']:.0f} % of "
                                f"{tunnel_name(s['src'], s['dst'])} ({s['volume']:.0f} weighted flows) in {w.window}"
                            ),
                        )
                    )
            active.clear()
            active.update(now)
        return alerts
