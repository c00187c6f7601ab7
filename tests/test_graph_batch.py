"""GraphStore's one add path (column-wise with numpy; edge batches halved down to batches of one) equals the
per-flow reference (tests/_graph_reference.py: the per-flow rule written out one flow at a time).

The streams cover what the batched path decides for a whole batch at once: duplicates (replays,
redeliveries, repeats inside a batch), late events per lane (stragglers, a lane lagging by more
than the windows, lanes out of order with each other), evictions at window edges (events on bucket
boundaries, exactly at the lateness limit, threads revived after they expired), future-event counts,
expire() and directory changes between batches, new actors and teams mid-stream, and several networks
in one batch (LiveGraphs). ``sequential_flows`` counts the flows applied as batches of one after halving:
each stream is checked to take the route it is meant to exercise, so the comparison is never vacuous.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import numpy as np
import pytest

from tests._graph_reference import ReferenceStore
from tests._metrics_flows import ASKS, flow, random_flows
from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.live import LiveGraphs
from valuenet.config import Settings
from valuenet.schemas import Flow

WINDOWS = ["15m", "1h", "2h"]


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
    out["tallies"] = (store.applied, store.duplicates, store.late_events, store.future_events, store.watermark)
    out["lanes"] = (sorted(store._lane_wm.items(), key=repr), store._lane_floor, store._wm_bucket)
    out["seen"] = sorted(store._seen)
    out["ids"] = dict(sorted(store._ids_by_bucket.items()))
    out["aux"] = (store._aux_keys, sorted(store._aux_set), store._keys, store._count_keys, store._window_first)
    out["actors"] = (
        store._actor,
        store._names,
        list(store._segment),
        list(store._team),
        list(store._attr_ts),
        np.array(store._followers).tobytes(),
        list(store._followers_ts),
        store._team_names,
    )
    q, i = store._questions, store._ideas
    out["threads"] = repr(
        {  # row numbers may differ after a compaction: compare the rows' values (repr: NaN)
            key: (
                answers,
                last,
                (q.start[row], q.delay[row]) if row >= 0 else None,
                [(i.start[r], i.delay[r]) for r in ideas],
            )
            for key, (row, answers, ideas, last) in sorted(store._threads.items())
        }
    )
    out["threads by bucket"] = dict(sorted(store._threads_by_bucket.items()))
    out["future"] = sorted(store._future.items(), key=repr)
    return out


def realistic(seed: int, *, hours: float = 5, lag_lane_hours: float = 0.0) -> list[Flow]:
    """A live-like stream over 4 lanes, each in its connector's order, interleaved as a consumer reads them.

    Stragglers within and beyond the allowed lateness (300 s), events exactly on bucket edges and exactly at
    the lateness limit, redeliveries of a recent run and repeats inside a batch, questions (tickets, posts
    that ask), answers and ideas in threads reused after they expired, amplifications, flows without
    receiver and to oneself, new actors and new team names appearing late. ``lag_lane_hours`` delays lane 3
    by that much (its events land in buckets the other lanes have already expired).
    """
    rng = random.Random(seed)
    actors = [f"{'wcpi'[k % 4]}{k}" for k in range(90)]
    kinds = ["reply", "reaction", "repost", "quote", "mention", "review", "post", "ticket", "help", "approve"]
    lanes: list[list[Flow]] = [[] for _ in range(4)]
    n = int(hours * 700)
    for k in range(n):
        lane = rng.randrange(4)
        t = k * hours * 3600 / n + rng.uniform(-60, 60)
        if lane == 3:
            t -= lag_lane_hours * 3600
        if k % 41 == 0:
            t = 60 * round(t / 60)  # on a bucket edge
        giver, receiver = rng.sample(actors + [f"w{900 + k // 400}"], 2)  # a new actor now and then
        kind = rng.choice(kinds)
        parent = f"e-{seed}-{rng.randrange(max(k, 1))}" if kind in ("repost", "quote", "reply") else None
        lanes[lane].append(
            flow(
                giver,
                None if k % 29 == 0 else giver if k % 97 == 0 else receiver,
                t=t,
                flow_type=rng.choice(["knowledge", "idea", "reputation", "knowledge", "none"]),
                kind=kind,
                event_id=f"e-{seed}-{k}" + ("#quote" if kind == "quote" and k % 2 else ""),
                thread=f"th{rng.randrange(25)}" if rng.random() < 0.6 else None,
                parent_id=parent,
                followers=rng.randint(0, 5000) if rng.random() < 0.6 else None,
                giver_team=team_of(giver, k),
                receiver_team=team_of(receiver, k),
                reason=ASKS if rng.random() < 0.3 else "",
            )
        )
    for lane, flows in enumerate(lanes):
        flows.sort(key=lambda f: f.timestamp)
        for f in flows:
            f.lane = lane
        for j in range(25, len(flows), 60):  # a straggler: within the lateness, or beyond it
            back = rng.choice([120, 299, 301, 900])
            flows[j] = flows[j].model_copy(update={"timestamp": flows[j - 1].timestamp - timedelta(seconds=back)})
        for j in range(40, len(flows), 150):  # exactly at the lateness limit of its lane: applied
            top = max(f.timestamp for f in flows[:j])
            flows[j] = flows[j].model_copy(update={"timestamp": top - timedelta(seconds=300)})
    out: list[Flow] = []
    heads = [0] * 4
    while any(h < len(flows) for h, flows in zip(heads, lanes, strict=True)):  # the consumer's interleaving
        ready = [i for i in range(4) if heads[i] < len(lanes[i])]
        lane = min(ready, key=lambda i: lanes[i][heads[i]].timestamp) if rng.random() < 0.7 else rng.choice(ready)
        take = rng.randint(1, 30)
        out += lanes[lane][heads[lane] : heads[lane] + take]
        heads[lane] += take
    for j in range(300, len(out), 700):  # a redelivery of a recent run (rebalance), and repeats in one batch
        out[j:j] = out[j - 40 : j - 10]
        out.insert(j + 5, out[j + 2])
    return out


def team_of(actor: str, k: int) -> str | None:
    """A workforce actor's team; more team names exist as the stream goes on (new names mid-stream)."""
    return None if actor[0] != "w" else f"team{int(actor[1:]) % (3 + k // 1500)}"


