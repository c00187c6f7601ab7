"""Analyst corrections: the ``labels`` row of one corrected event; retrain on corpus + labels.

Reading and writing them is ``valuenet.analytics.storage.labels`` (every SQL string lives in storage).

A correction copies the event's text, kind and source from ``interactions`` into the label
row, so retraining does not depend on how long interactions are kept. The latest label per
``(network, event_id)`` wins (``labels`` is a ReplacingMergeTree on ``labelled_at_ms``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from valuenet.processors.classify.model import LABELS, Example, TextModel, model_path, set_default_model
from valuenet.schemas.flow import FlowType

__all__ = ["CorrectionError", "check_label", "correction_row", "label_examples", "retrain", "last_report"]

last_report: Any = None  # the TrainReport of the latest retrain() in this process


class CorrectionError(ValueError):
    """A correction cannot be stored (unknown label, unknown event)."""


def check_label(label: str) -> str:
    """``label`` if it is one of the classifier's labels, else CorrectionError naming the field."""
    if label not in LABELS:
        raise CorrectionError(f"label: {label!r} is not one of {', '.join(LABELS)}")
    return label


def correction_row(
    interaction: dict[str, Any], network: str, event_id: str, label: str, *, labelled_by: str = "cli"
) -> dict[str, Any]:
    """The ``labels`` row correcting one stored interaction (``source``, ``kind``, ``text``) to ``label``."""
    check_label(label)
    now = datetime.now(UTC)
    return {
        "event_id": event_id,
        "network": network,
        "text": interaction.get("text") or "",
        "kind": interaction["kind"],
        "source": interaction["source"],
        "label": FlowType(label).value,
        "labelled_by": labelled_by,
        "labelled_at": now.replace(microsecond=0),
        "labelled_at_ms": int(now.timestamp() * 1000),
    }


def label_examples(rows: Iterable[dict[str, Any]]) -> list[Example]:
    """Stored ``labels`` rows (``network``, ``event_id``, ``source``, ``kind``, ``text``, ``label``) as training examples."""
    return [
        Example(f"label:{r['network']}:{r['event_id']}", r["source"], r["kind"], r["text"] or "", r["label"])
        for r in rows
    ]


def retrain(extra: list[Example] | None = None, *, home: Any = None, out: Any = None) -> TextModel:
    """Fit on corpus + shipped public corpora + ``extra`` (stored corrections), calibrated; save it as the default model.

    ``out``: write there instead of ``$VALUENET_HOME/models/classify-model.json``. The validation report of the
    run is kept in :data:`last_report`.
    """
    global last_report
    from valuenet.processors.classify.learn import train

    model, last_report = train(list(extra or []))
    model.save(out or model_path(home))
    set_default_model(model)
    from valuenet.processors.classify import reset_caches

    reset_caches()
    return model
