"""Analyst corrections: store a label for one event in ClickHouse ``labels``; retrain on corpus + labels.

A correction copies the event's text, kind and source from ``interactions`` into the label
row, so retraining does not depend on how long interactions are kept. The latest label per
``(network, event_id)`` wins (``labels`` is a ReplacingMergeTree on ``labelled_at_ms``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from valuenet.processors.classify.model import LABELS, Example, TextModel, load_corpus, model_path, set_default_model
from valuenet.schemas.flow import FlowType

__all__ = ["CorrectionError", "store_correction", "stored_examples", "retrain"]


class CorrectionError(ValueError):
    """A correction cannot be stored (unknown label, unknown event)."""


def store_correction(
    store: Any, network: str, event_id: str, label: str, *, labelled_by: str = "cli"
) -> dict[str, Any]:
    """Write one correction for a stored interaction; returns the row written."""
    if label not in LABELS:
        raise CorrectionError(f"label: {label!r} is not one of {', '.join(LABELS)}")
    rows = store.query(
        "SELECT source, kind, text FROM interactions FINAL WHERE network = %(network)s AND event_id = %(event_id)s LIMIT 1",
        {"network": network, "event_id": event_id},
    )
    if not rows:
        raise CorrectionError(f"event_id: {event_id!r} is not a stored interaction of network {network!r}")
    now = datetime.now(UTC)
    row = {
        "event_id": event_id,
        "network": network,
        "text": rows[0].get("text") or "",
        "kind": rows[0]["kind"],
        "source": rows[0]["source"],
        "label": FlowType(label).value,
        "labelled_by": labelled_by,
        "labelled_at": now.replace(microsecond=0),
        "labelled_at_ms": int(now.timestamp() * 1000),
    }
    store.write("labels", [row])
    return row


def stored_examples(store: Any, network: str | None = None) -> list[Example]:
    """The latest stored correction per event as training examples (all networks unless one is named)."""
    where = "WHERE network = %(network)s" if network else ""
    rows = store.query(
        f"SELECT network, event_id, source, kind, text, toString(label) AS label FROM labels FINAL {where} ORDER BY network, event_id",
        {"network": network} if network else None,
    )
    return [
        Example(f"label:{r['network']}:{r['event_id']}", r["source"], r["kind"], r["text"] or "", r["label"])
        for r in rows
    ]


def retrain(store: Any | None = None, *, home: Any = None) -> tuple[TextModel, int]:
    """Fit on the committed corpus plus stored corrections, save it as the default model; returns (model, corrections)."""
    examples = load_corpus()
    extra = stored_examples(store) if store is not None else []
    model = TextModel.fit(examples + extra)
    model.save(model_path(home))
    set_default_model(model)
    from valuenet.processors.classify import reset_caches

    reset_caches()
    return model, len(extra)
