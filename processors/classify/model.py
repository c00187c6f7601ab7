"""Layer 3: a linear text model for text-bearing kinds (post, reply, mention, quote, ticket).

Training: scikit-learn ``LogisticRegression`` (multinomial, lbfgs — deterministic) over
binary features from :func:`processors.classify.text.features` (unigrams, bigrams, first
and last word, length bucket, "?", kind, source), vectorised by ``DictVectorizer``.

Prediction does not call scikit-learn: the fitted coefficients are exported to a plain
``feature → per-class weights`` dict, so one prediction is a few dict look-ups and
additions (the exact decision function of the fitted model, because the features are
binary and unscaled)::

    score_c = b_c + Σ_{f ∈ features(x)} w_{f,c}
    P(c | x) = exp(score_c) / Σ_k exp(score_k)

The explanation names the three features contributing most to the winning class.

Where the model comes from (:func:`default_model`): ``$VALUENET_HOME/models/classify-model.json``
when ``valuenet train classify`` wrote one (corpus + stored corrections), else trained at
first use from the committed corpus (``corpus.jsonl``, ~0.5 s).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from schemas.flow import FlowType
from schemas.interaction import Kind, Source

from processors.classify.priors import TEXT_KINDS
from processors.classify.text import features, normalise

__all__ = [
    "CORPUS_PATH",
    "LABELS",
    "Example",
    "TextModel",
    "CorpusError",
    "load_corpus",
    "default_model",
    "model_path",
    "set_default_model",
]

CORPUS_PATH = Path(__file__).with_name("corpus.jsonl")
LABELS: tuple[str, ...] = tuple(t.value for t in FlowType)
MODEL_FILE = "classify-model.json"
DEFAULT_C = 4.0


class CorpusError(ValueError):
    """A corpus line is malformed; the message names the line and the field."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled example: what the platform sent (source, kind, text, metadata) and the label."""

    id: str
    source: str
    kind: str
    text: str
    label: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_text(self) -> bool:
        """True when the kind is decided by text (rules and model), not by a prior."""
        return Kind(self.kind) in TEXT_KINDS


def load_corpus(path: str | os.PathLike[str] = CORPUS_PATH) -> list[Example]:
    """Read a labelled JSONL corpus; CorpusError names the line and field of a bad record."""
    out: list[Example] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusError(f"{path}:{n}: not JSON: {e}") from None
            out.append(_example(rec, f"{path}:{n}"))
            if out[-1].id in seen:
                raise CorpusError(f"{path}:{n}: field 'id': duplicate {out[-1].id!r}")
            seen.add(out[-1].id)
    return out


def _example(rec: Any, where: str) -> Example:
    if not isinstance(rec, dict):
        raise CorpusError(f"{where}: expected an object")
    for name in ("id", "source", "kind", "label"):
        if not isinstance(rec.get(name), str) or not rec[name]:
            raise CorpusError(f"{where}: field '{name}': missing or not a string")
    text = rec.get("text") or ""
    if not isinstance(text, str):
        raise CorpusError(f"{where}: field 'text': expected a string")
    if rec["label"] not in LABELS:
        raise CorpusError(f"{where}: field 'label': {rec['label']!r} is not one of {', '.join(LABELS)}")
    try:
        Kind(rec["kind"])
        Source(rec["source"])
    except ValueError as e:
        raise CorpusError(f"{where}: field 'kind'/'source': {e}") from None
    meta = rec.get("metadata") or {}
    if not isinstance(meta, dict):
        raise CorpusError(f"{where}: field 'metadata': expected an object")
    return Example(rec["id"], rec["source"], rec["kind"], text, rec["label"], meta)


