"""GraphStore.add_many (the batched path the analytics agent uses) against add() per flow, in the same run.

    python benchmarks/bench_graph_add.py [--actors 20000] [--flows 200000] [--batch 1000] [--repeats 3] [--before REV]

Flows from ``bench_metrics.generate`` (power-law actors, 7 days of event time, every kind),
fed to a fresh store with the default windows (1h, 24h, 7d) and live counters. The baseline is
``add()`` per flow of ``--before`` (default 859dfe1, the store before the batched path;
loaded with ``git show``), then today's ``add()`` per flow (same state as ``add_many``, tested
in tests/test_graph_batch.py). Medians of ``--repeats``, repeats interleaved, in flows per
CPU-second of this process (``time.process_time``: one core's rate, robust on a shared machine).
Then the graph agent's decoding of the same flows as ``valuenet.flows`` records: msgspec
(``schemas.flow.decode_flow_record``, today) against ``FlowPayload.validate_json`` (before).
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
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_metrics import generate
from valuenet.analytics.graph_store import GraphStore
from valuenet.schemas.flow import FlowBatch, FlowPayload, decode_flow_record
from valuenet.schemas.flow_wire import decode_flows_value, encode_flows_value

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
    ap.add_argument("--wire-only", action="store_true", help="only the valuenet.flows encoding and decoding")
    args = ap.parse_args()
    before = store_at(args.before)
    flows = list(generate(args.actors, args.flows))
    for f in flows:
        f.__dict__.setdefault("lane", None)

    def per_flow_before() -> None:
        store = before("bench")
        for f in flows:
            store.add(f)

    def batched_before() -> None:
        store = before("bench")
        for i in range(0, len(flows), args.batch):
            store.add_many(flows[i : i + args.batch])

    def per_flow() -> None:
        store = GraphStore("bench")
        for f in flows:
            store.add(f)

    def batched() -> None:
        store = GraphStore("bench")
        for i in range(0, len(flows), args.batch):
            store.add_many(flows[i : i + args.batch])

    measure(
        f"GraphStore, {args.flows:,} flows over {args.actors:,} actors",
        {}
        if args.wire_only
        else {
            f"add() per flow at {args.before} (baseline)": per_flow_before,
            f"add_many, {args.batch} per call, at {args.before}": batched_before,
            "add() per flow (a batch of one)": per_flow,
            f"add_many, {args.batch} per call": batched,
        },
        args.flows,
        args.repeats,
    )

    # the graph agent's decoding of the same flows as valuenet.flows records (500 per record), as the stage
    # makes them (enum members, not generate()'s strings: pydantic's JSON encoder warns on those, slowly)
    flows = FlowBatch.validate_python([dict(f.__dict__) for f in flows])
    records = [FlowBatch.dump_json(flows[i : i + 500], exclude_defaults=True) for i in range(0, len(flows), 500)]
    arrow = [encode_flows_value(flows[i : i + 500], "arrow") for i in range(0, len(flows), 500)]

    def pydantic_decode() -> None:  # what decode_flows did before: FlowPayload, then seq per flow
        for offset, value in enumerate(records):
            payload = FlowPayload.validate_json(value)
            for i, flow in enumerate(payload if isinstance(payload, list) else payload.flows):
                flow.seq = (offset << 20) | i

    def fast_decode() -> None:  # what decode_flows does now
        for offset, value in enumerate(records):
            decoded = decode_flow_record(value)
            assert decoded is not None
            for i, flow in enumerate(decoded[0]):
                flow.__dict__["seq"] = (offset << 20) | i
                flow.__pydantic_fields_set__.add("seq")

    def arrow_decode() -> None:  # what decode_flows does with VALUENET_FLOWS_FORMAT=arrow records
        for offset, value in enumerate(arrow):
            for i, flow in enumerate(decode_flows_value(value)[0]):
                flow.__dict__["seq"] = (offset << 20) | i
                flow.__pydantic_fields_set__.add("seq")

    def json_encode() -> None:  # the processors stage's encoding (encode_flows), JSON
        for i in range(0, len(flows), 500):
            encode_flows_value(flows[i : i + 500], "json")  # FlowBatch.dump_json(..., exclude_defaults=True)

    def arrow_encode() -> None:
        for i in range(0, len(flows), 500):
            encode_flows_value(flows[i : i + 500], "arrow")

    print(
        f"record bytes, 500 flows: JSON {sum(map(len, records)) / len(records):,.0f}, Arrow+lz4 "
        f"{sum(map(len, arrow)) / len(arrow):,.0f}\n"
    )
    measure(
        f"decoding {len(records)} valuenet.flows records of 500 flows",
        {
            "FlowPayload.validate_json + seq (baseline)": pydantic_decode,
            "decode_flow_record (msgspec) + seq": fast_decode,
            "decode_flows_value (Arrow, columns checked) + seq": arrow_decode,
        },
        args.flows,
        args.repeats,
    )
    measure(
        f"encoding {len(records)} valuenet.flows records of 500 flows",
        {"JSON (FlowBatch.dump_json, baseline)": json_encode, "Arrow IPC + lz4": arrow_encode},
        args.flows,
        args.repeats,
    )


def measure(title: str, paths: dict[str, Callable[[], None]], n: int, repeats: int) -> None:
    """Run ``paths`` ``repeats`` times (interleaved) and print their medians in flows per CPU-second."""
    if not paths:
        return
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for rep in range(repeats):
        for name, run in paths.items():
            gc.collect()  # every run starts from the same collector state (not the garbage of the run before)
            t0 = time.process_time()
            run()
            rates[name].append(n / (time.process_time() - t0))
            print(f"  {name:<44} run {rep + 1}/{repeats}: {rates[name][-1]:>10,.0f} flows/CPU-s", flush=True)
    base = statistics.median(next(iter(rates.values())))
    print(f"\n{title}, median of {repeats}")
    print("| path | flows per CPU-second | × baseline |\n|---|---:|---:|")
    for name, r in rates.items():
        print(f"| {name} | {statistics.median(r):,.0f} | {statistics.median(r) / base:.2f} |")
    print(flush=True)


if __name__ == "__main__":
    main()
