"""End-to-end throughput of the pipeline against two baselines on the same topic, in the same run.

    python benchmarks/bench_e2e.py [--events 30000] [--repeats 3] [--batch 500]

For each repeat: produce N raw git envelopes, one per record, to a fresh topic, then time
(first record → last)
1. a raw aiokafka ``getmany`` loop reading them (the ceiling of consumption),
2. a trivial faust agent counting them (the faust baseline: one event per record);
then produce the same envelopes with the connectors' producer (``RawProducer``: up to
``--batch`` envelopes of a network per record; ``--batch 1`` for one per record) and time
3. the valuenet worker: parse → dedupe → identity → classify → ``valuenet.flows`` → graph →
   ClickHouse, until every flow is stored (polled in a private clickhouse-server).
Prints progress, per-repeat figures, medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._stack import ROOT, Run, bootstrap, clickhouse, envelope, git_payloads
from valuenet.ingest.parsers import parse
from valuenet.ingest.producer import RawProducer
from valuenet.kafka_admin import ensure_topics
from valuenet.schemas import RawEnvelope

console = Console()


def produce(run: Run, topic: str, records: list[bytes], networks: list[str]) -> float:
    """Send every record to ``topic``, one event per record (keys spread over ``networks``); returns records/s."""
    producer = KafkaProducer(bootstrap_servers=run.bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024)
    t0 = time.perf_counter()
    for i, value in enumerate(records):
        producer.send(topic, key=networks[i % len(networks)].encode(), value=value)
    producer.flush()
    producer.close()
    return len(records) / (time.perf_counter() - t0)


def produce_packed(run: Run, records: list[bytes], networks: list[str], batch: int) -> float:
    """Send every envelope to the pipeline's raw topic with the connectors' producer; returns events/s."""
    producer = RawProducer(run.bootstrap, raw_topic=run.topic("raw"), batch_envelopes=batch)
    t0 = time.perf_counter()
    for i, value in enumerate(records):
        producer.send_bytes(networks[i % len(networks)], value)
    producer.close()
    return len(records) / (time.perf_counter() - t0)


async def _aiokafka(run: Run, topic: str, n: int) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=run.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    seen, first = 0, 0.0
    try:
        while seen < n:
            before = time.perf_counter()
            batch = await consumer.getmany(timeout_ms=500, max_records=50_000)
            got = sum(len(v) for v in batch.values())
            if got and not first:
                first = before
            seen += got
    finally:
        await consumer.stop()
    return n / (time.perf_counter() - first)


def trivial_faust(run: Run, topic: str, n: int) -> float:
    """Events/s of a counting faust agent on ``topic`` (one event per record)."""
    env = {
        **run.env,
        "BENCH_TOPIC": topic,
        "BENCH_EXPECT": str(n),
        "BENCH_APP": f"triv-{uuid.uuid4().hex[:6]}",
        "BENCH_DATADIR": str(run.home / "trivial"),
    }
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "_trivial_faust.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    found = re.findall(r'\{"first".*?\}', out.stdout + out.stderr)  # faust routes print() to its log
    if not found:
        raise RuntimeError(f"trivial faust agent failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    r = json.loads(found[-1])
    return n / (r["last"] - r["first"])


def pipeline(run: Run, n: int, expected_flows: int, workers: int = 1) -> float:
    """Events/s of ``workers`` valuenet workers (one consumer group) from the first stored flow to the last."""
    for _ in range(workers):
        run.worker()
    first = last = 0.0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        stored = run.store.query("SELECT count() AS n FROM flows")[0]["n"]
        now = time.perf_counter()
        if stored and not first:
            first = now
        if stored >= expected_flows:
            last = now
            break
        time.sleep(0.2)
    if not last:
        raise RuntimeError(f"pipeline did not finish; see {run.home / 'worker.log'}")
    return n / (last - first)


def main() -> None:
    """Run the benchmark and print the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--networks", type=int, default=8)
    ap.add_argument("--batch", type=int, default=500, help="envelopes per record for the pipeline (1: one per record)")
    ap.add_argument("--workers", type=int, default=1, help="valuenet worker processes in the consumer group")
    args = ap.parse_args()
    bs = bootstrap()
    payloads = git_payloads(args.events, start_ms=int(time.time() * 1000) - args.events)
    networks = [f"bench-{i}" for i in range(args.networks)]
    raw = [envelope(p, networks[i % len(networks)]) for i, p in enumerate(payloads)]
    expected = sum(len(parse(RawEnvelope.model_validate_json(r))) for r in raw)
    console.print(f"{args.events:,} raw events → {expected:,} flows; broker {bs}; {os.cpu_count()} cores")
    packed = f"connector producer (≤ {args.batch}/record)"
    pipe = f"valuenet pipeline ({args.workers} worker{'s' if args.workers > 1 else ''})"
    results: dict[str, list[float]] = {
        "kafka-python produce (1/record)": [],
        "aiokafka getmany (1/record)": [],
        "trivial faust agent (1/record)": [],
        packed: [],
        pipe: [],
    }
    with clickhouse() as url, Progress(console=console) as progress:
        task = progress.add_task("repeats", total=args.repeats * 3)
        for rep in range(args.repeats):
            run = Run(bs, url)
            single = f"{run.prefix}.single"
            ensure_topics(bs, {single: 4})
            try:
                results["kafka-python produce (1/record)"].append(produce(run, single, raw, networks))
                results["aiokafka getmany (1/record)"].append(asyncio.run(_aiokafka(run, single, len(raw))))
                progress.advance(task)
                results["trivial faust agent (1/record)"].append(trivial_faust(run, single, len(raw)))
                progress.advance(task)
                results[packed].append(produce_packed(run, raw, networks, args.batch))
                results[pipe].append(pipeline(run, len(raw), expected, args.workers))
                progress.advance(task)
                console.print(f"repeat {rep + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items()))
            finally:
                run.close()
    base = statistics.median(results["trivial faust agent (1/record)"])
    table = Table(title=f"end-to-end, {args.events:,} events, median of {args.repeats}")
    table.add_column("stage")
    table.add_column("events/s", justify="right")
    table.add_column("× trivial faust", justify="right")
    for k, v in results.items():
        m = statistics.median(v)
        table.add_row(k, f"{m:,.0f}", f"{m / base:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
