"""In/out strength per flow type and give/get balance.

.. math::

    s^{out}_l(v) = \\sum_u W_l[v, u], \\qquad s^{in}_l(v) = \\sum_u W_l[u, v]

    \\mathrm{gg}(v) = \\frac{s^{out}(v) - s^{in}(v)}{s^{out}(v) + s^{in}(v)} \\in [-1, 1]

``W_l`` counts flows of type ``l`` from giver to receiver in the window; ``s`` without a
layer uses ``W = Σ_l W_l``. ``gg(v) = 1`` for a pure giver, ``-1`` for a pure taker.
"""

from __future__ import annotations

import numpy as np

from valuenet.analytics.metrics.engine import WindowGraph

__all__ = ["strength", "give_get_balance"]


def strength(g: WindowGraph, layer: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(s_out, s_in)`` arrays: flows given and received per actor on ``layer`` (all layers when None)."""
    w = g.layer(layer)
    return np.asarray(w.sum(axis=1)).ravel(), np.asarray(w.sum(axis=0)).ravel()


def give_get_balance(g: WindowGraph) -> np.ndarray:
    """``gg(v) = (s_out - s_in) / (s_out + s_in)`` over all layers; 0 when the actor has no flow."""
    out, inn = strength(g)
    tot = out + inn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (out - inn) / np.where(tot > 0, tot, 1.0), 0.0)