class TextModel:
    """A fitted linear model exported to plain dicts; ``predict`` is pure Python."""

    __slots__ = ("labels", "intercept", "weights", "trained_ids", "fingerprint", "_index", "_W", "_b", "_feature_names")

    def __init__(
        self,
        labels: Sequence[str],
        intercept: Sequence[float],
        weights: dict[str, tuple[float, ...]],
        trained_ids: Iterable[str] = (),
    ) -> None:
        self.labels = tuple(labels)
        self.intercept = tuple(float(b) for b in intercept)
        self.weights = weights
        self.trained_ids = frozenset(trained_ids)
        self.fingerprint = hashlib.sha256("\n".join(sorted(self.trained_ids)).encode()).hexdigest()[:16]
        names = sorted(weights)
        self._feature_names = names
        self._index = {name: i for i, name in enumerate(names)}
        self._W = np.array([weights[n] for n in names], dtype=np.float64).reshape(len(names), len(self.labels))
        self._b = np.array(self.intercept, dtype=np.float64)

    @classmethod
    def fit(cls, examples: Sequence[Example], *, C: float = DEFAULT_C) -> "TextModel":
        """Fit on the text-bearing ``examples`` (deterministic for the same input)."""
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        ex = sorted((e for e in examples if e.is_text), key=lambda e: e.id)
        if len({e.label for e in ex}) < 2:
            raise ValueError("need at least two labels among text-bearing examples to fit the model")
        X = [dict.fromkeys(features(normalise(e.text), e.kind, e.source), 1) for e in ex]
        y = [e.label for e in ex]
        vec = DictVectorizer(sparse=True)
        Xm = vec.fit_transform(X)
        clf = LogisticRegression(C=C, max_iter=2000)
        clf.fit(Xm, y)
        labels = [str(c) for c in clf.classes_]
        coef = clf.coef_
        intercept = list(clf.intercept_)
        if len(labels) == 2:  # binary: sklearn keeps one row; expand to two symmetric rows
            coef = [-coef[0], coef[0]]
            intercept = [-intercept[0], intercept[0]]
        names = vec.get_feature_names_out()
        weights = {
            str(name): tuple(round(float(coef[c][j]), 6) for c in range(len(labels)))
            for j, name in enumerate(names)
        }
        return cls(labels, intercept, weights, (e.id for e in ex))

    def scores(self, feats: Iterable[str]) -> list[float]:
        """Decision values ``b_c + Σ w_{f,c}`` per label."""
        idx = [i for i in map(self._index.get, feats) if i is not None]
        return (self._W[idx].sum(axis=0) + self._b).tolist()

    def predict(self, plain: str, kind: str, source: str) -> tuple[str, float, str]:
        """(label, probability, explanation) for normalised text of a kind and source."""
        return self.predict_many([(plain, kind, source)])[0]

    def predict_many(self, items: Sequence[tuple[str, str, str]]) -> list[tuple[str, float, str]]:
        """:meth:`predict` for a micro-batch: one sparse matrix product for all items."""
        get = self._index.get
        rows = [sorted({i for i in map(get, features(p, k, s)) if i is not None}) for p, k, s in items]
        indptr = np.cumsum([0] + [len(r) for r in rows])
        indices = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(indptr[-1]))
        X = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), self._W.shape[0]))
        S = X @ self._W + self._b
        best = S.argmax(axis=1)
        m = S[np.arange(len(rows)), best]
        probs = 1.0 / np.exp(S - m[:, None]).sum(axis=1)
        names = self._feature_names
        out = []
        for r, b, p in zip(rows, best.tolist(), probs.tolist()):
            contrib = self._W[r, b] if r else np.empty(0)
            top = [j for j in np.argsort(-contrib)[:3].tolist() if contrib[j] > 0]
            why = ", ".join(f"{names[r[j]]!r} {contrib[j]:+.2f}" for j in top)
            out.append((self.labels[b], p, f"model:{self.labels[b]} p={p:.2f} ({why})"))
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form."""
        return {
            "labels": list(self.labels),
            "intercept": list(self.intercept),
            "weights": {k: list(v) for k, v in self.weights.items()},
            "trained_ids": sorted(self.trained_ids),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "TextModel":
        """Rebuild from :meth:`to_json` output."""
        return cls(doc["labels"], doc["intercept"], {k: tuple(v) for k, v in doc["weights"].items()}, doc.get("trained_ids", ()))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model as JSON (atomically)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")), encoding="utf-8")
        tmp.replace(p)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "TextModel":
        """Read a model written by :meth:`save`."""
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


_default: TextModel | None = None


def model_path(home: str | os.PathLike[str] | None = None) -> Path:
    """Where ``valuenet train classify`` stores the retrained model: ``$VALUENET_HOME/models/classify-model.json``."""
    if home is None:
        from valuenet.config import get_settings

        home = get_settings().home
    return Path(home) / "models" / MODEL_FILE


def default_model() -> TextModel:
    """The model in use: the retrained file if present, else one fitted on the committed corpus (cached)."""
    global _default
    if _default is None:
        p = model_path()
        _default = TextModel.load(p) if p.is_file() else TextModel.fit(load_corpus())
    return _default


def set_default_model(model: TextModel | None) -> None:
    """Replace (or with None, forget) the cached model, e.g. after retraining."""
    global _default
    _default = model
