"""GraphStore.add_many (the batched path the analytics agent uses) against add() per flow, in the same run.

    python benchmarks/bench_graph_add.py [--actors 20000] [--flows 200000] [--batch 1000] [--repeats 3] [--before REV]

Flows from ``bench_metrics.generate`` (power-law actors, 7 days of event time, every kind),
fed to a fresh store with the default windows (1h, 24h, 7d) and live counters. The baseline is
``add()`` per flow of ``--before`` (default 859dfe1, the store before the batched path;
loaded with ``git show``), then today's ``add()`` per flow (same state as ``add_many``, tested
in tests/test_graph_batch.py). Medians of ``--repeats``, repeats interleaved, in flows per
CPU-second of this process (``time.process_time``: one core's rate, robust on a shared machine).
Each run starts after a full ``gc.collect()`` (the collections during a run are timed with it:
they scale with the long-lived objects a path creates, while the previous run's garbage is not its own).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_metrics import generate
from valuenet.analytics.graph_store import GraphStore

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, text: str) -> ModuleType:
    """Module ``name`` from source ``text`` (written to a temporary file)."""
    path = Path(tempfile.mkdtemp(prefix="vn-bench-")) / f"{name.rsplit('.', 1)[-1]}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def store_at(rev: str) -> type[GraphStore]:
    """``GraphStore`` as of git revision ``rev`` (its module and its outcomes module loaded from ``git show``)."""

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    text = show("analytics/graph_store.py")
    if "from valuenet.analytics.outcomes import" in text:  # its own thread state (ThreadState changed since)
        _load("valuenet.analytics._outcomes_before", show("analytics/outcomes.py"))
        text = text.replace(
            "from valuenet.analytics.outcomes import", "from valuenet.analytics._outcomes_before import"
        )
    if importlib.util.find_spec("valuenet.schemas.timeunits") is not None:  # to_epoch moved there since
        text = text.replace(
            "from valuenet.analytics.window import WindowSpec, bucket_of, retained_buckets, to_epoch",
            "from valuenet.analytics.window import WindowSpec, bucket_of, retained_buckets\n"
            "from valuenet.schemas.timeunits import to_epoch",
        )
    return _load("valuenet.analytics._graph_store_before", text).GraphStore


def main() -> None:
    """Run both paths and print the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actors", type=int, default=20_000)
    ap.add_argument("--flows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", default="859dfe1", help="git revision of the baseline store")
    args = ap.parse_args()
    before = store_at(args.before)
    flows = list(generate(args.actors, args.flows))
    for f in flows:
        f.__dict__.setdefault("lane", None)

    def per_flow_before() -> None:
        store = before("bench")
        for f in flows:
            store.add(f)

    def per_flow() -> None:
        store = GraphStore("bench")
        for f in flows:
            store.add(f)

    def batched() -> None:
        store = GraphStore("bench")
        for i in range(0, len(flows), args.batch):
            store.add_many(flows[i : i + args.batch])

    rates: dict[str, list[float]] = {
        f"add() per flow at {args.before} (baseline)": [],
        "add() per flow": [],
        f"add_many, {args.batch} per call": [],
    }
    for rep in range(args.repeats):
        for name, run in zip(rates, (per_flow_before, per_flow, batched), strict=True):
            gc.collect()  # every run starts from the same collector state (not the garbage of the run before)
            t0 = time.process_time()
            run()
            rates[name].append(args.flows / (time.process_time() - t0))
            print(f"  {name:<36} run {rep + 1}/{args.repeats}: {rates[name][-1]:>10,.0f} flows/CPU-s", flush=True)
    base = statistics.median(next(iter(rates.values())))
    print(f"\nGraphStore, {args.flows:,} flows over {args.actors:,} actors, median of {args.repeats}")
    print("| path | flows per CPU-second | × baseline |\n|---|---:|---:|")
    for name, r in rates.items():
        print(f"| {name} | {statistics.median(r):,.0f} | {statistics.median(r) / base:.2f} |")


if __name__ == "__main__":
    main()
