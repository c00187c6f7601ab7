"""Metric snapshot rows: what analytics writes to ClickHouse and ``valuenet.metrics``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: str
    window: str  # "1h", "24h", "7d"
    computed_at: datetime  # wall-clock time the value was computed
    window_end: datetime  # event-time end of the window


class ActorMetrics(_Row):
    """Per-actor metrics of one window."""

    actor: str
    segment: str = "unknown"
    in_knowledge: float = 0.0
    out_knowledge: float = 0.0
    in_idea: float = 0.0
    out_idea: float = 0.0
    in_reputation: float = 0.0
    out_reputation: float = 0.0
    pagerank: float = 0.0
    pagerank_reputation: float = 0.0
    betweenness: float = 0.0
    boundary_spanning: float = 0.0
    burt_constraint: float = 0.0  # Burt's constraint (low: a broker across structural holes)
    effective_size: float = 0.0  # Burt's effective size (non-redundant contacts)
    brokerage: float = 0.0  # gatekeeper + representative + liaison pairs: what the dashboard calls "broker"
    broker_coordinator: int = 0  # Gould–Fernandez roles: brokered pairs (a → self → c, no a → c) by groups
    broker_gatekeeper: int = 0
    broker_representative: int = 0
    broker_consultant: int = 0
    broker_liaison: int = 0
    community: int = -1
    give_get_balance: float = 0.0
    reach: int = 0
    potential_reach: int = 0
    amplification_rate: float = 0.0
    engagement_rate: float = 0.0
    kind: str = "person"  # the actor's kind (ActorKind): rankings keep persons unless asked


class SegmentFlow(_Row):
    """One tunnel: flows from segment ``src`` to segment ``dst`` in one window."""

    src_segment: str
    dst_segment: str
    knowledge: int = 0
    idea: int = 0
    reputation: int = 0
    actor_pairs: int = 0
    reciprocity: float = 0.0
    give_get_balance: float = 0.0


class NetworkMetrics(_Row):
    """Whole-network metrics of one window."""

    actors: int = 0
    edges: int = 0
    density: float = 0.0
    reciprocity: float = 0.0
    modularity: float = 0.0
    ei_index: float = 0.0
    communities: int = 0
    flows_per_s_knowledge: float = 0.0
    flows_per_s_idea: float = 0.0
    flows_per_s_reputation: float = 0.0
    responsiveness_median_s: float | None = None
    responsiveness_p90_s: float | None = None
    idea_pickup_share: float | None = None
    idea_pickup_median_s: float | None = None
    questions: int = 0  # customer questions asked in the window (responsiveness is over the answered ones)
    questions_answered: int = 0
    ideas: int = 0  # customer and partner ideas posted in the window (idea_pickup_share = ideas_picked_up / ideas)
    ideas_picked_up: int = 0
    readiness_index: float = 0.0
    late_events: int = 0
    future_events: int = 0  # events dead-lettered as dated in the future while the watermark was in the window
    uncertain_flows: int = 0  # flows in the window typed with confidence below classify_uncertain_below
    uncertain_share: float | None = None  # uncertain_flows / all flows in the window (None: no flows)
    tick_seconds: float = 0.0
    watermark_ms: int | None = None  # largest event time (epoch ms) applied when the tick snapshot was taken


class LiveTunnel(BaseModel):
    """Flows of one window from segment ``src_segment`` to ``dst_segment`` (``None``: no receiver), as stamped on each flow."""

    model_config = ConfigDict(extra="forbid")

    src_segment: str
    dst_segment: str | None
    knowledge: int = 0
    idea: int = 0
    reputation: int = 0
    none: int = 0


class LiveMetrics(_Row):
    """Cheap metrics of one window, exact after every applied flow (published per batch, no tick).

    ``flows_<t>`` = N_t, flows of type t in the window; ``flows_per_s_<t>`` = N_t / L;
    ``tunnels``: N_t per (giver segment, receiver segment); ``late_events``: flows dropped as too late;
    ``future_events``: events dead-lettered by the processors stage as dated in the future;
    ``held_events``: flows held more than the jump bound ahead of their lane's watermark (not applied yet).
    """

    window_start: datetime
    watermark_ms: int  # largest event time (epoch ms) applied
    flows_knowledge: int = 0
    flows_idea: int = 0
    flows_reputation: int = 0
    flows_none: int = 0
    flows_per_s_knowledge: float = 0.0
    flows_per_s_idea: float = 0.0
    flows_per_s_reputation: float = 0.0
    late_events: int = 0
    future_events: int = 0
    held_events: int = 0  # flows held ahead of their lane's watermark right now (the jump guard)
    tunnels: list[LiveTunnel] = []


class Alert(BaseModel):
    """A structural change worth a human look."""

    model_config = ConfigDict(extra="forbid")

    network: str
    window: str
    raised_at: datetime
    kind: Literal["broker_lost", "silo_forming", "reach_spike", "responsiveness_degraded", "key_person"]
    subject: str
    value: float
    threshold: float
    message: str


class MetricsEvent(BaseModel):
    """One record on ``valuenet.metrics`` (key: network): a tick's snapshot, live counters or an alert.

    ``type`` "tick" carries ``network_metrics`` (one per window), ``actors`` (top actors per
    window by PageRank and reach, not the whole table), ``tunnels``; ``type`` "live" carries
    ``live`` (one per window, sent after every batch of flows); ``type`` "alert" carries ``alert``.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["tick", "alert", "live"]
    network: str
    computed_at: datetime
    network_metrics: list[NetworkMetrics] = []
    actors: list[ActorMetrics] = []
    tunnels: list[SegmentFlow] = []
    live: list[LiveMetrics] = []
    alert: Alert | None = None
