"""Build the processors stage from settings: dedupe, identity directory, pseudonymiser, classifier."""

from __future__ import annotations

from functools import partial

from valuenet.analytics.storage.reader import Reader, StoreLike
from valuenet.config import Settings, get_settings
from valuenet.processors.classify import to_flow
from valuenet.processors.classify.model import default_model
from valuenet.processors.dedupe import Deduper
from valuenet.processors.identity import IdentityResolver
from valuenet.processors.privacy import from_settings as pseudonymiser_from_settings
from valuenet.processors.stage import ProcessorStage, dedupe_key

__all__ = ["build_stage", "warm_from_store"]


def build_stage(settings: Settings | None = None) -> ProcessorStage:
    """A ready ProcessorStage configured by ``settings`` (environment / TOML)."""
    settings = settings or get_settings()
    default_model()  # load the flow model now: a bad model file stops the worker at start (ModelLoadError)
    pseudonymiser = pseudonymiser_from_settings(settings)
    return ProcessorStage(
        dedupe=Deduper(),
        identity=IdentityResolver(settings.directory_path),
        classify_flow=partial(to_flow, pseudonymiser=pseudonymiser),
        pseudonymiser=pseudonymiser,
        future_tolerance_s=settings.future_tolerance_seconds,
    )


def warm_from_store(stage: ProcessorStage, store: StoreLike) -> int:
    """Teach the deduper every event id stored within its retention, so a restart re-emits nothing twice."""
    rows = Reader(store).recent_flow_keys(int(stage.dedupe.retention * 1000))
    return stage.dedupe.warm((dedupe_key(r["network"], r["event_id"]), r["timestamp_ms"] / 1000.0) for r in rows)
