"""Freshness: event produced → its effect visible in the metrics API, at a steady event rate.

    python benchmarks/bench_freshness.py [--rate 2000] [--seconds 20] [--tick 0.5] [--batch 500] [--linger-ms 20]

Produces Bluesky Jetstream likes (one reputation flow each) stamped with their produce time,
with the connectors' producer (``valuenet.ingest.producer.RawProducer``: up to ``--batch`` envelopes
per Kafka record, shipped ``--linger-ms`` after the first; ``--batch 1`` sends one per record)
through the real broker, one valuenet worker and a separate ``valuenet serve`` process, into a
private clickhouse-server. Pollers read, every 20 ms, ``watermark_ms`` of
``GET /api/metrics/live`` (the per-event counters: the headline figure) and, every 50 ms, the
newest stored flow and ``max(watermark_ms)`` of the stored ``network_metrics`` (tick) rows: an
event is visible once a value's watermark reaches its event time. Prints p50 / p90 / p99 and,
as the baseline of the same run, the time for the raw record to be readable back from Kafka.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from kafka import KafkaConsumer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._stack import Run, bootstrap, clickhouse
from valuenet.ingest.producer import RawProducer
from valuenet.schemas.envelope import decode_raw

console = Console()
NETWORK = "fresh"


def like(i: int, t_ms: int) -> bytes:
    """A Jetstream like from one of 500 actors to one of 50 authors, at ``t_ms``."""
    iso = datetime.fromtimestamp(t_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
    payload = {
        "did": f"did:plc:fan{i % 500:04d}",
        "time_us": t_ms * 1000,
        "kind": "commit",
        "commit": {
            "rev": f"r{i}",
            "operation": "create",
            "collection": "app.bsky.feed.like",
            "rkey": f"k{i}",
            "cid": "bafy",
            "record": {
                "$type": "app.bsky.feed.like",
                "createdAt": iso,
                "subject": {"uri": f"at://did:plc:author{i % 50:02d}/app.bsky.feed.post/p{i % 977}", "cid": "bafy"},
            },
        },
    }
    return json.dumps({"source": "bluesky", "network": NETWORK, "payload": payload}).encode()


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``."""
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def visible_after(sent: list[int], polls: list[tuple[float, int]]) -> tuple[list[float], int]:
    """Per event: first poll whose value reached its event time, minus that time; and how many never did."""
    out, lost, j = [], 0, 0
    for t_ms in sent:
        while j < len(polls) and polls[j][1] < t_ms:
            j += 1
        if j == len(polls):
            lost += 1
            continue
        out.append(polls[j][0] - t_ms)
    return out, lost


