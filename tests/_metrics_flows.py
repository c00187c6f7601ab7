"""Flow factories shared by the analytics metric tests (no fixtures, plain functions)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from valuenet.schemas import Flow

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
_ids = itertools.count()

SEGMENT_OF = {"w": "workforce", "c": "customer", "p": "partner", "i": "influencer"}


def flow(
    giver: str,
    receiver: str | None,
    *,
    t: float = 0.0,
    flow_type: str = "knowledge",
    kind: str = "reply",
    event_id: str | None = None,
    thread: str | None = None,
    parent_id: str | None = None,
    followers: int | None = None,
    giver_team: str | None = None,
    receiver_team: str | None = None,
    network: str = "n1",
    reason: str = "",
) -> Flow:
    """A flow at ``T0 + t`` seconds; the segment is read from the actor id's first letter (w, c, p, i)."""
    return Flow(
        event_id=event_id or f"e{next(_ids)}",
        network=network,
        source="synth",
        kind=kind,
        timestamp=T0 + timedelta(seconds=t),
        giver=giver,
        receiver=receiver,
        giver_segment=SEGMENT_OF.get(giver[0], "unknown"),
        receiver_segment=SEGMENT_OF.get(receiver[0], "unknown") if receiver else "unknown",
        giver_team=giver_team,
        receiver_team=receiver_team,
        flow_type=flow_type,
        confidence=1.0,
        reason=reason,
        thread=thread,
        parent_id=parent_id,
        giver_followers=followers,
    )


#: The classifier's reason on a question (``processors.classify.rules``): a customer post with it opens a question.
ASKS = "rule:question 'how do i'"


def random_flows(n_actors: int = 40, n_flows: int = 600, *, span: float = 3000.0, seed: int = 1) -> list[Flow]:
    """A random multi-layer, multi-segment network of ``n_flows`` flows over ``span`` seconds."""
    rng = random.Random(seed)
    actors = [f"{'wcpi'[i % 4]}{i}" for i in range(n_actors)]
    teams = ["red", "blue", "green"]
    kinds = ["reply", "reaction", "repost", "quote", "mention", "review", "post"]
    out = []
    for _ in range(n_flows):
        a, b = rng.sample(actors, 2)
        out.append(
            flow(
                a,
                b,
                t=rng.uniform(0, span),
                flow_type=rng.choice(["knowledge", "idea", "reputation"]),
                kind=rng.choice(kinds),
                followers=rng.randint(0, 1000) if rng.random() < 0.7 else None,
                giver_team=teams[int(a[1:]) % 3] if a[0] == "w" else None,
                receiver_team=teams[int(b[1:]) % 3] if b[0] == "w" else None,
            )
        )
    return out


def window_digraph(flows: list[Flow], start: float, end: float, layer: str | None = None):
    """Independent reference: ``nx.DiGraph`` of the edge flows with ``start ≤ t < end`` (weight = count)."""
    import networkx as nx

    G = nx.DiGraph()
    for f in flows:
        t = f.timestamp.timestamp()
        if not (start <= t < end) or f.receiver is None or f.receiver == f.giver or f.flow_type.value == "none":
            continue
        G.add_node(f.giver)
        G.add_node(f.receiver)
        if layer is not None and f.flow_type.value != layer:
            continue
        w = G.get_edge_data(f.giver, f.receiver, {"weight": 0})["weight"]
        G.add_edge(f.giver, f.receiver, weight=w + 1)
    return G


def store_with(flows: list[Flow], **kwargs):
    """A ``GraphStore`` fed ``flows`` in event-time order (so nothing is late)."""
    from valuenet.analytics.graph_store import GraphStore

    store = GraphStore("n1", **kwargs)
    store.add_many(sorted(flows, key=lambda f: f.timestamp))
    return store


def by_name(window, values) -> dict:
    """``{actor: value}`` of a per-actor array of a WindowResult."""
    return {name: values[i] for i, name in enumerate(window.graph.names.tolist())}
