"""Evaluation on a held-out split the model never trained on: macro-F1 and the confusion matrix.

Split discipline: examples are grouped by their normalised text (text-bearing kinds) so a
text and its near-copy never straddle the split; groups are split stratified by label with a
fixed seed (default 30 % held out, seed 13); the model is fitted on the training part only,
and :class:`EvalReport` carries both id sets and the model's training fingerprint so tests
can check that no held-out id reached the model.

The whole classifier is evaluated (guards, priors, rules, model), as it runs in the pipeline,
and separately on the text-bearing kinds only (rules + model), the hard part.

``macro-F1 = (1/|L|) Σ_{l ∈ L} 2·P_l·R_l / (P_l + R_l)`` over the labels L = knowledge, idea,
reputation, none. The expected flow of a help-seeking question labelled ``knowledge`` is
``none`` (:func:`expected_label`: a question is a request; the classifier says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from valuenet.processors.classify import classify
from valuenet.processors.classify.model import LABELS, Example, TextModel, load_corpus
from valuenet.processors.classify.text import is_question, normalise
from valuenet.schemas.interaction import Interaction, Kind, Source

__all__ = ["EvalReport", "expected_label", "split", "evaluate", "as_interaction", "DEFAULT_SEED", "DEFAULT_TEST_SIZE"]

DEFAULT_SEED = 13
DEFAULT_TEST_SIZE = 0.3
_T0 = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class EvalReport:
    """Scores of one evaluation run."""

    labels: tuple[str, ...]
    train_ids: frozenset[str]
    test_ids: frozenset[str]
    model_fingerprint: str
    model_trained_ids: frozenset[str]
    macro_f1: float
    text_macro_f1: float
    per_label: dict[str, tuple[float, float, float, int]]  # precision, recall, f1, support
    confusion: list[list[int]]  # rows: true label, columns: predicted, order ``labels``
    y_true: tuple[str, ...]
    y_pred: tuple[str, ...]
    layers: dict[str, int]  # how many held-out examples each layer decided


def _group_key(e: Example) -> str:
    if e.is_text:
        return "t:" + normalise(e.text).lower()
    return "id:" + e.id


def split(
    examples: Sequence[Example], *, test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED
) -> tuple[list[Example], list[Example]]:
    """Stratified (by label), grouped (by normalised text), seeded split into (train, test)."""
    from sklearn.model_selection import train_test_split

    groups: dict[str, list[Example]] = {}
    for e in sorted(examples, key=lambda e: e.id):
        groups.setdefault(_group_key(e), []).append(e)
    keys = sorted(groups)
    strata = [groups[k][0].label for k in keys]
    train_keys, test_keys = train_test_split(keys, test_size=test_size, random_state=seed, stratify=strata)
    train = [e for k in sorted(train_keys) for e in groups[k]]
    test = [e for k in sorted(test_keys) for e in groups[k]]
    return train, test


def as_interaction(e: Example, network: str = "eval") -> Interaction:
    """The example as the Interaction a parser would emit (actor/target are placeholders)."""
    return Interaction(
        event_id=e.id,
        network=network,
        source=Source(e.source),
        kind=Kind(e.kind),
        timestamp=_T0,
        actor=f"{e.source}:giver",
        target=f"{e.source}:receiver",
        text=e.text or None,
        metadata=dict(e.metadata),
    )


def expected_label(e: Example) -> str:
    """The flow the classifier must output: the label, except that a help-seeking question (labelled
    ``knowledge``, what it is about) is a request and must come out ``none``."""
    if e.label == "knowledge" and e.is_text and e.kind in _TEXT and is_question(normalise(e.text)):
        return "none"
    return e.label


_TEXT = frozenset({"post", "reply", "mention", "quote", "ticket"})


def evaluate(
    examples: Sequence[Example] | None = None,
    *,
    test_size: float = DEFAULT_TEST_SIZE,
    seed: int = DEFAULT_SEED,
) -> EvalReport:
    """Fit on the training split, classify the held-out split with the full classifier, score it."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    examples = list(examples) if examples is not None else load_corpus()
    train, test = split(examples, test_size=test_size, seed=seed)
    model = TextModel.fit(train)
    y_true: list[str] = []
    y_pred: list[str] = []
    t_true: list[str] = []
    t_pred: list[str] = []
    layers: dict[str, int] = {}
    for e in test:
        c = classify(as_interaction(e), model=model)
        layer = c.reason.split(":", 1)[0]
        layers[layer] = layers.get(layer, 0) + 1
        truth = expected_label(e)
        y_true.append(truth)
        y_pred.append(c.flow_type.value)
        if e.is_text:
            t_true.append(truth)
            t_pred.append(c.flow_type.value)
    labels = list(LABELS)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return EvalReport(
        labels=tuple(labels),
        train_ids=frozenset(e.id for e in train),
        test_ids=frozenset(e.id for e in test),
        model_fingerprint=model.fingerprint,
        model_trained_ids=model.trained_ids,
        macro_f1=float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        text_macro_f1=float(f1_score(t_true, t_pred, labels=labels, average="macro", zero_division=0)),
        per_label={lab: (float(p[i]), float(r[i]), float(f[i]), int(s[i])) for i, lab in enumerate(labels)},
        confusion=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        y_true=tuple(y_true),
        y_pred=tuple(y_pred),
        layers=layers,
    )
