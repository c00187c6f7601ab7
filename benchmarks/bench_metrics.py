"""Metric tick on a 100k-actor / 1M-edge window: the fast engine vs plain networkx, same graph, same run.

Run:  /work/venv/bin/python benchmarks/bench_metrics.py [--actors 100000] [--flows 1100000] [--repeat 5]

Generates a power-law directed multi-layer network (Zipf-like giver and receiver popularity,
15 % reposts/quotes, four segments, teams) spread over 7 days, feeds it through
``GraphStore.add`` one flow at a time, then times ``GraphStore.tick`` (windows 1h, 24h, 7d;
the 7d window holds every flow) ``--repeat`` times. With the store's default staleness policy
(``community_every=5``; windows of ≥ 20 000 actors take turns recomputing Louvain) run 1 is
cold (Louvain on every window), run 4 recomputes it on the 7d window and run 5 on the 24h
window, the other runs carry the partition over; reported: the cold tick, the median and the
worst and mean tick over one steady cycle (runs 2–6). The networkx baseline
runs the same metrics on the same 7d window graph once: PageRank (overall + reputation),
Louvain, cascade reach (BFS per item) and sampled betweenness with the same pivot count — measured on
``--nx-pivots`` pivots and extrapolated linearly to the full count (betweenness cost is
linear in the number of pivots; stated in the output). Burt's constraint / effective size and
the Gould–Fernandez roles are timed on the fast engine only (networkx's per-node loops cost
O(Σ degree²) in Python on this graph: hours); their share of the tick is printed. Peak RSS from ``resource.getrusage``.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from valuenet.analytics.graph_store import GraphStore
from valuenet.analytics.metrics import brokerage, centrality, community, reach
from valuenet.schemas import Flow

T0 = datetime(2025, 3, 3, tzinfo=UTC)
SEGMENTS = np.array(["workforce", "partner", "customer", "influencer"])
KINDS = np.array(["reply", "reaction", "mention", "review", "suggestion", "repost", "quote", "post"])
KIND_P = [0.35, 0.2, 0.1, 0.1, 0.05, 0.1, 0.05, 0.05]
TYPES = np.array(["knowledge", "idea", "reputation"])


def rss_mb() -> float:
    """Peak resident set size of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(actors: int, flows: int, seed: int = 1):
    """Yield ``flows`` Flow objects over ``actors`` actors (power-law popularity), in event-time order."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, actors + 1) ** 0.75
    popularity /= popularity.sum()
    perm_g, perm_r = rng.permutation(actors), rng.permutation(actors)
    giver = perm_g[rng.choice(actors, flows, p=popularity)]
    receiver = perm_r[rng.choice(actors, flows, p=popularity)]
    ts = np.sort(rng.uniform(0, 7 * 86400 - 120, flows))
    kind = rng.choice(len(KINDS), flows, p=KIND_P)
    ftype = rng.choice(3, flows, p=[0.5, 0.15, 0.35])
    segment = rng.choice(4, actors, p=[0.3, 0.1, 0.5, 0.1])
    team = rng.integers(0, 12, actors)
    followers = rng.pareto(1.5, actors) * 100
    earlier = (rng.random(flows) * np.arange(flows)).astype(np.int64)  # the item a repost / quote amplifies
    for i in range(flows):
        g, r = int(giver[i]), int(receiver[i])
        amplifies = KINDS[kind[i]] in ("repost", "quote")
        yield Flow.model_construct(
            schema_version=1,
            event_id=f"b{i}",
            network="bench",
            source="synth",
            kind=KINDS[kind[i]],
            timestamp=T0 + timedelta(seconds=float(ts[i])),
            giver=f"a{g}",
            receiver=f"a{r}",
            giver_segment=SEGMENTS[segment[g]],
            receiver_segment=SEGMENTS[segment[r]],
            giver_team=f"t{team[g]}" if segment[g] == 0 else None,
            receiver_team=f"t{team[r]}" if segment[r] == 0 else None,
            flow_type=TYPES[ftype[i]],
            confidence=1.0,
            reason="",
            channel=None,
            thread=None,
            parent_id=f"b{earlier[i]}" if amplifies else None,
            giver_followers=int(followers[g]),
        )


def _amplifications(store: GraphStore) -> tuple:
    """``cascade_reach`` inputs of every amplification the store holds (the 7d window holds every flow)."""
    snap = store.snapshot()
    at = snap.amp_index
    return snap.giver[at], snap.receiver[at], snap.amp_item, snap.amp_own, snap.followers


def main() -> int:
    """Build the store, time ticks and the networkx baseline, print figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actors", type=int, default=100_000)
    ap.add_argument("--flows", type=int, default=1_100_000)
    ap.add_argument("--repeat", type=int, default=6)
    ap.add_argument("--pivots", type=int, default=32)
    ap.add_argument("--nx-pivots", type=int, default=2)
    ap.add_argument("--skip-networkx", action="store_true")
    args = ap.parse_args()

    from valuenet.schemas import FlowType, Kind, Segment

    store = GraphStore("bench", betweenness_pivots=args.pivots)
    print(f"[1/4] feeding {args.flows:,} flows over {args.actors:,} actors through GraphStore.add ...", flush=True)
    kinds, types, segs = {k.value: k for k in Kind}, {f.value: f for f in FlowType}, {s.value: s for s in Segment}
    flows_iter, done, add_s = generate(args.actors, args.flows), 0, 0.0
    while True:  # flows are built in chunks outside the timed region (only store.add is timed)
        chunk = list(itertools.islice(flows_iter, 20_000))  # ~4 KB per Flow object
        if not chunk:
            break
        for f in chunk:
            f.__dict__.update(
                kind=kinds[f.kind],
                flow_type=types[f.flow_type],
                giver_segment=segs[f.giver_segment],
                receiver_segment=segs[f.receiver_segment],
            )
        t = time.perf_counter()
        for f in chunk:
            store.add(f)
        add_s += time.perf_counter() - t
        done += len(chunk)
        if done % 200_000 == 0:
            print(f"      {done:,} flows, add {done / add_s:,.0f} flows/s, peak RSS {rss_mb():.0f} MB", flush=True)
    print(f"      add: {args.flows / add_s:,.0f} flows/s; peak RSS {rss_mb():.0f} MB", flush=True)

    print(f"[2/4] tick (numba + NetworKit + scipy), {args.repeat} runs ...", flush=True)
    warm = GraphStore("warm")  # load the compiled numba kernels once (cached on disk)
    warm.add_many(f for f, _ in zip(generate(50, 200), range(200)))
    warm.tick()
    ticks, windows7d, fresh = [], [], []
    for r in range(args.repeat):
        t = time.perf_counter()
        store.snapshot()
        snap_s = time.perf_counter() - t
        t = time.perf_counter()
        result = store.tick()  # snapshot + every window
        ticks.append(time.perf_counter() - t)
        big = result.windows[-1]
        windows7d.append(big.seconds)
        fresh.append(big.community_fresh)
        recomputed = [w.window for w in result.windows if w.community_fresh]
        print(
            f"      run {r + 1}: tick {ticks[-1]:.2f} s, Louvain recomputed on {recomputed} "
            f"(snapshot {snap_s:.2f} s; "
            + ", ".join(
                f"{w.window} {w.seconds:.2f} s/{w.graph.n:,} actors/{w.network_metrics['edges']:,} edges"
                for w in result.windows
            )
            + ")",
            flush=True,
        )
    g = big.graph
    print(
        f"      7d window: {g.n:,} actors, {big.network_metrics['edges']:,} distinct edges, "
        f"{int(g.total.sum()):,} edge flows; betweenness pivots {args.pivots}, ε(δ=0.1) = {big.betweenness_error:.3f}"
    )
    print(f"      peak RSS {rss_mb():.0f} MB", flush=True)
    tick_med, win_med = statistics.median(ticks), statistics.median(windows7d)
    cycle = ticks[1 : 1 + store.community_every] or ticks
    fresh7d = [s for s, f in zip(windows7d, fresh) if f]
    print(
        f"      cold tick (Louvain everywhere) {ticks[0]:.2f} s; median tick {tick_med:.2f} s; steady cycle of "
        f"{len(cycle)} ticks: worst {max(cycle):.2f} s, mean {statistics.mean(cycle):.2f} s",
        flush=True,
    )
    if args.skip_networkx:
        return 0

    print("[3/4] networkx on the same 7d window graph (once) ...", flush=True)
    nx_times = {}
    t = time.perf_counter()
    centrality.pagerank(g, engine="networkx", tol=1e-6)
    centrality.pagerank(g, layer="reputation", engine="networkx", tol=1e-6)
    nx_times["pagerank x2"] = time.perf_counter() - t
    print(f"      pagerank x2: {nx_times['pagerank x2']:.1f} s", flush=True)
    t = time.perf_counter()
    centrality.betweenness(g, pivots=args.nx_pivots, engine="networkx")
    measured = time.perf_counter() - t
    nx_times["betweenness"] = measured * args.pivots / args.nx_pivots
    print(
        f"      betweenness: {measured:.1f} s for {args.nx_pivots} pivots → extrapolated "
        f"{nx_times['betweenness']:.1f} s for {args.pivots}",
        flush=True,
    )
    amps = _amplifications(store)
    t = time.perf_counter()
    reach.cascade_reach(*amps, hops=3, engine="networkx")
    nx_times["reach"] = time.perf_counter() - t
    print(f"      reach (cascade BFS per item): {nx_times['reach']:.1f} s", flush=True)
    t = time.perf_counter()
    community.louvain(g, engine="networkx")
    nx_times["louvain"] = time.perf_counter() - t
    print(f"      louvain: {nx_times['louvain']:.1f} s", flush=True)
    nx_total = sum(nx_times.values())

    print("[4/4] fast engine, same metrics on the same graph ...", flush=True)
    fast = {}
    t = time.perf_counter()
    centrality.pagerank(g)
    centrality.pagerank(g, layer="reputation")
    fast["pagerank x2"] = time.perf_counter() - t
    t = time.perf_counter()
    centrality.betweenness(g, pivots=args.pivots)
    fast["betweenness"] = time.perf_counter() - t
    t = time.perf_counter()
    reach.cascade_reach(*amps, hops=3)
    fast["reach"] = time.perf_counter() - t
    t = time.perf_counter()
    brokerage.constraint_effective_size(g)
    fast["constraint + effective size"] = time.perf_counter() - t
    t = time.perf_counter()
    brokerage.gould_fernandez(g)
    fast["gould-fernandez roles"] = time.perf_counter() - t
    t = time.perf_counter()
    community.louvain(g)
    fast["louvain"] = time.perf_counter() - t
    fast_total = sum(fast[k] for k in nx_times)
    print("\n| metric (7d window) | networkx s | fast s | ratio |\n|---|---|---|---|")
    for k in nx_times:
        print(f"| {k} | {nx_times[k]:.2f} | {fast[k]:.3f} | {nx_times[k] / fast[k]:.0f}× |")
    for k in fast.keys() - nx_times.keys():  # networkx's per-node Python loops are O(Σ degree²) here: not timed
        print(f"| {k} | — | {fast[k]:.3f} | — |")
    print(f"| **total** | {nx_total:.1f} | {fast_total:.2f} | {nx_total / fast_total:.0f}× |")
    print(
        f"\nmedian full tick (3 windows, all metrics): {tick_med:.2f} s; cold tick {ticks[0]:.2f} s; steady cycle "
        f"worst {max(cycle):.2f} s, mean {statistics.mean(cycle):.2f} s; 7d window alone median {win_med:.2f} s "
        f"(with Louvain, median {statistics.median(fresh7d):.2f} s); networkx / 7d-window = {nx_total / win_med:.0f}× "
        f"(with Louvain {nx_total / statistics.median(fresh7d):.0f}×); "
        f"networkx / fast same metrics = {nx_total / fast_total:.0f}×; add {args.flows / add_s:,.0f} flows/s; "
        f"peak RSS {rss_mb():.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
