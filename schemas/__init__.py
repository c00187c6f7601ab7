"""The records every stage speaks: raw envelope → Interaction → Flow → metric snapshots."""

from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.flow import ActorKind, Flow, FlowType, Segment
from valuenet.schemas.interaction import Interaction, Kind, Source
from valuenet.schemas.metrics import (
    ActorMetrics,
    Alert,
    LiveMetrics,
    LiveTunnel,
    MetricsEvent,
    NetworkMetrics,
    SegmentFlow,
)

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
    "ActorKind",
    "ActorMetrics",
    "NetworkMetrics",
    "SegmentFlow",
    "LiveMetrics",
    "LiveTunnel",
    "Alert",
    "MetricsEvent",
]
