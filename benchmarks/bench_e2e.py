"""End-to-end throughput of the pipeline and its scale-out, against baselines measured in the same run.

    python benchmarks/bench_e2e.py [--events 30000] [--repeats 3] [--batch 500] [--networks 1] [--workers 2]

Runs on the benchmarks' own broker (``benchmarks/_stack.py``: its own ``VALUENET_HOME``, port
``VALUENET_BENCH_KAFKA_PORT`` ≥ 39092, stopped afterwards), never the shared test broker, and a
private clickhouse-server. For each repeat: produce N raw git envelopes (one network by
default), one per record, to a fresh topic, then time (first record → last)
1. a raw aiokafka ``getmany`` loop reading them (the ceiling of consumption),
2. a trivial faust agent counting them (the faust baseline: one event per record);
then produce the same envelopes with the connectors' producer (``RawProducer``: keyed by thread,
so one network spreads over the 4 raw partitions; up to ``--batch`` envelopes per record) and time
3. a trivial faust agent that only decodes those packed records (the Python + faust + JSON floor),
4. one valuenet worker: parse → dedupe → identity → classify → ``valuenet.flows`` → graph →
   ClickHouse, until every flow is stored (polled in the server), and its CPU-seconds per event;
5. ``--workers`` workers in one consumer group on the same network (fresh topics): events/s and
   each worker's CPU-seconds per event (psutil: the process and its tick child, user + system),
   since 2 shared cores cannot show wall-clock scaling with the broker and ClickHouse on them.
Prints progress, per-repeat figures, medians and ratios, and a projection of events/s per added core.
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
from dataclasses import dataclass
from pathlib import Path

import psutil
from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._stack import ROOT, Run, bench_broker_settings, clickhouse, envelope, git_payloads, own_broker
from valuenet.ingest.parsers import parse
from valuenet.ingest.producer import RawProducer
from valuenet.ingest.routing import envelope_key, partition_for
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


def produce_packed(run: Run, records: list[bytes], keys: list[tuple[str, str]], batch: int) -> float:
    """Send every envelope to the run's raw topic with the connectors' producer (routing keys given); events/s."""
    producer = RawProducer(run.bootstrap, raw_topic=run.topic("raw"), batch_envelopes=batch)
    t0 = time.perf_counter()
    for (network, key), value in zip(keys, records, strict=True):
        producer.send_bytes(network, value, key)
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


def trivial_faust(run: Run, topic: str, n: int, *, decode: bool = False) -> float:
    """Events/s of a counting faust agent on ``topic`` (``decode``: it JSON-decodes packed records, counting envelopes)."""
    env = {
        **run.env,
        "BENCH_TOPIC": topic,
        "BENCH_EXPECT": str(n),
        "BENCH_APP": f"triv-{uuid.uuid4().hex[:6]}",
        "BENCH_DATADIR": str(run.home / "trivial"),
        "BENCH_DECODE": "1" if decode else "0",
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


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU seconds of a process, and of its live children (the worker's tick process)."""
    proc = psutil.Process(pid)
    children = 0.0
    for child in proc.children(recursive=True):
        try:
            children += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return sum(proc.cpu_times()[:2]), children


IDLE_S = 3.0


def service_pids() -> dict[str, int]:
    """The broker's and ClickHouse server's pids when this benchmark started them (their CPU is part of the budget)."""
    pids: dict[str, int] = {}
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pid_file = bench_broker_settings().home / "kafka" / "kafka.pid"
        if pid_file.exists():
            pids["broker"] = int(pid_file.read_text().split()[0])
    if not os.environ.get("CLICKHOUSE_URL"):
        for child in psutil.Process().children():
            if "clickhouse" in " ".join(child.cmdline()):
                pids["ClickHouse"] = child.pid
    return pids


