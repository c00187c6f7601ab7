"""The processors stage in-process, on one core: raw packed records → interactions, flows, directory rows.

    python benchmarks/bench_stage.py [--events 20000] [--repeats 5] [--batch 500] [--split]

Inputs, each built before the clock starts: the bundled git sample (cycled with fresh hashes)
and a synthetic value network (Slack, GitHub, Discourse, Mastodon, Bluesky, Zendesk payloads),
packed ``--batch`` envelopes per record as the connectors' producer sends them, 4 lanes.
Baselines measured in the same run on the same records: ``json.loads`` of every record (the
JSON floor), the same with the cyclic garbage collector paused per 8 records as the stage
pauses it per ``process()`` call (the floor under the stage's GC regime), pydantic validation
of the envelopes (``RawBatch.validate_json``), the stage's typed decoder alone
(``fast_envelopes``: msgspec), the stage with the collector left on (``pause_gc=False``) and the
per-envelope reference path the batch path replaced (``ProcessorStage.process_each``: pydantic
envelopes, one ``to_flow`` per interaction), with the collector on (as before this path) and
paused per call like the batch path (what the batch structure alone gains). Each figure
is the median of ``--repeats`` runs, a fresh stage (empty deduper) each time, in events per
CPU-second of this process (``time.process_time``): one core's throughput, which the other
work on a shared machine does not distort the way wall-clock time is distorted.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._stack import envelope, git_payloads
from valuenet.config import Settings
from valuenet.ingest.producer import encode_batch, encode_envelope
from valuenet.ingest.routing import envelope_key, partition_for
from valuenet.ingest.synth import SynthNetwork
from valuenet.pipeline.wiring import build_stage
from valuenet.schemas import RawEnvelope
from valuenet.schemas.envelope import RawBatch, fast_envelopes

LANES = 4


def pack(envs: list[RawEnvelope], batch: int) -> list[tuple[bytes, int]]:
    """(record, lane): envelopes packed per routing partition, ``batch`` per record, in send order."""
    pending: dict[int, list[bytes]] = {}
    out: list[tuple[bytes, int]] = []
    for env in envs:
        lane = partition_for(envelope_key(env), LANES)
        values = pending.setdefault(lane, [])
        values.append(encode_envelope(env))
        if len(values) >= batch:
            out.append((encode_batch(values), lane))
            pending[lane] = []
    out.extend((encode_batch(v), lane) for lane, v in pending.items() if v)
    return out


def rate(n: int, run: Callable[[], object], repeats: int, label: str) -> float:
    """Median events per CPU-second of ``run`` over ``repeats``."""
    rates = []
    for i in range(repeats):
        t0 = time.process_time()
        run()
        rates.append(n / (time.process_time() - t0))
        print(f"  {label:<44} run {i + 1}/{repeats}: {rates[-1]:>10,.0f} events/CPU-s", flush=True)
    return statistics.median(rates)


def gc_paused(records: list[tuple[bytes, int]], chunk: int = 8) -> Callable[[], object]:
    """``json.loads`` of the records with the collector paused per ``chunk`` records, as the stage pauses it."""

    def run() -> object:
        out = []
        for i in range(0, len(records), chunk):
            gc.disable()
            try:
                out.append([json.loads(r) for r, _ in records[i : i + chunk]])
            finally:
                gc.enable()
        return out

    return run


def stage_run(
    records: list[tuple[bytes, int]], chunk: int = 8, *, pause_gc: bool = True, each: bool = False
) -> Callable[[], object]:
    """Process the records through a fresh stage, ``chunk`` records per call (the agent's batch).

    ``each``: the per-envelope reference path (``process_each``) instead of the batch path, with
    the collector paused around each call when ``pause_gc``.
    """

    def run() -> object:
        stage = build_stage(Settings(directory_path=None, pseudonymise=False))
        stage.pause_gc = pause_gc
        flows = 0
        for i in range(0, len(records), chunk):
            part = records[i : i + chunk]
            values, lanes = [r for r, _ in part], [lane for _, lane in part]
            if not each:
                result = stage.process(values, lanes)
            elif pause_gc:
                gc.disable()
                try:
                    result = stage.process_each(values, lanes)
                finally:
                    gc.enable()
            else:
                result = stage.process_each(values, lanes)
            flows += len(result.flows)
            if result.dead:
                raise SystemExit(f"unexpected dead letters: {result.dead[:2]}")
        return flows

    return run


def split(records: list[tuple[bytes, int]], n: int, repeats: int) -> str:
    """Where the stage's CPU goes, µs per event (median run): its phases timed with ``time.process_time``."""
    from valuenet.processors import stage as module

    spent: dict[str, float] = {}
    originals = []

    def timed(owner: object, name: str) -> None:
        fn = getattr(owner, name)
        originals.append((owner, name, fn))

        def wrapper(*args: object, **kwargs: object) -> object:
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - t0

        setattr(owner, name, wrapper)

    for name in ("_decode", "_admit", "_build"):
        timed(module.ProcessorStage, name)
    timed(module, "parse")
    timed(module, "classify_many")
    runs = []
    try:
        for _ in range(repeats):
            spent.clear()
            t0 = time.process_time()
            stage_run(records)()
            total = time.process_time() - t0
            parts = {
                "decode": spent["_decode"],
                "parse": spent["parse"],
                "time guard + dedupe + identity": spent["_admit"] - spent["parse"],
                "classify_many": spent["classify_many"],
                "flows + directory rows": spent["_build"] - spent["classify_many"],
            }
            parts["rest (the collection after each batch, freeing results)"] = total - sum(parts.values())
            runs.append((total, parts))
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)
    total, parts = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    return "; ".join(f"{k} {v / n * 1e6:.1f} µs ({v / total:.0%})" for k, v in parts.items())


