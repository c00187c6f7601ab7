"""Analyst corrections in ClickHouse ``labels``: store one, read them back, retrain the classifier on them."""

from __future__ import annotations

from typing import Any

from valuenet.analytics.storage.reader import Reader, StoreLike
from valuenet.processors.classify.corrections import (
    CorrectionError,
    check_label,
    correction_row,
    label_examples,
    retrain,
)
from valuenet.processors.classify.model import Example, TextModel

__all__ = ["CorrectionError", "retrain_from_store", "store_correction", "stored_examples"]


def store_correction(
    store: Any, network: str, event_id: str, label: str, *, labelled_by: str = "cli"
) -> dict[str, Any]:
    """Write one correction for a stored interaction; returns the row written."""
    check_label(label)  # before the lookup: a bad label is named first
    interaction = Reader(store).interaction(network, event_id)
    if interaction is None:
        raise CorrectionError(f"event_id: {event_id!r} is not a stored interaction of network {network!r}")
    row = correction_row(interaction, network, event_id, label, labelled_by=labelled_by)
    store.write("labels", [row])
    return row


def stored_examples(store: StoreLike, network: str | None = None) -> list[Example]:
    """The latest stored correction per event as training examples (all networks unless one is named)."""
    return label_examples(Reader(store).labels(network))


def retrain_from_store(store: StoreLike | None = None, *, home: Any = None) -> tuple[TextModel, int]:
    """Fit on the committed corpus plus the stored corrections, save it as the default model; returns (model, corrections)."""
    extra = stored_examples(store) if store is not None else []
    return retrain(extra, home=home), len(extra)