def service_cpu(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds of each service (0 when it is gone)."""
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            out[name] = sum(psutil.Process(pid).cpu_times()[:2])
        except psutil.NoSuchProcess:
            out[name] = 0.0
    return out


def loop_thread(pid: int) -> tuple[float, float]:
    """Seconds the worker's event-loop thread ran on a CPU, and waited for one (``/proc/<pid>/schedstat``)."""
    try:
        on_cpu, waiting, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def warm_up(run: Run, batch: int) -> None:
    """Before the clock: 200 events to each of 4 warm-up networks (one per flows partition, so every worker
    holds a graph) and wait until a tick stored all their metrics — the tick processes have started and
    compiled their kernels, a one-off cost that is not per event."""
    names: list[str] = []
    i = 0
    while len(names) < 4:
        name = f"warmup-{i}"
        if partition_for(name, 4) not in {partition_for(n, 4) for n in names}:
            names.append(name)
        i += 1
    payloads = git_payloads(800, start_ms=int(time.time() * 1000) - 800)
    raw = [envelope(p, names[i % 4]) for i, p in enumerate(payloads)]
    envs = [RawEnvelope.model_validate_json(r) for r in raw]
    produce_packed(run, raw, [(e.network, envelope_key(e)) for e in envs], batch)
    deadline = time.monotonic() + 600
    sql = "SELECT uniqExact(network) AS n FROM network_metrics WHERE network LIKE 'warmup-%%'"
    while run.store.query(sql)[0]["n"] < 4:
        if time.monotonic() > deadline:
            raise RuntimeError(f"warm-up ticks did not arrive; see {run.home}")
        time.sleep(1.0)
    time.sleep(2.0)


@dataclass
class PipelineRun:
    """One timed pipeline run: events/s, CPU-seconds per event of each worker and of each service, and
    where the first worker's event-loop thread spent the run (shares of wall time)."""

    rate: float
    cpu: list[float]
    services: dict[str, float]
    idle: dict[str, float]  # each service's CPU-seconds per second while the workers waited for events
    on_cpu: float
    waiting: float


def pipeline(
    run: Run, records: list[bytes], keys: list[tuple[str, str]], expected_flows: int, workers: int, batch: int
) -> PipelineRun:
    """Events/s of ``workers`` valuenet workers (one consumer group), first stored flow → last, and each
    worker's CPU-seconds per event (its tick process included, and also printed alone: ticks cost
    per second of run, not per event), the broker's and ClickHouse's too. The workers start, join and
    warm up (:func:`warm_up`) first; the events are sent after."""
    procs = [run.worker(f"w{i}", loglevel="info") for i in range(workers)]
    logs = [run.home / f"w{i}.log" for i in range(workers)]
    deadline = time.monotonic() + 180
    while not all(log.exists() and "dedupe warmed" in log.read_text(errors="replace") for log in logs):
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers did not start; see {run.home}")
        time.sleep(0.5)
    time.sleep(8.0)  # let the group settle (joins, rebalances) before the clock starts
    warm_up(run, batch)
    pids = service_pids()
    quiet = service_cpu(pids)
    time.sleep(IDLE_S)  # the services' own cost while the workers poll an empty stream
    idle = {name: (c - quiet[name]) / IDLE_S for name, c in service_cpu(pids).items()}
    cpu0 = [cpu_seconds(p.pid) for p in procs]
    sched0 = [loop_thread(p.pid) for p in procs]
    svc0 = service_cpu(pids)
    started = time.perf_counter()
    produce_packed(run, records, keys, batch)
    n = len(records)
    first = last = 0.0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        stored = run.store.query("SELECT count() AS n FROM flows WHERE network NOT LIKE 'warmup-%%'")[0]["n"]
        now = time.perf_counter()
        if stored and not first:
            first = now
        if stored >= expected_flows:
            last = now
            break
        time.sleep(0.2)
    if not last:
        raise RuntimeError(f"pipeline did not finish; see {run.home}")
    cpu1 = [cpu_seconds(p.pid) for p in procs]
    sched1 = [loop_thread(p.pid) for p in procs]
    svc1 = service_cpu(pids)
    wall = last - started
    # where the event-loop thread spent the run: on a CPU, runnable but waiting for one (a loaded machine),
    # or idle (waiting for Kafka, ClickHouse or the other agent's work)
    for i, (a, b) in enumerate(zip(sched1, sched0, strict=True)):
        run_s, wait_s = a[0] - b[0], a[1] - b[1]
        print(
            f"  worker {i + 1} event-loop thread, share of {wall:.1f} s: on CPU {run_s / wall:.0%}, "
            f"waiting for a CPU {wait_s / wall:.0%}, idle {max(0.0, 1 - (run_s + wait_s) / wall):.0%}",
            flush=True,
        )
    cpu = [(a[0] + a[1] - b[0] - b[1]) / n for a, b in zip(cpu1, cpu0, strict=True)]
    ticks = [(a[1] - b[1]) / n for a, b in zip(cpu1, cpu0, strict=True)]
    services = {name: (svc1[name] - svc0[name]) / n for name in pids}
    print(
        f"  tick process CPU µs/event: {', '.join(f'{t * 1e6:,.1f}' for t in ticks)}; "
        + ", ".join(f"{name} {c * 1e6:,.1f} (idle {idle[name]:.2f} CPU-s/s)" for name, c in services.items())
        + f"; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    on_cpu, waiting = (sched1[0][0] - sched0[0][0]) / wall, (sched1[0][1] - sched0[0][1]) / wall
    return PipelineRun(n / (last - first), cpu, services, idle, on_cpu, waiting)


def main() -> None:
    """Run the benchmark and print the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--networks", type=int, default=1)
    ap.add_argument("--batch", type=int, default=500, help="envelopes per record for the pipeline (1: one per record)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the scale-out run (0: skip it)")
    args = ap.parse_args()
    payloads = git_payloads(args.events, start_ms=int(time.time() * 1000) - args.events)
    networks = [f"bench-{i}" for i in range(args.networks)]
    raw = [envelope(p, networks[i % len(networks)]) for i, p in enumerate(payloads)]
    envs = [RawEnvelope.model_validate_json(r) for r in raw]
    keys = [(e.network, envelope_key(e)) for e in envs]
    expected = sum(len(parse(e)) for e in envs)
    packed = f"connector producer (≤ {args.batch}/record, keyed by thread)"
    one, many = "valuenet pipeline, 1 worker", f"valuenet pipeline, {args.workers} workers"
    results: dict[str, list[float]] = {
        "kafka-python produce (1/record)": [],
        "aiokafka getmany (1/record)": [],
        "trivial faust agent (1/record)": [],
        packed: [],
        "trivial faust agent decoding the packed records": [],
        one: [],
    }
    if args.workers > 1:
        results[many] = []
    cpu_one: list[float] = []
    cpu_many: list[list[float]] = []
    runs_one: list[PipelineRun] = []
    with own_broker() as bs, clickhouse() as url, Progress(console=console) as progress:
        console.print(
            f"{args.events:,} raw events of {args.networks} network(s) → {expected:,} flows; "
            f"broker {bs}; {os.cpu_count()} cores"
        )
        task = progress.add_task("repeats", total=args.repeats * 4)
        for rep in range(args.repeats):
            run = Run(bs, url)
            single = f"{run.prefix}.single"
            ensure_topics(bs, {single: 4})
            try:
                results["kafka-python produce (1/record)"].append(produce(run, single, raw, networks))
                results["aiokafka getmany (1/record)"].append(asyncio.run(_aiokafka(run, single, len(raw))))
                progress.advance(task)
                results["trivial faust agent (1/record)"].append(trivial_faust(run, single, len(raw)))
                results[packed].append(produce_packed(run, raw, keys, args.batch))
                results["trivial faust agent decoding the packed records"].append(
                    trivial_faust(run, run.topic("raw"), len(raw), decode=True)
                )
                progress.advance(task)
            finally:
                run.close()
            run = Run(bs, url)
            try:
                timed = pipeline(run, raw, keys, expected, 1, args.batch)
                results[one].append(timed.rate)
                cpu_one.append(timed.cpu[0])
                runs_one.append(timed)
                progress.advance(task)
            finally:
                run.close()
            if args.workers > 1:
                run = Run(bs, url)
                try:
                    timed = pipeline(run, raw, keys, expected, args.workers, args.batch)
                    results[many].append(timed.rate)
                    cpu_many.append(sorted(timed.cpu, reverse=True))  # the worker holding the network's graph first
                finally:
                    run.close()
            progress.advance(task)
            console.print(f"repeat {rep + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items()))
            console.print(
                f"  CPU µs/event: 1 worker {cpu_one[-1] * 1e6:,.1f}"
                + (
                    f"; {args.workers} workers " + ", ".join(f"{c * 1e6:,.1f}" for c in cpu_many[-1])
                    if cpu_many
                    else ""
                )
            )
    base = statistics.median(results["trivial faust agent (1/record)"])
    floor = statistics.median(results["trivial faust agent decoding the packed records"])
    table = Table(title=f"end-to-end, {args.events:,} events, {args.networks} network(s), median of {args.repeats}")
    table.add_column("stage")
    table.add_column("events/s", justify="right")
    table.add_column("× trivial faust", justify="right")
    table.add_column("× decode-only floor", justify="right")
    for k, v in results.items():
        m = statistics.median(v)
        table.add_row(k, f"{m:,.0f}", f"{m / base:.2f}", f"{m / floor:.2f}")
    console.print(table)
    c1 = statistics.median(cpu_one)
    console.print(f"CPU-seconds per event, 1 worker: {c1 * 1e6:,.1f} µs (→ {1 / c1:,.0f} events/s per busy core)")
    services = {name: statistics.median(r.services.get(name, 0.0) for r in runs_one) for name in runs_one[0].services}
    budget = c1 + sum(services.values())
    console.print(
        "the 2 cores' budget per event, 1 worker: worker "
        + f"{c1 * 1e6:,.1f} µs + "
        + " + ".join(f"{name} {c * 1e6:,.1f} µs" for name, c in services.items())
        + f" = {budget * 1e6:,.1f} µs → at most {os.cpu_count() or 1} / {budget * 1e6:,.1f} µs ≈ "
        f"{(os.cpu_count() or 1) / budget:,.0f} events/s if nothing else ran on the machine; the worker's "
        f"event-loop thread was on a CPU {statistics.median(r.on_cpu for r in runs_one):.0%} of the run and "
        f"waited for one {statistics.median(r.waiting for r in runs_one):.0%} (other work on the machine)"
    )
    idle = {name: statistics.median(r.idle.get(name, 0.0) for r in runs_one) for name in services}
    console.print(
        "services idle (workers connected, no events): "
        + ", ".join(f"{name} {c:.2f} CPU-s/s" for name, c in idle.items())
        + "; per event beyond that: "
        + ", ".join(
            f"{name} {max(0.0, services[name] - idle[name] * statistics.median(1 / r.rate for r in runs_one)) * 1e6:,.1f} µs"
            for name in services
        )
    )
    if cpu_many:
        per_worker = [statistics.median(c[i] for c in cpu_many) for i in range(args.workers)]
        share = [c / c1 for c in per_worker]
        console.print(
            f"{args.workers} workers on one network: "
            + ", ".join(
                f"{'graph-holding ' if i == 0 else ''}worker {i + 1} {c * 1e6:,.1f} µs/event ({s:.2f} of one worker's)"
                for i, (c, s) in enumerate(zip(per_worker, share, strict=True))
            )
            + f"; together {sum(per_worker) * 1e6:,.1f} µs/event ({sum(share):.2f}×: the overhead of spreading)"
        )
        # the network's processing P spreads over the workers; its analytics A (one graph) stays on one
        processing = per_worker[-1] * args.workers
        analytics = max(0.0, per_worker[0] - per_worker[-1])
        console.print(
            f"split: processing P ≈ {args.workers} × {per_worker[-1] * 1e6:,.1f} = {processing * 1e6:,.1f} µs/event "
            f"(spreads over the workers), analytics A ≈ {analytics * 1e6:,.1f} µs/event (on the graph-holding "
            "worker); projection for one network, workers' CPU only (broker and ClickHouse need their own "
            "cores): 1 / (A + P/N) events/s = "
            + ", ".join(f"N={k}: {1 / (analytics + processing / k):,.0f}" for k in (1, 2, 4, 8))
            + (f", → 1 / A = {1 / analytics:,.0f}" if analytics else "")
        )


if __name__ == "__main__":
    main()