def main() -> None:
    """Run and print the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--tick", type=float, default=0.5)
    ap.add_argument("--batch", type=int, default=500, help="envelopes per Kafka record (1: one per record)")
    ap.add_argument("--linger-ms", type=int, default=20, help="ship a partly filled batch this long after its first")
    args = ap.parse_args()
    bs = bootstrap()
    with clickhouse() as url:
        run = Run(bs, url, VALUENET_TICK_SECONDS=str(args.tick))
        try:
            _measure(run, args)
        finally:
            run.close()


def _measure(run: Run, args: argparse.Namespace) -> None:
    producer = RawProducer(
        run.bootstrap, raw_topic=run.topic("raw"), batch_envelopes=args.batch, batch_linger_ms=args.linger_ms
    )
    base = run.web()
    run.worker()
    # warm-up: wait until the worker stores a snapshot
    producer.send_bytes(NETWORK, like(10**9, int(time.time() * 1000)))
    producer.flush()
    deadline = time.monotonic() + 180
    while not run.store.query("SELECT count() AS n FROM network_metrics")[0]["n"]:
        if time.monotonic() > deadline:
            raise SystemExit(f"worker produced no snapshot; see {run.home / 'worker.log'}")
        time.sleep(0.2)

    api: list[tuple[float, int]] = []  # (wall ms, live watermark ms served by the API) per poll
    seen: list[tuple[float, int]] = []  # (wall ms, max watermark ms) per poll
    stored: list[tuple[float, int]] = []  # (wall ms, newest stored flow's event time) per poll
    kafka_seen: dict[int, float] = {}
    stop = threading.Event()

    def poll_store() -> None:
        while not stop.is_set():
            wm = run.store.query(
                "SELECT max(watermark_ms) AS w FROM network_metrics WHERE network = %(n)s", {"n": NETWORK}
            )[0]["w"]
            seen.append((time.time() * 1000, int(wm or 0)))
            ts = run.store.query("SELECT max(timestamp_ms) AS t FROM flows WHERE network = %(n)s", {"n": NETWORK})[0][
                "t"
            ]
            stored.append((time.time() * 1000, int(ts or 0)))
            time.sleep(0.05)

    def poll_api() -> None:
        with httpx.Client(base_url=base, timeout=5) as client:
            while not stop.is_set():
                r = client.get("/api/metrics/live", params={"network": NETWORK})
                api.append((time.time() * 1000, int(r.json()["watermark_ms"]) if r.status_code == 200 else 0))
                time.sleep(0.02)

    def poll_kafka() -> None:  # baseline: the raw record readable back from the broker
        consumer = KafkaConsumer(
            run.topic("raw"),
            bootstrap_servers=run.bootstrap,
            auto_offset_reset="latest",
            group_id=None,
            consumer_timeout_ms=500,
        )
        while not stop.is_set():
            for msg in consumer:
                now = time.time() * 1000
                for env in decode_raw(msg.value):
                    kafka_seen[int(env.payload["commit"]["rkey"][1:])] = now
        consumer.close()

    threads = [threading.Thread(target=f, daemon=True) for f in (poll_api, poll_store, poll_kafka)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    sent: list[int] = []
    n_total = int(args.rate * args.seconds)
    step = max(1, args.rate // 50)  # 50 sends per second
    start = time.time()
    with Progress(console=console) as progress:
        task = progress.add_task(f"producing {args.rate}/s", total=n_total)
        i = 0
        while i < n_total:
            due = start + i / args.rate
            if (delay := due - time.time()) > 0:
                time.sleep(delay)
            for _ in range(min(step, n_total - i)):
                t_ms = max(int(time.time() * 1000), sent[-1] if sent else 0)  # event time = produce time, in order
                producer.send_bytes(NETWORK, like(i, t_ms))
                sent.append(t_ms)
                i += 1
            progress.update(task, completed=i)
    producer.flush()
    achieved = len(sent) / (time.time() - start)
    time.sleep(max(5.0, 4 * args.tick))
    stop.set()
    producer.close()
    for t in threads:
        t.join(5)
    live_fresh, lost = visible_after(sent, api)
    fresh, _ = visible_after(sent, seen)
    flow_fresh, _ = visible_after(sent, stored)
    base = [kafka_seen[i] - t for i, t in enumerate(sent) if i in kafka_seen]
    table = Table(
        title=f"freshness at {achieved:,.0f} events/s for {args.seconds:.0f} s (tick {args.tick} s, "
        f"≤ {args.batch} envelopes per record, linger {args.linger_ms} ms)"
    )
    for col in ("path", "p50 ms", "p90 ms", "p99 ms", "events"):
        table.add_column(col, justify="right")
    table.add_row(
        "produced → readable from Kafka (baseline)",
        *(f"{pct(base, q):,.0f}" for q in (0.5, 0.9, 0.99)),
        f"{len(base):,}",
    )
    table.add_row(
        "produced → live counters in the metrics API (valuenet)",
        *(f"{pct(live_fresh, q):,.0f}" for q in (0.5, 0.9, 0.99)),
        f"{len(live_fresh):,}",
    )
    table.add_row(
        "produced → flow in ClickHouse (valuenet)",
        *(f"{pct(flow_fresh, q):,.0f}" for q in (0.5, 0.9, 0.99)),
        f"{len(flow_fresh):,}",
    )
    table.add_row(
        "produced → tick metrics in ClickHouse (valuenet)",
        *(f"{pct(fresh, q):,.0f}" for q in (0.5, 0.9, 0.99)),
        f"{len(fresh):,}",
    )
    console.print(table)
    if lost:
        console.print(f"[yellow]{lost} events not yet visible when polling stopped[/]")
    console.print(
        f"live counters in the API: p50 {pct(live_fresh, 0.5):,.0f} ms, p99 {pct(live_fresh, 0.99):,.0f} ms "
        f"({pct(live_fresh, 0.99) / max(pct(base, 0.99), 1):,.0f}× the Kafka read-back p99)"
    )


if __name__ == "__main__":
    main()