def ops(flows: list[Flow], seed: int, chunk: int) -> list[tuple]:
    """The stream cut into batches, with future counts, expire() and directory changes between some of them."""
    rng = random.Random(seed)
    out: list[tuple] = [("future", 2)]  # before any flow: counted at the first watermark bucket
    for i in range(0, len(flows), chunk):
        out.append(("flows", flows[i : i + chunk]))
        r = rng.random()
        if r < 0.15 or i == chunk:
            out.append(("future", rng.randint(1, 4)))
        elif r < 0.18:  # idle time: the watermark moves past every lane
            top = max(f.timestamp for f in flows[: i + chunk])
            out.append(("expire", top + timedelta(seconds=rng.choice([30, 200]))))
        elif r < 0.23:
            out.append(("identity", f"{'wcpi'[rng.randrange(4)]}{rng.randrange(90)}", "partner", "team-x"))
    return out


def run_both(script: list[tuple], windows: list[str] = WINDOWS) -> tuple[GraphStore, GraphStore, dict, list[str]]:
    """Play ``script`` on the per-flow reference and on a store with add_many per batch."""
    one = ReferenceStore("n1", windows=windows, allowed_lateness_seconds=300, bucket_seconds=60)
    many = GraphStore("n1", windows=windows, allowed_lateness_seconds=300, bucket_seconds=60)
    statuses: list[str] = []
    tally = {"applied": 0, "duplicate": 0, "late": 0}
    for op, *args in script:
        if op == "flows":
            statuses += [one.add(f).value for f in args[0]]
            for k, v in many.add_many(args[0]).items():
                tally[k] += v
        elif op == "future":
            one.add_future(args[0])
            many.add_future(args[0])
        elif op == "expire":
            assert one.expire(args[0]) == many.expire(args[0])
        else:
            assert one.set_identity(*args) == many.set_identity(*args)
    return one, many, tally, statuses


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("chunk", [1, 7, 500, 10_000])
def test_add_many_equals_add_per_flow(seed: int, chunk: int) -> None:
    flows = stream(seed)
    one = ReferenceStore("n1", windows=["15m", "1h", "2h"], allowed_lateness_seconds=300, bucket_seconds=60)
    statuses = [one.add(f).value for f in flows]
    many = GraphStore("n1", windows=["15m", "1h", "2h"], allowed_lateness_seconds=300, bucket_seconds=60)
    tally = {"applied": 0, "duplicate": 0, "late": 0}
    for i in range(0, len(flows), chunk):
        for k, v in many.add_many(flows[i : i + chunk]).items():
            tally[k] += v
    assert tally == {s: statuses.count(s) for s in tally}
    assert tally["late"] > 10 and tally["duplicate"] >= 150  # the stream exercises every path
    assert state(many) == state(one)


