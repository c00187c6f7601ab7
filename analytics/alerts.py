"""Alerts on structural change, from consecutive ticks of one network.

Per window, against the previous tick (brokers) or an exponentially weighted baseline
``B ← (1−a)·B + a·x`` (``a`` = ``baseline_weight``, first value = baseline, no alert on it):

- **broker_lost**: an actor that was among the previous tick's top ``broker_top_n`` brokers
  (by brokerage — gatekeeper + representative + liaison pairs, ``valuenet.analytics.metrics.brokerage`` —
  with ``brokerage > 0``, ``boundary_spanning > 0`` and ``betweenness ≥ broker_min_betweenness``)
  now has no cross-segment flow in the window (``BS = 0``) or left the window;
- **silo_forming**: ``EI < B_EI − silo_ei_drop`` (the E-I index fell);
- **reach_spike**: an actor's ``reach ≥ reach_min`` and ``reach ≥ reach_spike_ratio · max(B_reach, 1)``;
- **responsiveness_degraded**: ``p90 ≥ responsiveness_min_s`` and ``p90 ≥ responsiveness_ratio · B_p90``.

Brokers and reach spikes are watched among persons only (``kinds``; ``docs/actor-kinds.md``).
An alert is raised once when its condition starts holding and re-armed when it stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from valuenet.analytics.kinds import DEFAULT_KINDS, person_mask
from valuenet.analytics.tick import TickResult, WindowResult
from valuenet.schemas import Alert

__all__ = ["AlertThresholds", "AlertDetector"]


@dataclass(frozen=True)
class AlertThresholds:
    """Alert thresholds; every field is a keyword with its default."""

    broker_top_n: int = 10
    broker_min_betweenness: float = 0.0
    silo_ei_drop: float = 0.2
    reach_spike_ratio: float = 3.0
    reach_min: int = 10
    responsiveness_ratio: float = 1.5
    responsiveness_min_s: float = 60.0
    baseline_weight: float = 0.1
    kinds: frozenset[str] = DEFAULT_KINDS  # actor kinds the broker and reach alerts watch (persons)


@dataclass
class _State:
    brokers: dict[str, float] = field(default_factory=dict)
    ei: float | None = None
    p90: float | None = None
    reach: dict[str, float] = field(default_factory=dict)
    active: set[tuple[str, str]] = field(default_factory=set)


class AlertDetector:
    """Keeps per-(network, window) baselines; :meth:`check` returns the alerts a tick raises."""

    def __init__(self, thresholds: AlertThresholds | None = None) -> None:
        """Detector with ``thresholds`` (defaults: :class:`AlertThresholds`)."""
        self.thresholds = thresholds or AlertThresholds()
        self._state: dict[tuple[str, str], _State] = {}

    def check(self, result: TickResult) -> list[Alert]:
        """Alerts raised by ``result`` compared with the earlier ticks of its network."""
        alerts: list[Alert] = []
        for w in result.windows:
            st = self._state.setdefault((result.network, w.window), _State())
            alerts += self._check_window(result, w, st)
        return alerts

    def _check_window(self, result: TickResult, w: WindowResult, st: _State) -> list[Alert]:
        th = self.thresholds
        a = th.baseline_weight
        out: list[Alert] = []
        first_tick = st.ei is None
        names = w.graph.names.tolist()
        index = {name: i for i, name in enumerate(names)}

        def raise_(kind: str, subject: str, value: float, threshold: float, message: str, on: bool) -> None:
            key = (kind, subject)
            if on and key not in st.active:
                st.active.add(key)
                out.append(
                    Alert(
                        network=result.network,
                        window=w.window,
                        raised_at=result.computed_at,
                        kind=kind,
                        subject=subject,
                        value=float(value),
                        threshold=float(threshold),
                        message=message,
                    )
                )
            elif not on:
                st.active.discard(key)

        for name, prev in st.brokers.items():
            i = index.get(name)
            bs = float(w.boundary_spanning[i]) if i is not None else 0.0
            raise_(
                "broker_lost",
                name,
                bs,
                0.0,
                f"{name} no longer carries flows between segments in {w.window} (brokerage was {prev:.0f} pairs)",
                bs == 0.0,
            )
        cand = np.flatnonzero(
            (w.boundary_spanning > 0)
            & (w.betweenness >= th.broker_min_betweenness)
            & (w.brokerage > 0)
            & person_mask(w.graph.kind, w.graph.n, th.kinds)
        )
        top = cand[np.argsort(-w.brokerage[cand], kind="stable")[: th.broker_top_n]]
        st.brokers = {names[i]: float(w.brokerage[i]) for i in top.tolist()}

        ei = float(w.network_metrics["ei_index"] or 0.0)
        if st.ei is not None:
            limit = st.ei - th.silo_ei_drop
            raise_(
                "silo_forming",
                result.network,
                ei,
                limit,
                f"E-I index fell to {ei:.3f} (baseline {st.ei:.3f}) in {w.window}",
                ei < limit,
            )
        st.ei = ei if st.ei is None else (1 - a) * st.ei + a * ei

        p90 = w.network_metrics.get("responsiveness_p90_s")
        if p90 is not None:
            if st.p90 is not None:
                limit = max(th.responsiveness_ratio * st.p90, th.responsiveness_min_s)
                raise_(
                    "responsiveness_degraded",
                    result.network,
                    p90,
                    limit,
                    f"p90 time to first workforce answer {p90:.0f}s (baseline {st.p90:.0f}s) in {w.window}",
                    p90 >= limit,
                )
            st.p90 = p90 if st.p90 is None else (1 - a) * st.p90 + a * p90

        new_reach: dict[str, float] = {}
        for i in np.flatnonzero((w.reach > 0) & person_mask(w.graph.kind, w.graph.n, th.kinds)).tolist():
            name, r = names[i], float(w.reach[i])
            base = st.reach.get(name)
            if not first_tick:
                limit = max(th.reach_spike_ratio * max(base or 0.0, 1.0), float(th.reach_min))
                raise_(
                    "reach_spike",
                    name,
                    r,
                    limit,
                    f"{name} reach {r:.0f} actors (baseline {base or 0:.1f}) in {w.window}",
                    r >= limit,
                )
            new_reach[name] = r if base is None else (1 - a) * base + a * r
        for name, base in st.reach.items():
            if name not in new_reach:
                st.active.discard(("reach_spike", name))
                if base * (1 - a) >= 0.5:
                    new_reach[name] = base * (1 - a)
        st.reach = new_reach
        return out
