"""Classification throughput (events/s, one core) against a no-op baseline over the same events, same run.

Workloads:
- ``git``: the bundled git/git sample parsed into interactions (commits, applies, trailers: priors);
- ``corpus-unique``: the labelled corpus' interactions repeated, every text made unique
  (no cache hits: rules + model on every text-bearing event — the worst case);
- ``texts-unique``: only the corpus' text-bearing events (post, reply, mention, quote, ticket), every
  text made unique: free texts through the rules and the model, nothing decided by a kind prior;
- ``corpus-repeats``: the same corpus repeated verbatim (repeated texts hit the LRU cache).

For each: the no-op loop, ``classify()`` per event and ``classify_many()`` micro-batches of 512
(the path the processors stage takes through ``to_flows``), median of ``--rounds`` rounds
(caches reset before every round); prints progress, medians, ratios and the target check
(issue 4: ≥ 50k events/s per core). Wall-clock rates drop when other processes share the
cores; the per-CPU-second rate of ``classify_many`` is printed beside them.

    python benchmarks/bench_classify.py [--events 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from valuenet.ingest.parsers import parse
from valuenet.ingest.samples import git_sample
from valuenet.processors.classify import classify, classify_many, reset_caches
from valuenet.processors.classify.evaluate import as_interaction
from valuenet.processors.classify.model import default_model, load_corpus
from valuenet.schemas import Interaction, RawEnvelope, Source

TARGET = 50_000  # events/s per core (issue 4)


def _git(n: int) -> list[Interaction]:
    out: list[Interaction] = []
    for rec in git_sample():
        out.extend(parse(RawEnvelope(source=Source.git, network="bench", payload=rec)))
        if len(out) >= n:
            break
    return out[:n]


def _corpus(n: int, unique: bool, texts_only: bool = False) -> list[Interaction]:
    base = [as_interaction(e) for e in load_corpus() if e.is_text or not texts_only]
    out = []
    i = 0
    while len(out) < n:
        it = base[i % len(base)]
        if unique and it.text:
            it = it.model_copy(update={"text": f"{it.text} #{i}", "event_id": f"{it.event_id}-{i}"})
        out.append(it)
        i += 1
    return out


def _noop(events: Sequence[Interaction]) -> None:
    for it in events:
        _sink(it)


def _sink(it: Interaction) -> None:
    return None


def _one_by_one(events: Sequence[Interaction]) -> None:
    for it in events:
        classify(it)


def _batched(events: Sequence[Interaction]) -> None:
    for i in range(0, len(events), 512):
        classify_many(events[i : i + 512])


def _measure(
    name: str, fn: Callable[[Sequence[Interaction]], None], events: Sequence[Interaction], rounds: int
) -> tuple[float, float]:
    """Median events/s over ``rounds``: by wall clock, and by this process's CPU time (per core)."""
    rates, cpu_rates = [], []
    for r in range(rounds):
        reset_caches()
        t, c = time.perf_counter(), time.process_time()
        fn(events)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        rates.append(len(events) / dt)
        cpu_rates.append(len(events) / max(dc, 1e-9))
        print(
            f"  {name:<14} round {r + 1}/{rounds}: {rates[-1]:>12,.0f} events/s wall, {cpu_rates[-1]:>12,.0f} per CPU-second",
            flush=True,
        )
    return statistics.median(rates), statistics.median(cpu_rates)


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print("fitting the default model …", flush=True)
    default_model()
    workloads = {
        "git": _git(args.events),
        "corpus-unique": _corpus(args.events, unique=True),
        "texts-unique": _corpus(args.events, unique=True, texts_only=True),
        "corpus-repeats": _corpus(args.events, unique=False),
    }
    rows = []
    for name, events in workloads.items():
        print(f"{name}: {len(events):,} events", flush=True)
        base, _ = _measure("no-op", _noop, events, args.rounds)
        one, _ = _measure("classify", _one_by_one, events, args.rounds)
        many, many_cpu = _measure("classify_many", _batched, events, args.rounds)
        rows.append((name, base, one, many, many_cpu))
    print("\nmedian events/s (wall clock; 'many/CPU-s' = classify_many per CPU-second of this process, i.e. per core)")
    print(
        f"{'workload':<16}{'no-op':>14}{'classify':>14}{'classify_many':>16}{'many/CPU-s':>14}{'many/no-op':>12}{'≥ 50k':>8}"
    )
    for name, base, one, many, many_cpu in rows:
        ok = "yes" if many >= TARGET else "cpu" if many_cpu >= TARGET else "NO"
        print(f"{name:<16}{base:>14,.0f}{one:>14,.0f}{many:>16,.0f}{many_cpu:>14,.0f}{many / base:>12.3f}{ok:>8}")
    print("≥ 50k: yes = by wall clock; cpu = only per CPU-second (the machine was shared); NO = neither")


if __name__ == "__main__":
    main()
