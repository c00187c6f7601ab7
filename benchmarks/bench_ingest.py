"""Replay throughput into a real broker vs. its parts, same events, same run, in events per CPU-second.

Generates ``--events`` synthetic events (``valuenet.ingest.synth``, six platforms' real payloads) into
``events.jsonl`` (or reuses ``--data DIR`` if it holds one, so two code versions replay the same bytes),
then for ``--rounds`` rounds measures (median reported):

- ``json.loads``: decoding every line of the file, nothing else (the Python floor);
- ``parse-only``: ``replay`` into a null sink: read, validate, parse, route (the replay's CPU floor);
- ``replay``: ``valuenet.ingest.replay.replay`` into a fresh 4-partition topic (read, parse, route,
  encode, pack, produce with acks=all, flush) — what ``valuenet ingest replay`` does;
- ``produce-only``: ``RawProducer.send_bytes`` of the same pre-encoded envelopes with their routing
  keys computed beforehand (the client ceiling).

Each figure is events / CPU-seconds of this process (``time.process_time``: the producer's I/O thread
included, the broker not), so the other work on a shared machine does not count; wall-clock events/s
are printed beside it. Runs on the benchmarks' own broker (``benchmarks/_stack.py``:
``VALUENET_BENCH_KAFKA_PORT`` ≥ 39092 with its own ``VALUENET_HOME``, stopped afterwards), never the
shared test broker; ``KAFKA_BOOTSTRAP_SERVERS`` (loopback only) overrides it. Topics are deleted afterwards.

    VALUENET_BENCH_KAFKA_PORT=39592 python benchmarks/bench_ingest.py --events 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._stack import own_broker  # noqa: E402
from valuenet.ingest.producer import RawProducer, encode_envelope  # noqa: E402
from valuenet.ingest.replay import replay  # noqa: E402
from valuenet.ingest.routing import envelope_key  # noqa: E402
from valuenet.ingest.synth import SynthNetwork, write_dataset  # noqa: E402
from valuenet.kafka_admin import delete_topics, ensure_topics  # noqa: E402
from valuenet.schemas.envelope import RawEnvelope  # noqa: E402


class _Null:
    def send(self, env: RawEnvelope, *, key: str | None = None) -> None:
        pass

    def send_dlq(self, *a: object, **k: object) -> None:
        pass

    def flush(self, timeout: float | None = None) -> None:
        pass


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", type=Path, default=None, help="directory holding (or to hold) events.jsonl")
    args = ap.parse_args()
    tmp = args.data or Path(tempfile.mkdtemp(prefix="vn-bench-ingest-"))
    path = tmp / "events.jsonl"
    if not path.exists():
        print(f"generating {args.events:,} synthetic events into {tmp} …", flush=True)
        tmp.mkdir(parents=True, exist_ok=True)
        write_dataset(SynthNetwork(seed=1, actors=2000, rate=5.0), tmp, args.events)
    lines = path.read_text().splitlines()
    n = len(lines)
    envs = [RawEnvelope.model_validate_json(line) for line in lines]
    encoded = [(e.network, encode_envelope(e), envelope_key(e)) for e in envs]
    results: dict[str, list[tuple[float, float]]] = {
        "json.loads": [],
        "parse-only": [],
        "replay": [],
        "produce-only": [],
    }
    topics: list[str] = []
    with own_broker() as bootstrap:
        host = bootstrap.split(",")[0].rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"load tests target 127.0.0.1 only, not {bootstrap}")
        print(f"{n:,} events, broker {bootstrap}", flush=True)
        try:
            for r in range(args.rounds):
                results["json.loads"].append(_timed(lambda: all(json.loads(line) for line in lines)))
                results["parse-only"].append(_timed(lambda: replay(path, _Null(), source=None)))
                raw, dlq = f"bench.raw.{uuid.uuid4().hex[:8]}", f"bench.dlq.{uuid.uuid4().hex[:8]}"
                ensure_topics(bootstrap, {raw: 4, dlq: 1})
                topics += [raw, dlq]

                def run_replay(raw: str = raw, dlq: str = dlq) -> None:
                    with RawProducer(bootstrap, raw_topic=raw, dlq_topic=dlq) as producer:
                        stats = replay(path, producer, source=None)
                    assert stats.sent == n, stats.as_dict()

                results["replay"].append(_timed(run_replay))
                raw2 = f"bench.raw.{uuid.uuid4().hex[:8]}"
                ensure_topics(bootstrap, {raw2: 4})
                topics.append(raw2)

                def produce(raw2: str = raw2) -> None:
                    with RawProducer(bootstrap, raw_topic=raw2) as producer:
                        for net, value, key in encoded:
                            producer.send_bytes(net, value, key)

                results["produce-only"].append(_timed(produce))
                print(
                    f"round {r + 1}/{args.rounds}: "
                    + ", ".join(f"{k} {n / v[-1][0]:,.0f}/CPU-s" for k, v in results.items()),
                    flush=True,
                )
        finally:
            delete_topics(bootstrap, topics)
    med = {
        k: (n / statistics.median(c for c, _ in v), n / statistics.median(w for _, w in v)) for k, v in results.items()
    }
    print(f"\nmedians over {args.rounds} rounds, {n:,} events, broker {bootstrap}:")
    print(f"  {'':13s} {'events/CPU-s':>13s} {'events/s wall':>14s}")
    for k, (cpu, wall) in med.items():
        print(f"  {k:13s} {cpu:>13,.0f} {wall:>14,.0f}")
    print(
        f"  replay / produce-only = {med['replay'][0] / med['produce-only'][0]:.2f}; "
        f"replay / parse-only = {med['replay'][0] / med['parse-only'][0]:.2f}; "
        f"parse-only / json.loads = {med['parse-only'][0] / med['json.loads'][0]:.2f} (CPU)"
    )


if __name__ == "__main__":
    main()
