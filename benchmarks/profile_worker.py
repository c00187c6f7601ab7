"""Where a worker's CPU goes per event, step by step, without Kafka: the profile behind the README's figures.

    python benchmarks/profile_worker.py [--events 20000] [--repeats 3]

Runs the steps a worker runs on each batch, in-process, on the bundled git sample (stamped as a
live stream, as ``bench_e2e`` sends it) and on synth data packed as the connectors' producer packs them (4 lanes, 500 per record):
normalise (decode, parse, dedupe, identity, classify), encoding the flows records, decoding
them in the analytics agent (msgspec into trusted Flows, ``schemas.flow.decode_flow_record``), the rolling graph (``add_many`` + live counters), and
the ClickHouse column conversion of the interactions and flows (``prepare_model_batch``: the
Arrow batch the Store builds from the models for either backend; the Native block encoding, the
driver and the server are not counted). Figures are CPU µs per event (``time.process_time``), medians of ``--repeats``, with the
garbage collector tuned as the worker tunes it (``GC_THRESHOLD``); faust, Kafka I/O and the tick
process come on top.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._stack import envelope, git_payloads
from benchmarks.bench_stage import pack
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.storage.rows import prepare_model_batch
from valuenet.config import Settings
from valuenet.ingest.synth import SynthNetwork
from valuenet.pipeline.runtime import GC_THRESHOLD
from valuenet.pipeline.wiring import build_stage
from valuenet.processors.stage import encode_flows
from valuenet.schemas import Flow, RawEnvelope
from valuenet.schemas.flow import FlowPayload, decode_flow_record


def decode(value: bytes) -> list[Flow]:
    """A flows record's flows as the graph agent decodes them (msgspec; pydantic for whatever msgspec refuses)."""
    fast = decode_flow_record(value)
    if fast is not None:
        return fast[0]
    payload = FlowPayload.validate_json(value)
    return payload if isinstance(payload, list) else payload.flows


def steps(records: list[tuple[bytes, int]]) -> dict[str, float]:
    """CPU seconds of each step over all ``records`` (8 records per batch, as the agent takes them)."""
    spent = dict.fromkeys(
        (
            "normalise",
            "encode flows records",
            "decode flows records",
            "graph add_many",
            "rows: interactions",
            "rows: flows",
        ),
        0.0,
    )
    stage = build_stage(Settings(directory_path=None, pseudonymise=False))
    graphs: dict[str, GraphStore] = {}

    def timed(name: str, fn: Callable[[], object]) -> object:
        t0 = time.process_time()
        out = fn()
        spent[name] += time.process_time() - t0
        return out

    for i in range(0, len(records), 8):
        part = records[i : i + 8]
        result = timed("normalise", lambda part=part: stage.process([r for r, _ in part], [lane for _, lane in part]))
        encoded, _ = timed("encode flows records", lambda result=result: encode_flows(result.flows, 400))
        flows: list[Flow] = []
        for _, value in encoded:
            flows.extend(timed("decode flows records", lambda value=value: decode(value)))
        for f in flows:
            graphs.setdefault(f.network, GraphStore(f.network))
        timed(
            "graph add_many",
            lambda flows=flows: [g.add_many([f for f in flows if f.network == n]) for n, g in graphs.items()],
        )
        timed(
            "rows: interactions",
            lambda result=result: prepare_model_batch("interactions", result.interactions),
        )
        timed("rows: flows", lambda flows=flows: prepare_model_batch("flows", flows))
    return spent


def main() -> None:
    """Profile both inputs and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    gc.set_threshold(*GC_THRESHOLD)  # as the worker runs (valuenet.pipeline.runtime)
    inputs = {
        # stamped as a live stream, one commit per millisecond up to now (as bench_e2e sends them)
        "git sample": [
            RawEnvelope.model_validate_json(envelope(p, "bench"))
            for p in git_payloads(args.events, start_ms=int(time.time() * 1000) - args.events)
        ],
        "synth network": list(SynthNetwork(seed=7, actors=500).envelopes(args.events)),
    }
    table: dict[str, dict[str, float]] = {}
    for name, envs in inputs.items():
        records = pack(envs, 500)
        steps(records[:2])  # warm-up: the classifier's model is trained once per process
        runs = [steps(records) for _ in range(args.repeats)]
        table[name] = {k: statistics.median(r[k] for r in runs) / len(envs) * 1e6 for k in runs[0]}
        print(f"{name}: " + ", ".join(f"{k} {v:,.1f}" for k, v in table[name].items()), flush=True)
    names = list(inputs)
    print(f"\nCPU µs per event, median of {args.repeats} ({args.events:,} events per input)")
    print("| step | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names))
    for k in next(iter(table.values())):
        cells = " | ".join(f"{table[n][k]:,.1f} ({table[n][k] / sum(table[n].values()):.0%})" for n in names)
        print(f"| {k} | {cells} |")
    print("| total | " + " | ".join(f"{sum(table[n].values()):,.1f}" for n in names) + " |")


if __name__ == "__main__":
    main()
