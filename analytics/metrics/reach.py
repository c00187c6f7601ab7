"""Influencer reach through post cascades, potential reach, amplification and engagement rates.

**Cascade of a post.** Every repost or quote names the item it amplifies (``Flow.parent_id``);
a quote is an item itself (its event id without ``#quote``), so amplifying a quote extends the
cascade of the item it quoted. The cascade of an item ``R`` within ``k`` hops (default 3) is the
set of actors who amplified ``R`` (hop 1), a quote of ``R`` (hop 2), a quote of such a quote
(hop 3), …:

.. math::

    C_k(R) = \\{ amplifier(e) : parent(e) = Q,\\ Q \\in \\{R\\} \\cup quotes^{\\le k-1}(R) \\}

The **reach** of actor ``v`` is the number of distinct other actors in the cascades of ``v``'s
items (items ``v`` authored that were amplified in the window):

.. math::

    reach_k(v) = \\Big| \\bigcup_{R:\\ author(R) = v} C_k(R) \\setminus \\{v\\} \\Big|

An item's author is the receiver of its amplifications (the giver, for a quote's own item).
A repost with no ``parent_id`` amplifies an unnamed item of its receiver (one hop, no
continuation). Only amplifications in the window with a flow type (not ``none``) count.
**Potential reach** sums the follower counts of those amplifiers where known
(``Flow.giver_followers``; unknown = 0):

.. math::

    potential_k(v) = \\sum_{u \\in R_k(v)} followers(u)

Rates per authored post (``P(v)`` = posts of ``v`` in the window, at least 1):

.. math::

    amplification(v) = \\frac{\\#\\{\\text{repost, quote flows to } v\\}}{\\max(P(v), 1)}, \\qquad
    engagement(v) = \\frac{\\#\\{\\text{reply, reaction, repost, quote, mention, star flows to } v\\}}{\\max(P(v), 1)}

Fast engine: vectorised numpy over the amplifications (each walks up at most ``k − 1`` quote
parents; distinct (author, amplifier) pairs by ``np.unique``) — O(A log A) for A amplifications.
Reference: networkx breadth-first search from every item on the item graph (item → quote).
"""

from __future__ import annotations

import numpy as np

from valuenet.analytics.metrics.engine import WindowGraph, check_engine

__all__ = ["cascade_reach", "amplification_rate", "engagement_rate"]


def cascade_reach(
    amplifier: np.ndarray,
    author: np.ndarray,
    item: np.ndarray,
    own: np.ndarray,
    followers: np.ndarray,
    *,
    hops: int = 3,
    engine: str = "fast",
) -> tuple[np.ndarray, np.ndarray]:
    """``(reach_k, potential_k)`` per actor id ``0..len(followers)-1`` from amplification arrays.

    ``amplifier[e]`` amplified item ``item[e]`` (a hash) authored by ``author[e]`` (-1: unknown);
    ``own[e]`` is the quote's own item hash (0 for a repost).
    """
    engine = check_engine(engine)
    n = len(followers)
    counts = np.zeros(n, dtype=np.int64)
    potential = np.zeros(n, dtype=np.int64)
    fol = np.nan_to_num(np.asarray(followers, dtype=np.float64), nan=0.0)
    if len(amplifier) == 0 or hops < 1:
        return counts, potential
    amplifier = np.asarray(amplifier, dtype=np.int64)
    if engine == "networkx":
        return _cascade_reach_networkx(amplifier, author, item, own, fol, hops, counts, potential)
    has_own = own != 0
    codes, inverse = np.unique(np.concatenate([item, own[has_own]]), return_inverse=True)
    item_code = inverse[: len(item)]
    own_code = np.full(len(item), -1, dtype=np.int64)
    own_code[has_own] = inverse[len(item) :]
    owner = np.full(len(codes), -1, dtype=np.int64)
    known = author >= 0
    owner[item_code[known]] = author[known]
    owner[own_code[has_own]] = amplifier[has_own]
    parent = np.full(len(codes), -1, dtype=np.int64)
    parent[own_code[has_own]] = item_code[has_own]
    pairs = []
    at = item_code.copy()
    for _ in range(hops):
        live = at >= 0
        who = np.where(live, owner[np.maximum(at, 0)], -1)
        ok = (who >= 0) & (who != amplifier)
        pairs.append(who[ok] * n + amplifier[ok])
        at = np.where(live, parent[np.maximum(at, 0)], -1)
    uniq = np.unique(np.concatenate(pairs))
    authors, members = uniq // n, uniq % n
    counts += np.bincount(authors, minlength=n)
    potential += np.bincount(authors, weights=fol[members], minlength=n).round().astype(np.int64)
    return counts, potential


def _cascade_reach_networkx(
    amplifier: np.ndarray,
    author: np.ndarray,
    item: np.ndarray,
    own: np.ndarray,
    fol: np.ndarray,
    hops: int,
    counts: np.ndarray,
    potential: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference: BFS from every item over item → quote edges, amplifiers of the items within ``hops − 1``."""
    import networkx as nx

    G = nx.DiGraph()
    owner: dict[int, int] = {}
    amplifiers: dict[int, set[int]] = {}
    for a, who, it, q in zip(amplifier.tolist(), np.asarray(author).tolist(), item.tolist(), own.tolist()):
        G.add_node(it)
        amplifiers.setdefault(it, set()).add(a)
        if who >= 0:
            owner[it] = who
        if q:
            G.add_edge(it, q)
            owner[q] = a
    reached: dict[int, set[int]] = {}
    for root, v in owner.items():
        if root not in G:
            continue
        for it in nx.single_source_shortest_path_length(G, root, cutoff=hops - 1):
            reached.setdefault(v, set()).update(amplifiers.get(it, ()))
    for v, members in reached.items():
        members.discard(v)
        counts[v] = len(members)
        potential[v] = int(round(sum(fol[u] for u in members)))
    return counts, potential


def amplification_rate(g: WindowGraph) -> np.ndarray:
    """Repost/quote flows received per authored post (at least one post)."""
    return np.asarray(g.amplify.sum(axis=0)).ravel() / np.maximum(g.posts, 1)


def engagement_rate(g: WindowGraph) -> np.ndarray:
    """Reply/reaction/repost/quote/mention/star flows received per authored post (at least one post)."""
    return np.asarray(g.engage.sum(axis=0)).ravel() / np.maximum(g.posts, 1)
