"""Build the processors stage from settings: dedupe, identity directory, pseudonymiser, classifier."""

from __future__ import annotations

from functools import partial

from valuenet.config import Settings, get_settings
from valuenet.processors.classify import to_flow
from valuenet.processors.dedupe import Deduper
from valuenet.processors.identity import IdentityResolver
from valuenet.processors.privacy import from_settings as pseudonymiser_from_settings
from valuenet.processors.stage import ProcessorStage, dedupe_key

__all__ = ["build_stage", "warm_from_store"]


def build_stage(settings: Settings | None = None) -> ProcessorStage:
    """A ready ProcessorStage configured by ``settings`` (environment / TOML)."""
    settings = settings or get_settings()
    pseudonymiser = pseudonymiser_from_settings(settings)
    return ProcessorStage(
        dedupe=Deduper(),
        identity=IdentityResolver(settings.directory_path),
        classify_flow=partial(to_flow, pseudonymiser=pseudonymiser),
        pseudonymiser=pseudonymiser,
    )


# Warm from `flows`, not `interactions`: a flow is in `flows` only once it got through the
# flows topic and the analytics stage, so a crash between the two stages re-emits it.
WARM_SQL = """
SELECT network, event_id, timestamp_ms FROM flows
WHERE timestamp_ms >= (SELECT max(timestamp_ms) FROM flows) - %(horizon_ms)s
"""


def warm_from_store(stage: ProcessorStage, store) -> int:
    """Teach the deduper every event id stored within its retention, so a restart re-emits nothing twice."""
    horizon_ms = int(stage.dedupe.retention * 1000)
    rows = store.query(WARM_SQL, {"horizon_ms": horizon_ms})
    return stage.dedupe.warm((dedupe_key(r["network"], r["event_id"]), r["timestamp_ms"] / 1000.0) for r in rows)