def main() -> None:
    """Run the benchmark and print the summary table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--split", action="store_true", help="also time the stage's phases (decode, parse, ...)")
    args = ap.parse_args()
    inputs = {
        "git sample": [RawEnvelope.model_validate_json(envelope(p, "bench")) for p in git_payloads(args.events)],
        "synth network": list(SynthNetwork(seed=7, actors=500).envelopes(args.events)),
    }
    rows = []
    splits: list[str] = []
    for name, envs in inputs.items():
        records = pack(envs, args.batch)
        n = len(envs)
        print(f"{name}: {n:,} events in {len(records)} records", flush=True)
        stage_run(records[:2])()  # warm-up: the classifier's model is trained once per process
        floor = rate(n, lambda records=records: [json.loads(r) for r, _ in records], args.repeats, "json.loads (floor)")
        floor_paused = rate(n, gc_paused(records), args.repeats, "json.loads, GC paused per 8 records")
        validate = rate(
            n,
            lambda records=records: [RawBatch.validate_json(r) for r, _ in records],
            args.repeats,
            "pydantic envelopes",
        )
        typed = rate(
            n, lambda records=records: [fast_envelopes(r) for r, _ in records], args.repeats, "msgspec envelopes"
        )
        each = rate(n, stage_run(records, each=True, pause_gc=False), args.repeats, "per-envelope path (before)")
        each_paused = rate(n, stage_run(records, each=True), args.repeats, "per-envelope path, GC paused")
        gc_on = rate(n, stage_run(records, pause_gc=False), args.repeats, "processors stage, GC not paused")
        stage = rate(n, stage_run(records), args.repeats, "processors stage")
        rows.append((name, floor, floor_paused, validate, typed, each, each_paused, gc_on, stage))
        if args.split:
            splits.append(f"{name}: {split(records, n, args.repeats)}")
    print(f"\nprocessors stage in-process, {args.events:,} events per input, median of {args.repeats}")
    print("events per CPU-second (one core)")
    print(
        "| input | json.loads (floor) | json.loads, GC paused | pydantic envelopes | msgspec envelopes "
        "| per-envelope path (before) | per-envelope, GC paused | batch path, GC on | processors stage "
        "| × before | × floor | × paused floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, floor, floor_paused, validate, typed, each, each_paused, gc_on, stage in rows:
        print(
            f"| {name} | {floor:,.0f} | {floor_paused:,.0f} | {validate:,.0f} | {typed:,.0f} | {each:,.0f} "
            f"| {each_paused:,.0f} | {gc_on:,.0f} | {stage:,.0f} | {stage / each:.2f} | {stage / floor:.2f} "
            f"| {stage / floor_paused:.2f} |"
        )
    if splits:
        print("\nwhere the stage's CPU goes, per event (median of the runs):")
        print("\n".join(splits))


if __name__ == "__main__":
    main()
