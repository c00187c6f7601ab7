"""Write the validation splits of the shared labelled corpora to ``processors/classify/eval/`` (reproducible).

Groups (the ``group`` field: a GitHub issue, a Reddit comment) are sorted, shuffled with
``random.Random(SEED)`` and the first ``round(30 % · groups)`` are held out; every row of a
held-out group goes to ``<name>.val.jsonl`` with ``kind`` = ``reply`` and ``source`` = the
platform added, so ``valuenet eval classify --dataset`` classifies it as the pipeline would.
The other groups (the rest of each shared file) are the part a model may train on.

    python benchmarks/classify_splits.py [--labelled /work/shared/datasets/labelled] [--out processors/classify/eval]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEED = 13
TEST_SIZE = 0.3
PLATFORM = {"arya-github-issues": "github", "goemotions-reddit": "reddit"}


def split_groups(groups: list[str], seed: int = SEED, test_size: float = TEST_SIZE) -> set[str]:
    """The held-out groups: the first round(test_size · n) of the sorted groups shuffled with ``seed``."""
    order = sorted(set(groups))
    random.Random(seed).shuffle(order)
    return set(order[: max(1, round(test_size * len(order)))])


def main() -> None:
    """Write one ``.val.jsonl`` per shared corpus and print its size and label mix."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labelled", default="/work/shared/datasets/labelled")
    ap.add_argument("--out", default=str(Path(__file__).parents[1] / "processors/classify/eval"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, platform in PLATFORM.items():
        rows = [json.loads(line) for line in open(Path(args.labelled) / f"{name}.train.jsonl", encoding="utf-8")]
        held = split_groups([r["group"] for r in rows])
        val = [{**r, "kind": "reply", "source": platform} for r in rows if r["group"] in held]
        with open(out / f"{name}.val.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in val)
        mix = {lab: sum(r["label"] == lab for r in val) for lab in ("knowledge", "idea", "reputation", "none")}
        print(f"{name}: {len(val)} of {len(rows)} rows, {len(held)} groups held out; {mix}")


if __name__ == "__main__":
    main()
