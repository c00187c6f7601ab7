"""Score the classifier on any labelled JSONL: ``{"text", "label", "kind"?, "source"?}`` one object a line.

Each line is classified as the pipeline would (:func:`~valuenet.processors.classify.classify` on an
Interaction of that kind and source: guards, kind priors, the text read for typing, rules, then the
model); ``kind`` defaults to ``post`` and ``source`` to ``generic``. The label is taken as written:
a help-seeking question must be labelled ``none`` (LABELLING.md).

Scores, over the labels L present in the file's ``label`` column (a prediction of a label outside L
still counts as a miss of the true label)::

    P_l = TP_l / (TP_l + FP_l)      R_l = TP_l / (TP_l + FN_l)      F1_l = 2·P_l·R_l / (P_l + R_l)
    macro-F1 = (1/|L|) Σ_{l ∈ L} F1_l        accuracy = Σ_l TP_l / N

The confusion matrix has one row per label in L (true) and one column per flow type (predicted).
A bad line raises :class:`DatasetError` naming the line number and the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from valuenet.processors.classify import Classification, classify
from valuenet.processors.classify.model import LABELS, TextModel
from valuenet.schemas.interaction import Interaction, Kind, Source

__all__ = [
    "DatasetError",
    "LabelledText",
    "DatasetReport",
    "load_dataset",
    "score",
    "evaluate_dataset",
    "prediction_line",
]

_KINDS = {k.value: k for k in Kind}
_SOURCES = {s.value: s for s in Source}
_T0 = datetime(2025, 1, 1, tzinfo=UTC)


class DatasetError(ValueError):
    """A line of a labelled dataset is malformed; the message names the line number and the field."""


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One labelled line: the text, its label, and the kind and source it is classified as."""

    line: int
    text: str
    label: str
    kind: str = "post"
    source: str = "generic"


@dataclass(frozen=True)
class DatasetReport:
    """Scores of one labelled file."""

    path: str
    n: int
    labels: tuple[str, ...]  # present in the truth, in LABELS order
    macro_f1: float
    accuracy: float
    per_label: dict[str, tuple[float, float, float, int]]  # precision, recall, F1, support
    confusion: list[list[int]]  # rows: true label (``labels``), columns: predicted (LABELS)
    layers: dict[str, int] = field(default_factory=dict)  # decided by layer: guard, prior, rule, model

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form (``--json``)."""
        return {
            "path": self.path,
            "n": self.n,
            "labels": list(self.labels),
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "per_label": {
                k: {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": s}
                for k, (p, r, f, s) in self.per_label.items()
            },
            "confusion": {"rows": list(self.labels), "columns": list(LABELS), "counts": self.confusion},
            "layers": dict(sorted(self.layers.items())),
        }


def _parse_line(n: int, line: str) -> LabelledText:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise DatasetError(f"line {n}: not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(rec, dict):
        raise DatasetError(f"line {n}: expected a JSON object with 'text' and 'label', got {type(rec).__name__}")
    if "text" not in rec:
        raise DatasetError(f"line {n}: field 'text' is missing")
    text = rec["text"]
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise DatasetError(f"line {n}: field 'text' must be a string, got {type(text).__name__}")
    if "label" not in rec:
        raise DatasetError(f"line {n}: field 'label' is missing")
    label = rec["label"]
    if label not in LABELS:
        raise DatasetError(f"line {n}: field 'label': {label!r} is not one of {', '.join(LABELS)}")
    kind = rec.get("kind") or "post"
    if kind not in _KINDS:
        raise DatasetError(f"line {n}: field 'kind': {kind!r} is not one of {', '.join(_KINDS)}")
    source = rec.get("source") or "generic"
    if source not in _SOURCES:
        raise DatasetError(f"line {n}: field 'source': {source!r} is not one of {', '.join(_SOURCES)}")
    return LabelledText(n, text, label, kind, source)


def load_dataset(path: str | os.PathLike[str]) -> list[LabelledText]:
    """Read a labelled JSONL file; DatasetError names the line and field of a bad line (blank lines only at the end)."""
    out: list[LabelledText] = []
    blank: int | None = None
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                blank = blank or n
                continue
            if blank is not None:
                raise DatasetError(f"line {blank}: empty line (one JSON object a line; predictions follow the lines)")
            out.append(_parse_line(n, line))
    if not out:
        raise DatasetError(f"{path}: no labelled lines")
    return out


def _interaction(x: LabelledText) -> Interaction:
    return Interaction.model_construct(  # trusted fields: no per-line validation of a 100 KB text
        event_id=f"line-{x.line}",
        network="eval",
        source=_SOURCES[x.source],
        kind=_KINDS[x.kind],
        timestamp=_T0,
        actor=f"{x.source}:giver",
        target=f"{x.source}:receiver",
        text=x.text or None,
    )


def predict(items: Sequence[LabelledText], model: TextModel | None = None) -> list[Classification]:
    """The classifier's decision for each line, in order."""
    return [classify(_interaction(x), model=model) for x in items]


def score(path: str, truth: Sequence[str], pred: Sequence[str], reasons: Iterable[str] = ()) -> DatasetReport:
    """Macro-F1 over the labels present in ``truth``, per-label P/R/F1, accuracy and the confusion matrix."""
    labels = tuple(lab for lab in LABELS if lab in set(truth))
    per: dict[str, tuple[float, float, float, int]] = {}
    for lab in labels:
        tp = sum(t == lab and p == lab for t, p in zip(truth, pred))
        fp = sum(t != lab and p == lab for t, p in zip(truth, pred))
        fn = sum(t == lab and p != lab for t, p in zip(truth, pred))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = (prec, rec, f1, tp + fn)
    confusion = [[sum(t == r and p == c for t, p in zip(truth, pred)) for c in LABELS] for r in labels]
    layers: dict[str, int] = {}
    for why in reasons:
        layer = why.split(":", 1)[0]
        layers[layer] = layers.get(layer, 0) + 1
    n = len(truth)
    return DatasetReport(
        path=path,
        n=n,
        labels=labels,
        macro_f1=sum(f for _, _, f, _ in per.values()) / len(labels) if labels else 0.0,
        accuracy=sum(t == p for t, p in zip(truth, pred)) / n if n else 0.0,
        per_label=per,
        confusion=confusion,
        layers=layers,
    )


def prediction_line(c: Classification) -> str:
    """One ``--predictions`` line: ``{"flow_type", "confidence", "reason"}``."""
    return json.dumps(
        {"flow_type": c.flow_type.value, "confidence": c.confidence, "reason": c.reason}, ensure_ascii=False
    )


def evaluate_dataset(
    path: str | os.PathLike[str],
    *,
    predictions: str | os.PathLike[str] | None = None,
    model: TextModel | None = None,
) -> DatasetReport:
    """Classify every line of a labelled JSONL file, score it, and write predictions (one line per line) if asked."""
    items = load_dataset(path)
    cs = predict(items, model)
    if predictions is not None:
        out = Path(predictions)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text("".join(prediction_line(c) + "\n" for c in cs), encoding="utf-8")
        tmp.replace(out)
    return score(str(path), [x.label for x in items], [c.flow_type.value for c in cs], [c.reason for c in cs])
