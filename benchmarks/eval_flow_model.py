"""Flow model on the group-held-out validation split: this model vs the previous design, model alone and full classifier.

Each model is fitted on the training part of :func:`valuenet.processors.classify.learn.group_split` only and
scored on its validation part, per dataset (macro-F1 over the labels present) with confusion matrices:

- ``model``: the text model alone (argmax);
- ``classifier``: ``classify_text`` — the text rules, then the model — as the pipeline runs it.

``--previous FILE`` (the previous ``model.py``, e.g. ``git show 4116efa:processors/classify/model.py``)
adds the previous linear model fitted on the same training part, and on our corpus only (as it shipped).

``--cross`` instead trains on all datasets but one and tests on all of that one (an unseen domain).

    python benchmarks/eval_flow_model.py [--previous /tmp/old_model.py] [--cross] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sklearn.metrics import confusion_matrix, f1_score

from valuenet.processors.classify import classify_text
from valuenet.processors.classify.learn import dataset_of, group_split, training_examples
from valuenet.processors.classify.model import LABELS, Example, TextModel
from valuenet.processors.classify.text import normalise


def _score(val: Sequence[Example], pred: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ds in [*sorted({dataset_of(e) for e in val}), "pooled"]:
        idx = [i for i, e in enumerate(val) if ds == "pooled" or dataset_of(e) == ds]
        yt = [val[i].label for i in idx]
        yp = [pred[i] for i in idx]
        present = [lab for lab in LABELS if lab in set(yt)]
        out[ds] = {
            "n": len(idx),
            "macro_f1": round(float(f1_score(yt, yp, labels=present, average="macro", zero_division=0)), 4),
            "confusion": confusion_matrix(yt, yp, labels=list(LABELS)).tolist(),
        }
    return out


def _run(name: str, model: Any, val: Sequence[Example], results: dict[str, Any]) -> None:
    alone = [model.predict(normalise(e.text), e.kind, e.source)[0] for e in val]
    full = [classify_text(e.text, e.kind, e.source, model).flow_type.value for e in val]
    results[f"{name} / model"] = _score(val, alone)
    results[f"{name} / classifier"] = _score(val, full)
    for k in ("model", "classifier"):
        r = results[f"{name} / {k}"]
        print(f"{name + ' / ' + k:<44}" + "  ".join(f"{ds} {v['macro_f1']:.3f}" for ds, v in r.items()), flush=True)


def main() -> None:
    """Fit, classify the validation split, print macro-F1 per dataset (and write JSON when asked)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--previous", help="the previous model.py, to compare with")
    ap.add_argument("--json", help="write every score and confusion matrix here")
    ap.add_argument("--cross", action="store_true", help="leave one dataset out instead of the held-out threads")
    args = ap.parse_args()
    examples = [e for e in training_examples() if e.is_text]
    fit_prev: Callable[[Sequence[Example]], Any] | None = None
    if args.previous:
        spec = importlib.util.spec_from_file_location("previous_model", args.previous)
        assert spec is not None and spec.loader is not None
        prev = importlib.util.module_from_spec(spec)
        sys.modules["previous_model"] = prev
        spec.loader.exec_module(prev)
        fit_prev = prev.TextModel.fit
    results: dict[str, Any] = {}
    if args.cross:  # leave one dataset out: train on the others, test on all of it (a domain it never saw)
        for ds in sorted({dataset_of(e) for e in examples}):
            train = [e for e in examples if dataset_of(e) != ds]
            test = [e for e in examples if dataset_of(e) == ds]
            print(f"unseen domain {ds}: train {len(train)} texts of the other datasets, test {len(test)}", flush=True)
            _run(f"this model, without {ds}", TextModel.fit(train), test, results)
            if fit_prev is not None:
                _run(f"previous, without {ds}", fit_prev(train), test, results)
    else:
        train, val = group_split(examples)
        print(f"train {len(train)} texts, validation {len(val)} texts (held out by thread)", flush=True)
        _run("this model", TextModel.fit(train), val, results)
        if fit_prev is not None:
            _run("previous, same training data", fit_prev(train), val, results)
            _run("previous, our corpus only", fit_prev([e for e in train if dataset_of(e) == "ours"]), val, results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
