"""The records every stage speaks: raw envelope → Interaction → Flow → metric snapshots."""

from schemas.envelope import RawEnvelope
from schemas.interaction import Interaction, Kind, Source
from schemas.flow import Flow, FlowType, Segment
from schemas.metrics import ActorMetrics, Alert, LiveMetrics, LiveTunnel, MetricsEvent, NetworkMetrics, SegmentFlow

SCHEMA_VERSION = 1

__all__ = [
    "SCHEMA_VERSION",
    "RawEnvelope",
    "Interaction",
    "Kind",
    "Source",
    "Flow",
    "FlowType",
    "Segment",
    "ActorMetrics",
    "NetworkMetrics",
    "SegmentFlow",
    "LiveMetrics",
    "LiveTunnel",
    "Alert",
    "MetricsEvent",
]
