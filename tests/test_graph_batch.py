"""GraphStore.add_many (one inlined loop, live counters added per batch with numpy) equals add() per flow."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import numpy as np
import pytest

from tests._metrics_flows import random_flows
from valuenet.analytics.graph_store import GraphStore
from valuenet.schemas import Flow


def stream(seed: int) -> list[Flow]:
    """A messy stream: 4 lanes, sorted with jitter, late stragglers, replays, no-receiver and thread flows."""
    rng = random.Random(seed)
    flows = random_flows(60, 3000, span=4 * 3600, seed=seed)
    flows.sort(key=lambda f: f.timestamp.timestamp() + rng.uniform(-120, 120))
    for i, f in enumerate(flows):
        f.lane = rng.randrange(4)
        f.thread = f"th{rng.randrange(80)}"
        if i % 37 == 0:
            f.receiver = None
        if i % 53 == 0:  # a straggler 15 min behind its lane
            f.timestamp = f.timestamp - timedelta(minutes=15)
    replays = [flows[rng.randrange(len(flows))] for _ in range(200)]
    for r in replays:
        flows.insert(rng.randrange(len(flows)), r)
    return flows


def state(store: GraphStore) -> dict:
    """Everything observable: the snapshot's arrays, live counters and bookkeeping."""
    snap = store.snapshot()
    out = {}
    for f in dataclasses.fields(snap):
        v = getattr(snap, f.name)
        if isinstance(v, np.ndarray):  # bytes: NaN equals NaN
            out[f.name] = v.tolist() if v.dtype == object else (v.dtype.str, v.shape, v.tobytes())
        elif f.name not in ("community_prev", "community_reuse"):
            out[f.name] = repr(v)
    for spec in store.windows:
        out[f"live {spec.name}"] = repr(store.live_window(spec.name))
    out["counts"] = {k: list(v) for k, v in store._counts.items()}
    out["totals"] = [list(t) for t in store._window_totals]
    out["tallies"] = (store.applied, store.duplicates, store.late_events, store.watermark)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("chunk", [1, 7, 500, 10_000])
def test_add_many_equals_add_per_flow(seed: int, chunk: int) -> None:
    flows = stream(seed)
    one = GraphStore("n1", windows=["15m", "1h", "2h"], allowed_lateness_seconds=300, bucket_seconds=60)
    statuses = [one.add(f).value for f in flows]
    many = GraphStore("n1", windows=["15m", "1h", "2h"], allowed_lateness_seconds=300, bucket_seconds=60)
    tally = {"applied": 0, "duplicate": 0, "late": 0}
    for i in range(0, len(flows), chunk):
        for k, v in many.add_many(flows[i : i + chunk]).items():
            tally[k] += v
    assert tally == {s: statuses.count(s) for s in tally}
    assert tally["late"] > 10 and tally["duplicate"] >= 150  # the stream exercises every path
    assert state(many) == state(one)
