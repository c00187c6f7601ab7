"""Layer 3: the learned text model for text-bearing kinds (post, reply, mention, quote, ticket).

Features of a normalised text ``x`` (see ``docs/flow-model.md``):

- binary lexical features from :func:`valuenet.processors.classify.text.features` (unigrams,
  bigrams, first and last word, length bucket, "?", kind, source), vectorised by ``DictVectorizer``;
- a *meaning* vector: the SIF-weighted mean of static word vectors distilled from the quantised
  MiniLM-L6 sentence encoder (:mod:`.distill`; the table ships as ``data/minilm-words.npz``)::

      m(x) = Σ_{w ∈ x} a_w v_w / Σ_{w ∈ x} a_w,   a_w = α / (α + p(w)),  α = 1e-3

  standardised per dimension with the training mean μ and deviation σ.

Head: scikit-learn ``LogisticRegression`` (multinomial, lbfgs — deterministic, balanced class
weights). Because the head is linear and the mean is linear in the word vectors, the fitted
model is exported to plain dicts and predicts without numpy::

    z_c = b_c − Σ_d μ_d β_{c,d}/σ_d + Σ_{f ∈ features(x)} w_{f,c} + Σ_w a_w u_{w,c} / Σ_w a_w,
    u_{w,c} = Σ_d v_{w,d} β_{c,d} / σ_d
    P(c | x) = exp(z_c / T) / Σ_k exp(z_k / T)

``T`` is the temperature fitted on a group-held-out validation split (:mod:`.learn`). The
explanation names the three lexical features adding most to the winning class and the meaning
vector's share (``~sense``).

Where the model comes from (:func:`default_model`): ``$VALUENET_HOME/models/classify-model.json``
when ``valuenet train classify`` wrote one, else the shipped ``data/classify-model.json``. A file
that cannot be read raises :class:`ModelLoadError` naming the file (the worker calls
:func:`default_model` at start, so it stops there, never mid-stream).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import exp
from operator import itemgetter
from pathlib import Path
from typing import Any

from valuenet.processors.classify.priors import TEXT_KINDS
from valuenet.processors.classify.text import TOKEN_RE, features, normalise
from valuenet.processors.classify.vocab import FeatureIndex
from valuenet.schemas.flow import FlowType
from valuenet.schemas.interaction import Kind, Source

__all__ = [
    "CORPUS_PATH",
    "DATA_DIR",
    "LABELS",
    "SHIPPED_MODEL",
    "Example",
    "TextModel",
    "CorpusError",
    "ModelLoadError",
    "load_corpus",
    "default_model",
    "model_path",
    "set_default_model",
]

CORPUS_PATH = Path(__file__).with_name("corpus.jsonl")
DATA_DIR = Path(__file__).with_name("data")
SHIPPED_MODEL = DATA_DIR / "classify-model.json"
LABELS: tuple[str, ...] = tuple(t.value for t in FlowType)
MODEL_FILE = "classify-model.json"
FORMAT = 2
DEFAULT_C = 0.3
SENSE_SCALE = 0.5
_DOMAIN = ("k=", "s=")  # kind and source name the training corpus, not the flow: not learned (generalisation)
MIN_DF = 2  # lexical features seen in fewer training texts are dropped (except in corrections)
_first = itemgetter(0)
_findall = TOKEN_RE.findall
_ROW_KEY = 1e4  # sort key row·K − contribution: |weights| ≪ K/2, distinct weights differ by ≥ 1e-6
_BATCH_MIN = 16  # below this many texts, the per-item path beats the sparse products


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


class ModelLoadError(RuntimeError):
    """A model file is missing, unreadable or malformed; the message names the file and the problem."""


class TextModel:
    """A fitted linear model over lexical features and distilled word vectors, exported to plain dicts."""

    __slots__ = (
        "labels",
        "intercept",
        "weights",
        "words",
        "temperature",
        "trained_ids",
        "fingerprint",
        "_n",
        "_fi",
        "_mats",
    )

    def __init__(
        self,
        labels: Sequence[str],
        intercept: Sequence[float],
        weights: dict[str, tuple[float, ...]],
        trained_ids: Iterable[str] = (),
        *,
        words: dict[str, tuple[float, ...]] | None = None,
        temperature: float = 1.0,
    ) -> None:
        self.labels = tuple(labels)
        self.intercept = tuple(float(b) for b in intercept)
        self.weights = {k: tuple(float(x) for x in v) for k, v in weights.items()}
        self.words = {k: tuple(float(x) for x in v) for k, v in (words or {}).items()}  # (a_w, a_w·u_w,c …)
        self.temperature = float(temperature)
        self.trained_ids = frozenset(trained_ids)
        self.fingerprint = hashlib.sha256("\n".join(sorted(self.trained_ids)).encode()).hexdigest()[:16]
        self._n = len(self.labels)
        self._fi: tuple[FeatureIndex, list[tuple[float, ...]]] | None = None
        self._mats: tuple[Any, dict[str, int], Any] | None = None
        if any(len(v) != self._n for v in self.weights.values()):
            raise ValueError(f"every weight vector needs {self._n} values (one per label)")
        if any(len(v) != self._n + 1 for v in self.words.values()):
            raise ValueError(f"every word entry needs {self._n + 1} values (weight, then one per label)")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    @classmethod
    def fit(
        cls,
        examples: Sequence[Example],
        *,
        C: float = DEFAULT_C,
        table: Any = None,
        temperature: float = 1.0,
        sense_scale: float = SENSE_SCALE,
    ) -> TextModel:
        """Fit on the text-bearing ``examples`` (deterministic for the same input and word table)."""
        import numpy as np
        import scipy.sparse as sp
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        from valuenet.processors.classify.learn import WordTable, dataset_weights

        tab: WordTable = table if table is not None else WordTable.load()
        ex = sorted((e for e in examples if e.is_text), key=lambda e: e.id)
        if len({e.label for e in ex}) < 2:
            raise ValueError("need at least two labels among text-bearing examples to fit the model")
        plains = [normalise(e.text) for e in ex]
        X = [dict.fromkeys(features(p, e.kind, e.source), 1) for p, e in zip(plains, ex)]
        df = Counter(f for row in X for f in row)
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        keep = {f for f, n in df.items() if n >= MIN_DF and not f.startswith(_DOMAIN) and f not in ENGLISH_STOP_WORDS}
        keep.update(
            f for row, e in zip(X, ex) if e.id.startswith("label:") for f in row
        )  # corrections teach every word
        X = [{f: 1 for f in row if f in keep} for row in X]
        y = [e.label for e in ex]
        vec = DictVectorizer(sparse=True)
        Xb = vec.fit_transform(X)
        E = tab.embed(plains)
        mu = E.mean(axis=0)
        sd = E.std(axis=0) + 1e-6
        sd = sd / sense_scale  # the meaning block enters as (m − μ)/σ · scale: its share against the L2 penalty
        Xm = sp.hstack([Xb, sp.csr_matrix((E - mu) / sd)]).tocsr()
        clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
        with threadpool_limits(1):  # BLAS threads only contend on a shared machine (10x slower there)
            clf.fit(Xm, y, sample_weight=dataset_weights(ex))
        labels = [str(c) for c in clf.classes_]
        coef = np.asarray(clf.coef_, dtype=np.float64)
        intercept = np.asarray(clf.intercept_, dtype=np.float64)
        if len(labels) == 2:  # binary: sklearn keeps one row z; rows ∓z/2 give softmax = sigmoid(z), its probability
            coef = np.vstack([-coef[0], coef[0]]) / 2
            intercept = np.array([-intercept[0], intercept[0]]) / 2
        nb = Xb.shape[1]
        wb, we = coef[:, :nb], coef[:, nb:] / sd  # β_{c,d}/σ_d
        intercept = intercept - we @ mu
        names = vec.get_feature_names_out()
        weights = {
            str(name): tuple(round(float(wb[c, j]), 6) for c in range(len(labels))) for j, name in enumerate(names)
        }
        U = tab.vectors.astype(np.float64) @ we.T  # u_{w,c}
        words = {
            w: (round(float(a), 6), *(round(float(a * u), 6) for u in U[i]))
            for i, (w, a) in enumerate(zip(tab.words, tab.weights.tolist()))
        }
        return cls(labels, intercept.tolist(), weights, (e.id for e in ex), words=words, temperature=temperature)

    def logits(self, plain: str, kind: str, source: str) -> list[float]:
        """The logits ``z_c`` (before the temperature) in ``labels`` order."""
        fi, rows = self._index()
        ws = [rows[i] for i in fi.ids(plain, kind, source)]
        s = [b + sum(col) for b, col in zip(self.intercept, zip(*ws))] if ws else list(self.intercept)
        hits = [e for e in map(self.words.get, _findall(plain.lower())) if e is not None]
        if hits:
            cols = list(zip(*hits))
            den = sum(cols[0])
            if den > 0:
                s = [x + sum(cols[c + 1]) / den for c, x in enumerate(s)]
        return s

    def predict(self, plain: str, kind: str, source: str) -> tuple[str, float, str]:
        """(label, calibrated probability, explanation) for normalised text of a kind and source.

        Pure Python (a few µs for a short text): lexical feature ids from
        :class:`~valuenet.processors.classify.vocab.FeatureIndex`, each label's score a column sum, the
        meaning term a weighted mean of the words' class contributions, then a softmax at temperature T.
        """
        fi, rows = self._index()
        toks = _findall(plain.lower())
        ids = fi.ids_of_tokens(toks, plain, kind, source)
        ws = [rows[i] for i in ids]
        s = [b + sum(col) for b, col in zip(self.intercept, zip(*ws))] if ws else list(self.intercept)
        hits = [e for e in map(self.words.get, toks) if e is not None]
        sense = None
        if hits:
            cols = list(zip(*hits))
            den = sum(cols[0])
            if den > 0:
                sense = [sum(cols[c + 1]) / den for c in range(self._n)]
                s = [x + y for x, y in zip(s, sense)]
        m = max(s)
        best = s.index(m)
        t = self.temperature
        p = 1.0 / sum([exp((x - m) / t) for x in s])
        names = fi.names
        top = sorted([(w[best], i) for i, w in zip(ids, ws) if w[best] > 0], key=_first, reverse=True)[:3]
        why = ", ".join([f"{names[i]!r} {c:+.2f}" for c, i in top])
        label = self.labels[best]
        return (label, p, f"model:{label} p={p:.2f} ({why}; ~sense {sense[best] if sense else 0.0:+.2f})")

    def predict_many(self, items: Sequence[tuple[str, str, str]]) -> list[tuple[str, float, str]]:
        """:meth:`predict` for a micro-batch, with identical results: two sparse products for all scores.

        Small batches go item by item; larger ones look features and words up in Python, then compute
        ``L = X·W`` (lexical) and ``S = A·[a, a·u]`` (meaning; A counts each word occurrence) with scipy
        CSR, summed in the same order as :meth:`predict`, and rank each row's lexical contributions to
        its winner with one stable ``argsort``.
        """
        if len(items) < _BATCH_MIN:
            predict = self.predict
            return [predict(p, k, s) for p, k, s in items]
        import numpy as np
        import scipy.sparse as sp

        fi, _ = self._index()
        W, widx, WW = self._matrices()
        of_tokens = fi.ids_of_tokens
        wget = widx.get
        flat: list[int] = []
        wflat: list[int] = []
        indptr = [0]
        wptr = [0]
        for p, k, s in items:
            toks = _findall(p.lower())
            flat.extend(of_tokens(toks, p, k, s))
            indptr.append(len(flat))
            wflat.extend(filter(None, map(wget, toks)))  # known words' rows (from 1: row 0 is unused), in order
            wptr.append(len(wflat))
        n = len(items)
        ids = np.array(flat, dtype=np.int64)
        ptr = np.array(indptr, dtype=np.int64)
        X = sp.csr_matrix((np.ones(len(flat)), ids, ptr), shape=(n, W.shape[0]))
        A = sp.csr_matrix(
            (np.ones(len(wflat)), np.array(wflat, dtype=np.int64), np.array(wptr, dtype=np.int64)),
            shape=(n, WW.shape[0]),
        )
        sr = X @ W + np.array(self.intercept)  # elementwise: the same roundings as predict's b + Σ
        mean = A @ WW
        den = mean[:, 0]
        has = den > 0
        sense = np.zeros((n, self._n))
        sense[has] = mean[has, 1:] / den[has, None]
        sr[has] += sense[has]
        best_arr = sr.argmax(axis=1)  # the first maximum, as list.index(max)
        top = sr[np.arange(n), best_arr]
        z = ((sr - top[:, None]) / self.temperature).tolist()
        probs = [1.0 / sum(map(exp, row)) for row in z]
        best_of = best_arr.tolist()
        senses = sense[np.arange(n), best_arr].tolist()
        labels = self.labels
        rows = np.repeat(np.arange(n), np.diff(ptr))
        contrib = W[ids, np.array(best_of, dtype=np.int64)[rows]] if flat else np.empty(0)
        pos = np.flatnonzero(contrib > 0)  # only features adding to the winner are named
        pos = pos[np.argsort(rows[pos] * _ROW_KEY - contrib[pos], kind="stable")]  # row, then contribution desc
        r_sorted = rows[pos]
        keep = pos[np.arange(len(pos)) - np.searchsorted(r_sorted, r_sorted) < 3]  # top 3 per row
        names = fi.names
        why_parts: list[list[str]] = [[] for _ in range(n)]
        for r, i, c in zip(rows[keep].tolist(), ids[keep].tolist(), contrib[keep].tolist()):
            why_parts[r].append(f"{names[i]!r} {c:+.2f}")
        out = []
        for label_i, prob, parts, sense_b in zip(best_of, probs, why_parts, senses):
            label = labels[label_i]
            out.append((label, prob, f"model:{label} p={prob:.2f} ({', '.join(parts)}; ~sense {sense_b:+.2f})"))
        return out

    def _matrices(self) -> tuple[Any, dict[str, int], Any]:
        """Lexical weights (features × labels), the word index, and word rows ``[a_w, a_w·u_w,c …]`` as numpy arrays."""
        if self._mats is None:
            import numpy as np

            fi, rows = self._index()
            W = np.array(rows, dtype=np.float64).reshape(len(rows), self._n)
            words = sorted(self.words)
            WW = np.zeros((len(words) + 1, self._n + 1))  # row 0 unused: word ids start at 1 (filter(None, …))
            if words:
                WW[1:] = np.array([self.words[w] for w in words], dtype=np.float64)
            self._mats = (W, {w: i for i, w in enumerate(words, start=1)}, WW)
        return self._mats

    def proba(self, plain: str, kind: str, source: str, temperature: float | None = None) -> list[float]:
        """Class probabilities in ``labels`` order at ``temperature`` (default: the model's)."""
        s = self.logits(plain, kind, source)
        t = self.temperature if temperature is None else temperature
        m = max(s)
        e = [exp((x - m) / t) for x in s]
        z = sum(e)
        return [x / z for x in e]

    def _index(self) -> tuple[FeatureIndex, list[tuple[float, ...]]]:
        """The lexical feature index and the weight rows in its order."""
        if self._fi is None:
            names = sorted(self.weights)
            self._fi = (FeatureIndex(names), [self.weights[f] for f in names])
        return self._fi

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form."""
        return {
            "format": FORMAT,
            "labels": list(self.labels),
            "intercept": list(self.intercept),
            "temperature": self.temperature,
            "weights": {k: list(v) for k, v in sorted(self.weights.items())},
            "words": {k: list(v) for k, v in sorted(self.words.items())},
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
            words={k: tuple(v) for k, v in doc.get("words", {}).items()},
            temperature=doc.get("temperature", 1.0),
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
        """Read a model written by :meth:`save`; ModelLoadError names the file and what is wrong."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise ModelLoadError(f"flow model {path}: cannot read it: {e.strerror or e}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelLoadError(f"flow model {path}: not JSON ({e}); retrain with `valuenet train classify`") from None
        if not isinstance(doc, dict):
            raise ModelLoadError(f"flow model {path}: expected a JSON object")
        for name in ("labels", "intercept", "weights"):
            if name not in doc:
                raise ModelLoadError(
                    f"flow model {path}: field '{name}' is missing; retrain with `valuenet train classify`"
                )
        unknown = set(doc["labels"]) - set(LABELS) if isinstance(doc["labels"], list) else {"?"}
        if unknown:
            raise ModelLoadError(f"flow model {path}: field 'labels': {sorted(unknown)} are not flow types")
        try:
            return cls.from_json(doc)
        except (TypeError, ValueError, AttributeError) as e:
            raise ModelLoadError(f"flow model {path}: malformed: {e}") from None


_default: TextModel | None = None


def model_path(home: str | os.PathLike[str] | None = None) -> Path:
    """Where ``valuenet train classify`` stores the retrained model: ``$VALUENET_HOME/models/classify-model.json``."""
    if home is None:
        from valuenet.config import get_settings

        home = get_settings().home
    return Path(home) / "models" / MODEL_FILE


def default_model() -> TextModel:
    """The model in use (cached): ``$VALUENET_HOME/models/classify-model.json`` if present, else the shipped file.

    ModelLoadError (naming the file) when it cannot be read: workers call this at start.
    """
    global _default
    if _default is None:
        p = model_path()
        _default = TextModel.load(p if p.is_file() else SHIPPED_MODEL)
    return _default


def set_default_model(model: TextModel | None) -> None:
    """Replace (or with None, forget) the cached model, e.g. after retraining."""
    global _default
    _default = model
