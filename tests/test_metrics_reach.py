"""Influencer reach, potential reach, amplification and engagement rates against direct computation."""

from __future__ import annotations

from collections import Counter, deque

import pytest

from tests._metrics_flows import by_name, flow, random_flows, store_with


def test_cascade_within_k_hops() -> None:
    # a ← b ← c ← d ← e (each reposts the previous), f quotes a, g only likes a
    flows = [
        flow("i_a", None, t=0, kind="post", flow_type="knowledge"),
        flow("c_b", "i_a", t=10, kind="repost", flow_type="reputation", followers=100),
        flow("c_c", "c_b", t=20, kind="repost", flow_type="reputation", followers=50),
        flow("c_d", "c_c", t=30, kind="repost", flow_type="reputation", followers=7),
        flow("c_e", "c_d", t=40, kind="repost", flow_type="reputation", followers=1000),
        flow("c_f", "i_a", t=50, kind="quote", flow_type="reputation"),
        flow("c_g", "i_a", t=60, kind="reaction", flow_type="reputation", followers=5),
    ]
    w = store_with(flows, windows=["1h"], reach_hops=3).tick().windows[0]
    reach, potential = by_name(w, w.reach), by_name(w, w.potential_reach)
    assert reach["i_a"] == 4  # b, c, d (3 hops) and f; e is 4 hops away; g did not amplify
    assert potential["i_a"] == 100 + 50 + 7  # f's followers unknown
    assert reach["c_b"] == 3 and potential["c_b"] == 50 + 7 + 1000
    assert by_name(w, w.amplification_rate)["i_a"] == pytest.approx(2 / 1)  # 2 amplifications per post
    assert by_name(w, w.engagement_rate)["i_a"] == pytest.approx(3 / 1)


def test_reach_matches_bfs_on_random_window() -> None:
    flows = random_flows(60, 1200, span=3000, seed=21)
    w = store_with(flows, windows=["1h"], reach_hops=2).tick().windows[0]
    amplifiers: dict[str, set[str]] = {}
    followers: dict[str, int] = {}
    inside = sorted((f for f in flows if w.start <= f.timestamp.timestamp() < w.end), key=lambda f: f.timestamp)
    for f in inside:
        if f.giver_followers is not None:
            followers[f.giver] = f.giver_followers
        if f.kind.value in ("repost", "quote") and f.receiver and f.receiver != f.giver and f.flow_type.value != "none":
            amplifiers.setdefault(f.receiver, set()).add(f.giver)
    got_reach, got_potential = by_name(w, w.reach), by_name(w, w.potential_reach)
    for actor in got_reach:
        seen, queue = {actor: 0}, deque([actor])
        while queue:
            v = queue.popleft()
            if seen[v] == 2:
                continue
            for u in amplifiers.get(v, ()):
                if u not in seen:
                    seen[u] = seen[v] + 1
                    queue.append(u)
        members = set(seen) - {actor}
        assert got_reach[actor] == len(members)
        assert got_potential[actor] == sum(followers.get(u, 0) for u in members)
    posts = Counter(f.giver for f in inside if f.kind.value == "post")
    amps = Counter(f.receiver for f in inside if f.kind.value in ("repost", "quote") and f.receiver != f.giver)
    for actor, value in by_name(w, w.amplification_rate).items():
        assert value == pytest.approx(amps[actor] / max(posts[actor], 1))
