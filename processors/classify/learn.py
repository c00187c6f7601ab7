"""Training the shipped flow model: data, word table, group-held-out validation, calibration.

Data (``data/README.md`` lists origin and licence): our corpus (``corpus.jsonl``), two
human-labelled public corpora copied into ``data/`` (Arya et al. GitHub issue sentences, MIT;
GoEmotions Reddit comments, Apache-2.0), and the corrections stored with ``valuenet label``.

Validation split, by group (thread): a GitHub issue, a Reddit comment, or for our corpus and
corrections the normalised text. Per dataset, groups are ordered by ``sha256(group)`` and the first
25 % (at least one) are held out — deterministic, no seed to forget.

Calibration: temperature scaling. ``T`` minimises the negative log-likelihood of the validation
labels under ``softmax(z / T)`` of the model fitted on the training part; the shipped model is then
fitted on all data and carries that ``T``. Expected calibration error over 10 equal-width bins of
the top probability::

    ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from valuenet.processors.classify.model import (
    DATA_DIR,
    LABELS,
    SHIPPED_MODEL,
    Example,
    TextModel,
    load_corpus,
)
from valuenet.processors.classify.text import TOKEN_RE, normalise

__all__ = [
    "DATASETS",
    "TABLE_PATH",
    "WordTable",
    "TrainReport",
    "load_external",
    "relabel",
    "training_examples",
    "group_of",
    "dataset_of",
    "dataset_weights",
    "group_split",
    "fit_temperature",
    "ece",
    "train",
    "build_table",
]

TABLE_PATH = DATA_DIR / "minilm-words.npz"
EVAL_DIR = Path(__file__).with_name("eval")  # the committed validation splits (benchmarks/classify_splits.py)
DATASETS = {  # file → (dataset name, source, kind)
    "arya-github-issues.train.jsonl": ("arya-github-issues", "github", "reply"),
    "goemotions-reddit.train.jsonl": ("goemotions-reddit", "reddit", "reply"),
}
SIF_ALPHA = 1e-3
HOLDOUT = 0.25
UNCERTAIN_BELOW = 0.5  # the default of settings.classify_uncertain_below
_findall = TOKEN_RE.findall


@dataclass(frozen=True)
class WordTable:
    """Distilled word vectors (PCA-reduced MiniLM embeddings) and their SIF weights ``a_w``."""

    words: list[str]
    vectors: np.ndarray  # float16, len(words) × dims
    weights: np.ndarray  # float32, a_w = α / (α + p(w))

    @classmethod
    def load(cls, path: Path = TABLE_PATH) -> WordTable:
        """Read the table (``words`` newline-joined, ``vectors``, ``weights``) from an ``.npz`` file."""
        with np.load(path, allow_pickle=False) as z:
            return cls(str(z["words"]).split("\n"), z["vectors"], z["weights"])

    def save(self, path: Path = TABLE_PATH) -> None:
        """Write the table as a compressed ``.npz``."""
        np.savez_compressed(path, words=np.array("\n".join(self.words)), vectors=self.vectors, weights=self.weights)

    def embed(self, plains: Sequence[str]) -> np.ndarray:
        """SIF-weighted mean word vector of each normalised text (zeros when no word is known)."""
        index = {w: i for i, w in enumerate(self.words)}
        vec = self.vectors.astype(np.float64)
        out = np.zeros((len(plains), vec.shape[1]))
        for r, p in enumerate(plains):
            ids = [index[w] for w in _findall(p.lower()) if w in index]
            if ids:
                a = self.weights[ids].astype(np.float64)
                out[r] = (vec[ids] * a[:, None]).sum(axis=0) / a.sum()
        return out


def relabel(dataset: str, source_label: str | None, text: str, label: str) -> str:
    """The label LABELLING.md gives where the shipped mapping disagrees with it.

    Arya's *Social Conversation* is mapped to reputation, but most of its sentences that carry no
    thanks, praise, agreement or "+1" are chit-chat and meta talk ("Tricky", "**EDIT:**", "Sent from
    my phone", "Haha that Donald Trump one is quite something"): LABELLING.md makes those ``none``.
    Arya's *Solution Discussion* is mapped to idea, but its sentences with no proposing word (should,
    could, suggest, maybe, instead, I think, …) explain, report findings or show what was tried ("moving
    mean and variance are not trainable variables", "1.5 expects Cuda 9.0, not 9.1", "I tried changing
    the n_jobs parameter to 1, -1, but neither of these worked"): knowledge (``none`` when a question).
    """
    if dataset == "arya-github-issues" and source_label == "Social Conversation" and not _SOCIAL_VALUE.search(text):
        return "none"
    if dataset == "arya-github-issues" and source_label == "Solution Discussion" and not _PROPOSING.search(text):
        return "none" if text.rstrip().endswith("?") else "knowledge"
    return label


_PROPOSING = re.compile(
    r"\b(?:should|could|would|suggest|propos|maybe|perhaps|instead|let's|i think|how about|what about|what if|"
    r"might|prefer|option|alternative|wish|rather|idea|consider)",
    re.I,
)
_SOCIAL_VALUE = re.compile(
    r"thank|thx|\bty\b|great|awesome|nice|cool|love|appreciat|\+1|lgtm|agree|good|congrat|welcome|kudos|excellent|"
    r"amazing|perfect|sounds|\byes\b|\byep\b|\byeah\b|\bsure\b|fantastic|brilliant|helpful|glad|happy|bravo|wow|sweet|"
    r"neat|exactly|indeed|right\b|\bok\b|okay|hooray|yay|cheers|:\)|!",
    re.I,
)


def load_external(data_dir: Path = DATA_DIR) -> list[Example]:
    """The shipped public corpora as examples (``metadata``: dataset, group, source_label), :func:`relabel` applied."""
    out: list[Example] = []
    for name, (dataset, source, kind) in DATASETS.items():
        with open(data_dir / name, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    sl = r.get("source_label")
                    meta = {"dataset": dataset, "group": r["group"], "source_label": sl}
                    label = relabel(dataset, sl, r["text"], r["label"])
                    out.append(Example(r["id"], source, kind, r["text"], label, meta))
    return out


def training_examples(extra: Sequence[Example] = ()) -> list[Example]:
    """Corpus + shipped public corpora + ``extra`` (stored corrections)."""
    return load_corpus() + load_external() + list(extra)


def dataset_of(e: Example) -> str:
    """The dataset an example belongs to (``ours`` for the corpus, ``labels`` for corrections)."""
    d = e.metadata.get("dataset") if e.metadata else None
    if isinstance(d, str):
        return d
    return "labels" if e.id.startswith("label:") else "ours"


def dataset_weights(examples: Sequence[Example]) -> np.ndarray:
    """Per-example weights giving every dataset the same total weight: ``w = N / (D · N_d)``.

    Corrections count with our corpus (a handful of them must not outweigh a dataset). Without it
    GoEmotions (all reputation/none) and Arya (mostly idea/knowledge) would set the class priors.
    """
    ds = ["ours" if d == "labels" else d for d in map(dataset_of, examples)]
    n = Counter(ds)
    return np.array([len(ds) / (len(n) * n[d]) for d in ds])


def group_of(e: Example) -> str:
    """The thread an example belongs to: its ``group`` field, else its normalised text."""
    g = e.metadata.get("group") if e.metadata else None
    return str(g) if g else "t:" + normalise(e.text).lower()


def eval_groups(eval_dir: Path = EVAL_DIR) -> set[tuple[str, str]]:
    """(dataset, group) of every row of the committed validation splits (``processors/classify/eval``)."""
    held: set[tuple[str, str]] = set()
    for path in sorted(eval_dir.glob("*.val.jsonl")):
        with open(path, encoding="utf-8") as fh:
            held.update((r["dataset"], str(r["group"])) for r in map(json.loads, filter(str.strip, fh)))
    return held


def group_split(examples: Sequence[Example], holdout: float = HOLDOUT) -> tuple[list[Example], list[Example]]:
    """(train, validation) by thread: the public corpora's groups of the committed validation splits
    (:func:`eval_groups`, what ``valuenet eval classify --dataset`` scores) are held out; for the other
    datasets (ours, corrections) the first ``holdout`` share of groups by sha256."""
    committed = eval_groups()
    split_ds = {ds for ds, _ in committed}
    by_ds: dict[str, set[str]] = {}
    for e in examples:
        by_ds.setdefault(dataset_of(e), set()).add(group_of(e))
    held: set[tuple[str, str]] = {k for k in committed if k[0] in by_ds}
    for ds, groups in by_ds.items():
        if ds in split_ds:
            continue
        ordered = sorted(groups, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
        k = max(1, round(len(ordered) * holdout)) if len(ordered) > 1 else 0
        held.update((ds, g) for g in ordered[:k])
    train = [e for e in examples if (dataset_of(e), group_of(e)) not in held]
    val = [e for e in examples if (dataset_of(e), group_of(e)) in held]
    return train, val


def _logits(model: TextModel, examples: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    z = np.array([model.logits(normalise(e.text), e.kind, e.source) for e in examples])
    y = np.array([model.labels.index(e.label) for e in examples])
    return z, y


def _nll(z: np.ndarray, y: np.ndarray, t: float) -> float:
    s = z / t
    s = s - s.max(axis=1, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(z: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the validation NLL (bounded search over log T in [ln 0.05, ln 20])."""
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(
        lambda lt: _nll(z, y, float(np.exp(lt))), bounds=(np.log(0.05), np.log(20.0)), method="bounded"
    )
    return round(float(np.exp(res.x)), 4)


def ece(conf: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width bins of confidence."""
    c = np.asarray(conf, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    idx = np.minimum((c * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(c) * abs(ok[m].mean() - c[m].mean())
    return float(total)


def _top(z: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    s = z / t
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    return p.argmax(axis=1), p.max(axis=1)


@dataclass
class TrainReport:
    """What training measured on the group-held-out validation split."""

    n_train: int
    n_val: int
    temperature: float
    ece_before: float
    ece_after: float  # T fitted and measured on the same validation split
    ece_crossfit: float  # T fitted on half of the validation threads, measured on the other half (both ways)
    uncertain_share: float  # validation texts whose calibrated confidence is below UNCERTAIN_BELOW
    accuracy_uncertain: float | None  # accuracy of the model on those
    accuracy_certain: float | None  # and on the rest
    per_dataset: dict[str, dict[str, Any]]  # dataset → macro_f1, n, labels, confusion (rows true, cols predicted)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form."""
        return dict(self.__dict__)


def _scores(model: TextModel, val: Sequence[Example], z: np.ndarray, y: np.ndarray) -> dict[str, dict[str, Any]]:
    from sklearn.metrics import confusion_matrix, f1_score

    pred, _ = _top(z, 1.0)
    out: dict[str, dict[str, Any]] = {}
    dss = sorted({dataset_of(e) for e in val})
    for ds in [*dss, "pooled"]:
        idx = [i for i, e in enumerate(val) if ds == "pooled" or dataset_of(e) == ds]
        yt = [model.labels[y[i]] for i in idx]
        yp = [model.labels[pred[i]] for i in idx]
        present = [lab for lab in LABELS if lab in set(yt)]
        out[ds] = {
            "n": len(idx),
            "macro_f1": round(float(f1_score(yt, yp, labels=present, average="macro", zero_division=0)), 4),
            "labels": list(LABELS),
            "confusion": confusion_matrix(yt, yp, labels=list(LABELS)).tolist(),
        }
    return out


def train(extra: Sequence[Example] = (), *, table: WordTable | None = None) -> tuple[TextModel, TrainReport]:
    """Fit on the training split, calibrate and score on the validation split, then refit on everything with that T.

    The report's figures are the held-out ones; the shipped model has seen the committed splits too, so
    ``valuenet eval classify --dataset`` on them is not a held-out measure (docs/flow-model.md)."""
    tab = table or WordTable.load()
    examples = [e for e in training_examples(extra) if e.is_text]
    tr, val = group_split(examples)
    m_tr = TextModel.fit(tr, table=tab)
    z, y = _logits(m_tr, val)
    t = fit_temperature(z, y)
    pred0, conf0 = _top(z, 1.0)
    _, conf1 = _top(z, t)
    # honest ECE: T fitted on one half of the validation threads, measured on the other (both ways)
    half = np.array([int(hashlib.sha256(group_of(e).encode()).hexdigest(), 16) % 2 for e in val], dtype=bool)
    conf_x = np.empty(len(val))
    for side in (False, True):
        fit_on, test_on = half == side, half != side
        if fit_on.any() and test_on.any():
            conf_x[test_on] = _top(z[test_on], fit_temperature(z[fit_on], y[fit_on]))[1]
        else:
            conf_x[test_on] = conf1[test_on]
    below = conf1 < UNCERTAIN_BELOW
    report = TrainReport(
        n_train=len(tr),
        n_val=len(val),
        temperature=t,
        ece_before=round(ece(conf0, pred0 == y), 4),
        ece_after=round(ece(conf1, pred0 == y), 4),
        ece_crossfit=round(ece(conf_x, pred0 == y), 4),
        uncertain_share=round(float(below.mean()), 4),
        accuracy_uncertain=round(float((pred0 == y)[below].mean()), 4) if below.any() else None,
        accuracy_certain=round(float((pred0 == y)[~below].mean()), 4) if (~below).any() else None,
        per_dataset=_scores(m_tr, val, z, y),
    )
    return TextModel.fit(examples, table=tab, temperature=t), report


def build_table(words: Sequence[str] | None = None, encoder: Path | None = None) -> WordTable:
    """Distil the word table from the MiniLM encoder: our training words + whole-word WordPiece entries, SIF weights from the training texts."""
    from valuenet.processors.classify.distill import distil, wordpiece_words

    counts = Counter(w for e in training_examples() for w in _findall(normalise(e.text).lower()))
    vocab = set(words) if words is not None else set(wordpiece_words(encoder)) | {w for w in counts if len(w) <= 30}
    ws, vec = distil(vocab, encoder)
    n = sum(counts.values())
    weights = np.array([SIF_ALPHA / (SIF_ALPHA + (counts.get(w, 0) + 1) / n) for w in ws], dtype=np.float32)
    return WordTable(ws, vec, weights)


def shipped_path() -> Path:
    """Where the model shipped in the package lives."""
    return SHIPPED_MODEL
