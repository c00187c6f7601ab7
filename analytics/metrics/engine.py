"""The window graph (integer actor ids, scipy sparse layers) and the engine switch.

One public function per metric lives in its family module (``centrality.pagerank``,
``community.louvain`` ...) and takes ``engine=``: ``"fast"`` (aliases ``"igraph"``, ``"scipy"``) —
numba-compiled breadth-first kernels for sampled betweenness and k-hop reach
(``valuenet.analytics.metrics.kernels``), NetworKit's PLM for Louvain, scipy sparse for the
linear-algebra metrics (PageRank power iteration, strength, tunnels) — or ``"networkx"``, the
reference implementation. ``tests/test_engine_agreement.py`` checks they agree on the same window.

Graph model: nodes are the actors incident to at least one edge in the window, numbered
``0..n-1``. Each layer (knowledge, idea, reputation) is an ``n×n`` CSR matrix ``W_l`` with
``W_l[u, v]`` = number of flows ``u → v`` of that type in the window (giver → receiver; self
flows and flows without a receiver add no edge). ``W = Σ_l W_l`` is the overall graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp

from valuenet.schemas import FlowType, Kind, Segment

__all__ = [
    "ENGINES",
    "Engine",
    "LAYERS",
    "SEGMENTS",
    "KINDS",
    "AMPLIFY_KINDS",
    "ENGAGE_KINDS",
    "WindowGraph",
    "check_engine",
    "to_networkx",
]

Engine = Literal["fast", "networkx"]
ENGINES: tuple[str, ...] = ("fast", "networkx")
_ALIASES = {"igraph": "fast", "scipy": "fast"}

LAYERS: tuple[str, ...] = tuple(t.value for t in FlowType)  # knowledge, idea, reputation, none
EDGE_LAYERS: tuple[str, ...] = LAYERS[:3]
SEGMENTS: tuple[str, ...] = tuple(s.value for s in Segment)
KINDS: tuple[str, ...] = tuple(k.value for k in Kind)
KIND_CODE = {k: i for i, k in enumerate(KINDS)}
AMPLIFY_KINDS = frozenset({"repost", "quote"})
ENGAGE_KINDS = frozenset({"reply", "reaction", "repost", "quote", "mention", "star"})


def check_engine(engine: str) -> str:
    """Canonical engine name (``"igraph"``/``"scipy"`` mean ``"fast"``); ``ValueError`` if unknown."""
    engine = _ALIASES.get(engine, engine)
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    return engine


@dataclass
class WindowGraph:
    """One window's graph: per-layer weighted adjacency plus per-actor attributes.

    ``names[i]`` is actor ``i``'s id; ``segment[i]`` indexes :data:`SEGMENTS`; ``team[i]`` is a
    team code (``-1`` unknown); ``followers[i]`` is NaN when unknown; ``posts[i]`` counts posts
    authored in the window; ``amplify`` counts repost/quote flows ``u → v`` (u amplified v);
    ``engage`` counts engagement flows (reply, reaction, repost, quote, mention, star).
    """

    names: np.ndarray
    segment: np.ndarray
    team: np.ndarray
    followers: np.ndarray
    layers: dict[str, sp.csr_matrix]
    amplify: sp.csr_matrix
    engage: sp.csr_matrix
    posts: np.ndarray
    team_names: tuple[str, ...] = field(default_factory=tuple)
    kind: np.ndarray | None = None  # actor kind codes (analytics/kinds.py ACTOR_KINDS); None: every actor a person

    @property
    def n(self) -> int:
        """Number of actors (nodes)."""
        return len(self.names)

    @cached_property
    def total(self) -> sp.csr_matrix:
        """Overall weighted adjacency ``W = Σ_l W_l``."""
        out = sp.csr_matrix((self.n, self.n), dtype=np.float64)
        for m in self.layers.values():
            out = out + m
        out.sum_duplicates()
        return out

    def layer(self, name: str | None) -> sp.csr_matrix:
        """``W_l`` for layer ``name``, or the overall ``W`` when ``name`` is None."""
        return self.total if name is None else self.layers[name]

    @classmethod
    def from_edges(
        cls,
        n: int,
        src: np.ndarray,
        dst: np.ndarray,
        layer: np.ndarray,
        kind: np.ndarray,
        *,
        names: np.ndarray,
        segment: np.ndarray,
        team: np.ndarray | None = None,
        followers: np.ndarray | None = None,
        posts: np.ndarray | None = None,
        team_names: tuple[str, ...] = (),
    ) -> WindowGraph:
        """Build from edge-event arrays (node ids ``0..n-1``; layer codes index :data:`LAYERS`; kind codes :data:`KINDS`)."""
        keep = (src != dst) & (dst >= 0) & (layer < 3)
        src, dst, layer, kind = src[keep], dst[keep], layer[keep], kind[keep]
        ones = np.ones(len(src), dtype=np.float64)
        layers = {}
        for code, name in enumerate(EDGE_LAYERS):
            m = layer == code
            layers[name] = sp.csr_matrix((ones[m], (src[m], dst[m])), shape=(n, n))
            layers[name].sum_duplicates()
        amp_codes = np.array([KIND_CODE[k] for k in AMPLIFY_KINDS])
        eng_codes = np.array([KIND_CODE[k] for k in ENGAGE_KINDS])
        am = np.isin(kind, amp_codes)
        em = np.isin(kind, eng_codes)
        amplify = sp.csr_matrix((ones[am], (src[am], dst[am])), shape=(n, n))
        engage = sp.csr_matrix((ones[em], (src[em], dst[em])), shape=(n, n))
        amplify.sum_duplicates()
        engage.sum_duplicates()
        return cls(
            names=np.asarray(names, dtype=object),
            segment=np.asarray(segment, dtype=np.int8),
            team=np.full(n, -1, dtype=np.int32) if team is None else np.asarray(team, dtype=np.int32),
            followers=np.full(n, np.nan) if followers is None else np.asarray(followers, dtype=np.float64),
            layers=layers,
            amplify=amplify,
            engage=engage,
            posts=np.zeros(n, dtype=np.int64) if posts is None else np.asarray(posts, dtype=np.int64),
            team_names=team_names,
        )


def to_networkx(g: WindowGraph, layer: str | None = None, *, matrix: sp.spmatrix | None = None):
    """``nx.DiGraph`` with all ``n`` nodes and ``weight`` = flow count of ``layer`` (overall when None)."""
    import networkx as nx

    m = (g.layer(layer) if matrix is None else matrix).tocoo()
    G = nx.DiGraph()
    G.add_nodes_from(range(g.n))
    G.add_weighted_edges_from(zip(m.row.tolist(), m.col.tolist(), m.data.tolist()))
    return G
