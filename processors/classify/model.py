"""Layer 3: a linear text model for text-bearing kinds (post, reply, mention, quote, ticket).

Training: scikit-learn ``LogisticRegression`` (multinomial, lbfgs — deterministic) over
binary features from :func:`valuenet.processors.classify.text.features` (unigrams, bigrams, first
and last word, length bucket, "?", kind, source), vectorised by ``DictVectorizer``.

Prediction does not call scikit-learn: the fitted coefficients are exported to a plain
``feature → per-class weights`` dict, so one prediction is a few dict look-ups and
additions (the exact decision function of the fitted model, because the features are
binary and unscaled); it runs in pure Python (no numpy/scipy per event — their call
overhead dominated short texts)::

    score_c = b_c + Σ_{f ∈ features(x)} w_{f,c}
    P(c | x) = exp(score_c) / Σ_k exp(score_k)

The explanation names the three features contributing most to the winning class (ties: the
feature met first). ``predict_many`` gives the same results with one sparse product per batch.

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
from math import exp
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from valuenet.processors.classify.priors import TEXT_KINDS
from valuenet.processors.classify.text import features, normalise
from valuenet.processors.classify.vocab import FeatureIndex
from valuenet.schemas.flow import FlowType
from valuenet.schemas.interaction import Kind, Source

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
_ROW_KEY = 1e4  # sort key row·K − contribution: |weights| ≪ K/2, distinct weights differ by ≥ 1e-6
_first = itemgetter(0)
_BATCH_MIN = 16  # below this many texts, the per-item path beats the sparse product


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

    __slots__ = ("labels", "intercept", "weights", "trained_ids", "fingerprint", "_n", "_mat")

    def __init__(
        self,
        labels: Sequence[str],
        intercept: Sequence[float],
        weights: dict[str, tuple[float, ...]],
        trained_ids: Iterable[str] = (),
    ) -> None:
        self.labels = tuple(labels)
        self.intercept = tuple(float(b) for b in intercept)
        self.weights = {k: tuple(float(x) for x in v) for k, v in weights.items()}
        self.trained_ids = frozenset(trained_ids)
        self.fingerprint = hashlib.sha256("\n".join(sorted(self.trained_ids)).encode()).hexdigest()[:16]
        self._n = len(self.labels)
        self._mat: tuple[np.ndarray, FeatureIndex, list[tuple[float, ...]]] | None = None
        if any(len(v) != self._n for v in self.weights.values()):
            raise ValueError(f"every weight vector needs {self._n} values (one per label)")

    @classmethod
    def fit(cls, examples: Sequence[Example], *, C: float = DEFAULT_C) -> TextModel:
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
            str(name): tuple(round(float(coef[c][j]), 6) for c in range(len(labels))) for j, name in enumerate(names)
        }
        return cls(labels, intercept, weights, (e.id for e in ex))

    def scores(self, feats: Iterable[str]) -> list[float]:
        """Decision values ``b_c + Σ_{f ∈ set(feats)} w_{f,c}`` per label (each feature counted once)."""
        get = self.weights.get
        rows = [w for w in map(get, dict.fromkeys(feats)) if w is not None]
        if not rows:
            return list(self.intercept)
        return [b + sum(col) for b, col in zip(self.intercept, zip(*rows))]

    def predict(self, plain: str, kind: str, source: str) -> tuple[str, float, str]:
        """(label, probability, explanation) for normalised text of a kind and source.

        Pure Python (a few µs for a short text): the known features' ids come from
        :class:`~valuenet.processors.classify.vocab.FeatureIndex`, each label's score is a column sum, then a softmax; the
        explanation names the three features adding most to the winning label.
        """
        W, fi, rows = self._matrix()
        ids = fi.ids(plain, kind, source)
        if ids:
            ws = [rows[i] for i in ids]
            s = [b + sum(col) for b, col in zip(self.intercept, zip(*ws))]
        else:
            ws = []
            s = list(self.intercept)
        m = max(s)
        best = s.index(m)
        p = 1.0 / sum([exp(x - m) for x in s])
        names = fi.names
        top = sorted([(w[best], i) for i, w in zip(ids, ws) if w[best] > 0], key=_first, reverse=True)[:3]
        why = ", ".join([f"{names[i]!r} {c:+.2f}" for c, i in top])
        label = self.labels[best]
        return (label, p, f"model:{label} p={p:.2f} ({why})")

    def predict_many(self, items: Sequence[tuple[str, str, str]]) -> list[tuple[str, float, str]]:
        """:meth:`predict` for a micro-batch, with identical results: one sparse product for all scores.

        Small batches go item by item; larger ones look features up in Python, then compute
        ``S = X·W + b`` (scipy CSR, summed in the same order as :meth:`predict`) and rank
        each row's contributions to its winner with one stable ``argsort``.
        """
        if len(items) < _BATCH_MIN:
            predict = self.predict
            return [predict(p, k, s) for p, k, s in items]
        W, fi, _ = self._matrix()
        names = fi.names
        row_ids = fi.ids
        flat: list[int] = []
        extend = flat.extend
        indptr = [0]
        push = indptr.append
        for p, k, s in items:
            extend(row_ids(p, k, s))
            push(len(flat))
        n = len(items)
        ids = np.array(flat, dtype=np.int64)
        ptr = np.array(indptr, dtype=np.int64)
        X = sp.csr_matrix((np.ones(len(flat)), ids, ptr), shape=(n, W.shape[0]))
        scores = (X @ W).tolist()
        intercept = self.intercept
        labels = self.labels
        best_of: list[int] = []
        probs: list[float] = []
        for row in scores:
            sr = [sc + b for sc, b in zip(row, intercept)]
            m = max(sr)
            best_of.append(sr.index(m))
            probs.append(1.0 / sum([exp(x - m) for x in sr]))
        rows = np.repeat(np.arange(n), np.diff(ptr))
        contrib = W[ids, np.array(best_of, dtype=np.int64)[rows]] if flat else np.empty(0)
        pos = np.flatnonzero(contrib > 0)  # only features adding to the winner are named
        pos = pos[np.argsort(rows[pos] * _ROW_KEY - contrib[pos], kind="stable")]  # row, then contribution desc
        r_sorted = rows[pos]
        keep = pos[np.arange(len(pos)) - np.searchsorted(r_sorted, r_sorted) < 3]  # top 3 per row
        why_parts: list[list[str]] = [[] for _ in range(n)]
        for r, i, c in zip(rows[keep].tolist(), ids[keep].tolist(), contrib[keep].tolist()):
            why_parts[r].append(f"{names[i]!r} {c:+.2f}")
        out = []
        for label_i, prob, parts in zip(best_of, probs, why_parts):
            label = labels[label_i]
            out.append((label, prob, f"model:{label} p={prob:.2f} ({', '.join(parts)})"))
        return out

    def _matrix(self) -> tuple[np.ndarray, FeatureIndex, list[tuple[float, ...]]]:
        """The weights as a dense (features × labels) matrix, the feature index, and rows as tuples."""
        if self._mat is None:
            names = sorted(self.weights)
            rows = [self.weights[f] for f in names]
            W = np.array(rows, dtype=np.float64).reshape(len(names), self._n)
            self._mat = (W, FeatureIndex(names), rows)
        return self._mat

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form."""
        return {
            "labels": list(self.labels),
            "intercept": list(self.intercept),
            "weights": {k: list(v) for k, v in self.weights.items()},
            "trained_ids": sorted(self.trained_ids),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TextModel:
        """Rebuild from :meth:`to_json` output."""
        return cls(
            doc["labels"],
            doc["intercept"],
            {k: tuple(v) for k, v in doc["weights"].items()},
            doc.get("trained_ids", ()),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model as JSON (atomically)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")), encoding="utf-8")
        tmp.replace(p)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TextModel:
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
