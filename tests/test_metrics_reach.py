"""Influencer reach, potential reach, amplification and engagement rates against direct computation."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import numpy as np
import pytest

from tests._metrics_flows import by_name, flow, random_flows, store_with
from valuenet.analytics.metrics import reach


def test_cascade_within_k_hops() -> None:
    # i_a posts A; b reposts A; c quotes A (Q1); d reposts Q1; e quotes Q1 (Q2); f reposts Q2 (hop 3);
    # g quotes Q2 (Q3, hop 3); h reposts Q3 (hop 4: outside); i reposts i_a's other post B;
    # b also reposts z's post X (not i_a's cascade); j only likes A
    rep: dict[str, Any] = {"kind": "repost", "flow_type": "reputation"}
    q: dict[str, Any] = {"kind": "quote", "flow_type": "reputation"}
    flows = [
        flow("i_a", None, t=0, kind="post", flow_type="knowledge", event_id="A"),
        flow("c_b", "i_a", t=10, parent_id="A", followers=100, **rep),
        flow("c_c", "i_a", t=20, parent_id="A", event_id="Q1#quote", followers=50, **q),
        flow("c_d", "c_c", t=30, parent_id="Q1", followers=7, **rep),
        flow("c_e", "c_c", t=40, parent_id="Q1", event_id="Q2#quote", **q),
        flow("c_f", "c_e", t=50, parent_id="Q2", followers=1000, **rep),
        flow("c_g", "c_e", t=60, parent_id="Q2", event_id="Q3#quote", **q),
        flow("c_h", "c_g", t=70, parent_id="Q3", followers=3, **rep),
        flow("c_i", "i_a", t=80, parent_id="B", followers=2, **rep),
        flow("c_b", "c_z", t=90, parent_id="X", **rep),
        flow("c_j", "i_a", t=95, kind="reaction", flow_type="reputation", parent_id="A", followers=5),
    ]
    w = store_with(flows, windows=["1h"], reach_hops=3).tick().windows[0]
    reach, potential = by_name(w, w.reach), by_name(w, w.potential_reach)
    assert reach["i_a"] == 7  # b, c, i (hop 1), d, e (hop 2), f, g (hop 3); not h (hop 4), not j (a like)
    assert potential["i_a"] == 100 + 50 + 7 + 1000 + 2
    assert reach["c_c"] == 5 and potential["c_c"] == 7 + 1000 + 3  # Q1's cascade: d, e, f, g, h
    assert reach["c_z"] == 1 and reach["c_b"] == 0
    assert by_name(w, w.amplification_rate)["i_a"] == pytest.approx(3 / 1)  # 3 amplifications per post
    assert by_name(w, w.engagement_rate)["i_a"] == pytest.approx(4 / 1)
    one = store_with(flows, windows=["1h"], reach_hops=1).tick().windows[0]
    assert by_name(one, one.reach)["i_a"] == 3


def _random_cascades(seed: int, n_actors: int = 50, n_roots: int = 30, n_amps: int = 600) -> list:
    rng = random.Random(seed)
    actors = [f"c{i}" for i in range(n_actors)]
    items = {}  # item → author
    flows = []
    for r in range(n_roots):
        author = rng.choice(actors)
        items[f"R{r}"] = author
        flows.append(flow(author, None, t=r, kind="post", flow_type="knowledge", event_id=f"R{r}"))
    for k in range(n_amps):
        who = rng.choice(actors)
        item = rng.choice(sorted(items))
        quote = rng.random() < 0.25
        flows.append(
            flow(
                who,
                items[item],
                t=100 + k,
                kind="quote" if quote else "repost",
                flow_type=rng.choice(["reputation", "reputation", "none"]),
                parent_id=item,
                event_id=f"Q{k}#quote" if quote else None,
                followers=rng.randint(0, 500) if rng.random() < 0.7 else None,
            )
        )
        if quote and flows[-1].flow_type.value != "none":
            items[f"Q{k}"] = who
    return flows


def test_reach_matches_bfs_over_items_on_random_cascades() -> None:
    flows = _random_cascades(21)
    hops = 3
    w = store_with(flows, windows=["1h"], reach_hops=hops).tick().windows[0]
    inside = [f for f in flows if w.start <= f.timestamp.timestamp() < w.end]
    followers: dict[str, int] = {}
    for f in sorted(inside, key=lambda f: f.timestamp):
        if f.giver_followers is not None:
            followers[f.giver] = f.giver_followers
    amps = [f for f in inside if f.kind.value in ("repost", "quote") and f.flow_type.value != "none"]
    author = {f.parent_id: f.receiver for f in amps}
    author.update({f.event_id.removesuffix("#quote"): f.giver for f in amps if f.kind.value == "quote"})
    children: dict[str, list] = {}
    for f in amps:
        children.setdefault(f.parent_id, []).append(f)
    want: dict[str, set[str]] = {}
    for root, owner in author.items():
        frontier, depth = [root], 0
        while frontier and depth < hops:
            nxt = []
            for it in frontier:
                for f in children.get(it, ()):
                    want.setdefault(owner, set()).add(f.giver)
                    if f.kind.value == "quote":
                        nxt.append(f.event_id.removesuffix("#quote"))
            frontier, depth = nxt, depth + 1
    got_reach, got_potential = by_name(w, w.reach), by_name(w, w.potential_reach)
    for actor in got_reach:
        members = want.get(actor, set()) - {actor}
        assert got_reach[actor] == len(members), actor
        assert got_potential[actor] == sum(followers.get(u, 0) for u in members)
    assert max(got_reach.values()) > 10


def test_reach_engines_agree() -> None:
    rng = np.random.default_rng(4)
    n, a = 200, 3000
    amplifier = rng.integers(0, n, a)
    item = rng.integers(1, 400, a) * 7919
    own = np.where(rng.random(a) < 0.3, np.arange(a) * 7919 + 5_000_000, 0)
    author = rng.integers(-1, n, a)
    followers = np.where(rng.random(n) < 0.8, rng.integers(0, 1000, n), np.nan)
    for hops in (1, 2, 3):
        fast = reach.cascade_reach(amplifier, author, item, own, followers, hops=hops, engine="fast")
        ref = reach.cascade_reach(amplifier, author, item, own, followers, hops=hops, engine="networkx")
        assert np.array_equal(fast[0], ref[0]) and np.array_equal(fast[1], ref[1])
        assert fast[0].max() > 0


def test_amplification_rate_per_post() -> None:
    flows = random_flows(60, 1200, span=3000, seed=21)
    w = store_with(flows, windows=["1h"]).tick().windows[0]
    inside = [f for f in flows if w.start <= f.timestamp.timestamp() < w.end]
    posts = Counter(f.giver for f in inside if f.kind.value == "post")
    amps = Counter(f.receiver for f in inside if f.kind.value in ("repost", "quote") and f.receiver != f.giver)
    for actor, value in by_name(w, w.amplification_rate).items():
        assert value == pytest.approx(amps[actor] / max(posts[actor], 1))