@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.parametrize("chunk", [3, 64, 250, 1000])
def test_realistic_stream_batched_equals_per_flow(seed: int, chunk: int) -> None:
    flows = realistic(seed)
    one, many, tally, statuses = run_both(ops(flows, seed, chunk))
    assert tally == {s: statuses.count(s) for s in tally}
    assert tally["late"] >= 10 and tally["duplicate"] >= 50 and tally["applied"] > 2000
    assert one.sequential_flows == 0
    assert many.sequential_flows <= len(flows) // 10  # the column-wise path applied (nearly) every flow
    assert len(one._threads) > 5 and one._questions.rows().shape[0] > 5 and one.future_events > 0
    assert len(one._team_names) > 3  # team names appeared mid-stream
    assert state(many) == state(one)


@pytest.mark.parametrize("seed", [21, 22])
@pytest.mark.parametrize("chunk", [50, 400])
def test_lagging_lane_batched_equals_per_flow(seed: int, chunk: int) -> None:
    """Lane 3 runs 3 h behind (past the 2 h window): its flows land in buckets that expire during a batch."""
    flows = realistic(seed, hours=6, lag_lane_hours=3)
    one, many, tally, statuses = run_both(ops(flows, seed, chunk))
    assert tally == {s: statuses.count(s) for s in tally}
    assert 0 < many.sequential_flows < len(flows) // 2  # only the pieces the plan cannot prove went one by one
    assert state(many) == state(one)


def test_threads_revived_after_expiry() -> None:
    """A thread idle for longer than the windows expires; a question later in the same key is a new one."""
    script = []
    t = 0.0
    for round_ in range(4):
        batch = []
        for k in range(200):
            t += 9
            key = f"th{k % 5}"
            if round_ % 2 and k % 5 == 0:
                key = f"idle{k % 3}"  # these keys come back only every other round (> 2 h later)
            giver, kind, reason = ("c1", "post", ASKS) if k % 3 == 0 else ("w2", "reply", "")
            batch.append(flow(giver, "w2" if giver == "c1" else "c1", t=t, kind=kind, thread=key, reason=reason))
        t += 3 * 3600  # a gap longer than every window
        script.append(("flows", batch))
    one, many, _, _ = run_both(script)
    assert 0 < many.sequential_flows < 400  # only the pieces touching an expiring thread went one by one
    assert state(many) == state(one)


def test_several_networks_in_one_batch() -> None:
    """LiveGraphs.add_many splits a batch by network; each network's store equals add() per flow of its flows."""
    nets = ["n-a", "n-b", "n-c"]
    flows = [f.model_copy(update={"network": nets[i % 3]}) for i, f in enumerate(realistic(31, hours=2))]
    live = LiveGraphs(Settings(windows=tuple(WINDOWS), bucket_seconds=60, allowed_lateness_seconds=300))
    for i in range(0, len(flows), 300):
        live.add_many(flows[i : i + 300])
    assert sorted(live.stores) == nets
    for net in nets:
        alone = ReferenceStore(net, windows=WINDOWS, allowed_lateness_seconds=300, bucket_seconds=60)
        for f in flows:
            if f.network == net:
                alone.add(f)
        assert alone.applied > 300
        assert state(live.stores[net]) == state(alone)


@pytest.mark.parametrize("seed", [11, 12])
def test_add_per_flow_equals_reference(seed: int) -> None:
    """``add`` (a batch of one of the same path) leaves the reference's state, statuses included."""
    flows = realistic(seed, hours=2)
    one = ReferenceStore("n1", windows=WINDOWS, allowed_lateness_seconds=300, bucket_seconds=60)
    store = GraphStore("n1", windows=WINDOWS, allowed_lateness_seconds=300, bucket_seconds=60)
    one.add_future(2)
    store.add_future(2)  # counted at the first watermark: a batch of one moves it first
    expected = [one.add(f).value for f in flows]
    assert [store.add(f).value for f in flows] == expected
    assert expected.count("late") >= 5 and expected.count("duplicate") >= 20
    assert state(store) == state(one)
