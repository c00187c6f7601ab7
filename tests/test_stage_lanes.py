"""The processors stage per raw partition: two workers holding two partitions each emit exactly the flows one
worker holding all four does, whatever order the partitions' records arrive in."""

from __future__ import annotations

import random

from valuenet.config import Settings
from valuenet.ingest.producer import encode_batch, encode_envelope
from valuenet.ingest.routing import envelope_key, partition_for
from valuenet.ingest.synth import SynthNetwork
from valuenet.pipeline.wiring import build_stage

PARTITIONS = 4


def partitioned_records(n: int) -> dict[int, list[bytes]]:
    """Synth envelopes packed 50 per record per partition, as the connectors' producer routes them."""
    pending: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    records: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    for env in SynthNetwork(seed=11, actors=150).envelopes(n):
        p = partition_for(envelope_key(env), PARTITIONS)
        pending[p].append(encode_envelope(env))
        if len(pending[p]) == 50:
            records[p].append(encode_batch(pending.pop(p)))
            pending[p] = []
    for p, values in pending.items():
        if values:
            records[p].append(encode_batch(values))
    return records


def run(records: dict[int, list[bytes]], owners: list[list[int]], seed: int) -> dict[str, str]:
    """Feed each worker (a stage) its partitions' records, interleaved at random; every flow by event id."""
    rng = random.Random(seed)
    flows: dict[str, str] = {}
    for lanes in owners:
        stage = build_stage(Settings(directory_path=None, pseudonymise=False))
        queues = {p: list(records[p]) for p in lanes}
        while any(queues.values()):
            p = rng.choice([p for p, q in queues.items() if q])
            result = stage.process([queues[p].pop(0)], [p])
            assert not result.dead
            for f in result.flows:
                assert f.lane == p
                assert f.event_id not in flows  # no event is emitted by two workers
                flows[f.event_id] = f.model_dump_json()
    return flows


def test_two_workers_emit_exactly_the_flows_of_one() -> None:
    records = partitioned_records(4000)
    assert all(records.values())
    one = run(records, [[0, 1, 2, 3]], seed=1)
    assert len(one) > 4000
    assert run(records, [[0, 1], [2, 3]], seed=2) == one
    assert run(records, [[3], [1, 0], [2]], seed=3) == one
    assert sum(1 for f in one.values() if '"receiver":null' not in f) > 3000  # targets resolved
