"""Replay throughput into the real broker vs. its parts, same events, same run.

Generates ``--events`` synthetic events (``valuenet.ingest.synth``, six platforms' real payloads) into a
temp ``events.jsonl``, then for ``--rounds`` rounds measures (median reported):

- ``parse-only``: read + parse each payload, nothing sent (the replay's CPU floor);
- ``replay``: ``valuenet.ingest.replay.replay`` into a fresh topic of the broker (read, parse, encode,
  produce with acks=all, flush) — what ``valuenet ingest replay`` does;
- ``produce-only``: kafka-python producing the same pre-encoded envelopes (the client ceiling).

Prints events/s and ratios. Targets 127.0.0.1 only (managed broker, or KAFKA_BOOTSTRAP_SERVERS
pointing at loopback); topics are deleted afterwards.

    /work/venv/bin/python benchmarks/bench_ingest.py [--events 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from valuenet.config import get_settings
from valuenet.ingest.producer import RawProducer, encode_envelope
from valuenet.ingest.replay import replay
from valuenet.ingest.synth import SynthNetwork, write_dataset
from valuenet.kafka_admin import delete_topics, ensure_topics
from valuenet.schemas.envelope import RawEnvelope


class _Null:
    def send(self, env: RawEnvelope, *, key: str | None = None) -> None:
        pass

    def send_dlq(self, *a: object, **k: object) -> None:
        pass

    def flush(self, timeout: float | None = None) -> None:
        pass


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    bootstrap = get_settings().bootstrap_servers
    host = bootstrap.split(",")[0].rsplit(":", 1)[0]
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"load tests target 127.0.0.1 only, not {bootstrap}")
    tmp = Path(tempfile.mkdtemp(prefix="vn-bench-ingest-"))
    print(f"generating {args.events:,} synthetic events …", flush=True)
    write_dataset(SynthNetwork(seed=1, actors=2000, rate=5.0), tmp, args.events)
    path = tmp / "events.jsonl"
    envs = [RawEnvelope.model_validate_json(line) for line in path.read_text().splitlines()]
    encoded = [(e.network, encode_envelope(e)) for e in envs]
    topics: list[str] = []
    results: dict[str, list[float]] = {"parse-only": [], "replay": [], "produce-only": []}
    try:
        for r in range(args.rounds):
            st = replay(path, _Null(), source=None)
            results["parse-only"].append(st.events_per_s)
            raw, dlq = f"bench.raw.{uuid.uuid4().hex[:8]}", f"bench.dlq.{uuid.uuid4().hex[:8]}"
            ensure_topics(bootstrap, {raw: 4, dlq: 1})
            topics += [raw, dlq]
            with RawProducer(bootstrap, raw_topic=raw, dlq_topic=dlq) as producer:
                st = replay(path, producer, source=None)
            results["replay"].append(st.events_per_s)
            raw2 = f"bench.raw.{uuid.uuid4().hex[:8]}"
            ensure_topics(bootstrap, {raw2: 4})
            topics.append(raw2)
            with RawProducer(bootstrap, raw_topic=raw2) as producer:
                t0 = time.perf_counter()
                for net, value in encoded:
                    producer.send_bytes(net, value)
                producer.flush()
                results["produce-only"].append(len(encoded) / (time.perf_counter() - t0))
            print(
                f"round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:,.0f} ev/s" for k, v in results.items()),
                flush=True,
            )
    finally:
        delete_topics(bootstrap, topics)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"\nmedians over {args.rounds} rounds, {args.events:,} events, broker {bootstrap}:")
    for k, v in med.items():
        print(f"  {k:13s} {v:>10,.0f} events/s")
    print(
        f"  replay / produce-only = {med['replay'] / med['produce-only']:.2f}; "
        f"replay / parse-only = {med['replay'] / med['parse-only']:.2f}"
    )


if __name__ == "__main__":
    main()
