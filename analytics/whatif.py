"""Impact analysis (what if): recompute a window on a changed copy and report the difference.

The window is the tick's own: flows are applied to a :class:`~valuenet.analytics.graph_store.GraphStore`
(same dedupe, lateness and bucket policies as the live worker), the window graph and its metrics
come from :func:`~valuenet.analytics.tick.compute_window`. :func:`load_window` also keeps, per
customer question and customer/partner idea of the window, every later workforce answer in its
thread with the answering actor, so the analysis knows which outcomes depend on whom.

A :class:`Change` removes actors or teams, removes the tunnel between two groups (segments or
teams), merges two teams or adds ties (one knowledge flow each way) between actors or teams (a
team is represented by its member with the largest strength). :func:`impact` compares the
window before and after:

- **network**: actors, distinct edges, readiness index (and its terms), E-I index, responsiveness
  (median, p90) and idea pickup (share, median delay), formulas in ``valuenet.analytics.metrics.network``;
- **tunnels**: flow volume per segment pair (``vol(a, b) = Σ_l vol_l(a, b)``), before, after, cut;
- **reachability** between segments: ``share(a → b) = |{u ∈ a : ∃ path u ⇝ v ∈ b}| / |a|`` along
  flows (giver → receiver) and ``hops(a → b)`` = mean over those ``u`` of the hop count to the
  nearest ``v ∈ b``;
- **relayed pairs**: actor pairs ``(u, w)`` with ``u → x → w`` through a removed actor ``x`` (or
  the direct pairs of a removed tunnel): *rerouted* when a path ``u ⇝ w`` remains, *lost*
  when it was their only path (decided by the changed graph's strong and weak components, the
  rest by a search from ``u`` for the ``max_sources`` heaviest givers; any left are ``unresolved``);
- **outcomes**: questions (ideas) whose first answer (pickup) came from a removed actor, and
  whether a later answer by someone else remains;
- **influencers involved**: actor-level amplification reach within 3 hops
  (``reach_3(v) = |{u ≠ v : u ⇝ v in ≤ 3 repost/quote hops}|``) of the removed actors and of
  those whose cascades they were part of, before and after.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from valuenet.analytics.graph_store import _ANSWER_KINDS, _OPENER_KINDS, GraphStore
from valuenet.analytics.metrics import brokerage, network
from valuenet.analytics.metrics.engine import SEGMENTS, WindowGraph
from valuenet.analytics.paths import hops
from valuenet.analytics.tick import WindowResult, compute_window
from valuenet.analytics.window import bucket_of
from valuenet.schemas import Flow
from valuenet.schemas.gcpause import paused_gc

__all__ = [
    "Change",
    "ChangeError",
    "Outcomes",
    "WhatIfWindow",
    "group_name",
    "group_names",
    "impact",
    "load_window",
    "measure",
    "segment_hops",
    "segment_reach",
    "with_tie",
]

_WF = SEGMENTS.index("workforce")
REACH_HOPS = 3


@dataclass
class Outcomes:
    """Questions (or ideas) of a window and their candidate answers: row ``i`` starts at ``start[i]``;
    its answers (time ``at``, global actor id ``by``, sorted by time) are ``ptr[i]:ptr[i+1]``."""

    start: np.ndarray
    ptr: np.ndarray
    at: np.ndarray
    by: np.ndarray

    @classmethod
    def build(cls, rows: list[tuple[float, list[tuple[float, int]]]]) -> Outcomes:
        """From ``[(start, [(answer time, answerer), ...]), ...]`` (answers before ``start`` are dropped)."""
        start = np.array([r[0] for r in rows], dtype=np.float64)
        ptr: list[int] = [0]
        at: list[float] = []
        by: list[int] = []
        for t0, answers in rows:
            kept = sorted(a for a in answers if a[0] >= t0)
            at.extend(a[0] for a in kept)
            by.extend(a[1] for a in kept)
            ptr.append(len(at))
        return cls(start, np.array(ptr, dtype=np.int64), np.array(at, dtype=np.float64), np.array(by, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.start)

    def first(self, removed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per row: delay to the first answer by an actor not in ``removed`` (NaN: none) and its answerer (-1)."""
        q = len(self.start)
        delay, who = np.full(q, np.nan), np.full(q, -1, dtype=np.int64)
        if q == 0 or len(self.at) == 0:
            return delay, who
        ok = np.ones(len(self.at), dtype=bool) if removed is None or not len(removed) else ~np.isin(self.by, removed)
        idx = np.flatnonzero(ok)
        rows = np.repeat(np.arange(q), np.diff(self.ptr))[idx]
        uniq, pos = np.unique(rows, return_index=True)
        delay[uniq] = self.at[idx[pos]] - self.start[uniq]
        who[uniq] = self.by[idx[pos]]
        return delay, who


@dataclass
class WhatIfWindow:
    """One window ready for what-if questions: the tick's :class:`WindowResult` plus attributed outcomes."""

    network: str
    result: WindowResult
    names_global: np.ndarray
    questions: Outcomes
    ideas: Outcomes
    flows: int = 0
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _gindex: dict[str, int] = field(default_factory=dict, repr=False)
    _base: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {str(n): i for i, n in enumerate(self.result.graph.names.tolist())}
        self._gindex = {str(n): i for i, n in enumerate(self.names_global.tolist())}

    def base(self) -> dict[str, Any]:
        """The unchanged window's measures, tunnel volumes and segment reachability (computed once)."""
        if not self._base:
            g = self.graph
            dists = segment_hops(g)
            self._base.update(
                measure=measure(g, self.questions, self.ideas, None),
                tunnels=_tunnel_volumes(g),
                segment_hops=dists,
                reach=segment_reach(g, dists),
                reversed=g.total.T.tocsr(),  # Wᵀ: searches towards an actor
            )
        return self._base

    def hops_to(self, actor: int) -> np.ndarray:
        """Hops from every actor to window actor ``actor`` along flows (-1: no path); kept for reuse."""
        cache = self.base().setdefault("hops_to", {})
        if actor not in cache:
            if len(cache) > 256:
                cache.clear()
            cache[actor] = hops(self.base()["reversed"], np.array([actor]))
        return cache[actor]

    @property
    def graph(self) -> WindowGraph:
        """The window graph (actors with at least one tie)."""
        return self.result.graph

    def index(self, actor: str) -> int | None:
        """Window id of ``actor`` (None when it has no tie in the window)."""
        return self._index.get(actor)

    def global_id(self, actor: str) -> int | None:
        """Store id of ``actor`` (None when it has no applied flow)."""
        return self._gindex.get(actor)

    def team_code(self, team: str) -> int | None:
        """Code of team ``team`` (None when unknown)."""
        names = self.graph.team_names
        return names.index(team) if team in names else None


def group_name(g: WindowGraph, i: int) -> str:
    """``"<segment>/<team>"`` when the actor has a team, else its segment."""
    seg = SEGMENTS[int(g.segment[i])]
    t = int(g.team[i])
    return f"{seg}/{g.team_names[t]}" if t >= 0 else seg


def group_names(g: WindowGraph, labels: np.ndarray) -> dict[int, str]:
    """:func:`group_name` of every group label present (labels as ``brokerage.group_labels``)."""
    return {int(labels[i]): group_name(g, i) for i in np.unique(labels, return_index=True)[1].tolist()}


def load_window(
    flows: Iterable[Flow],
    *,
    network: str,
    window: str,
    bucket_seconds: int = 60,
    allowed_lateness_seconds: float = 300,
    identities: Iterable[tuple[str, str, str | None]] = (),
    engine: str = "fast",
    betweenness_pivots: int | None = 64,
    seed: int = 0,
) -> WhatIfWindow:
    """Apply ``flows`` (stream order) to a GraphStore with one window and compute it like a tick."""
    # a million short-lived tuples beside a million live flows: full collections would dominate
    with paused_gc():
        return _load_window(
            flows,
            network=network,
            window=window,
            bucket_seconds=bucket_seconds,
            allowed_lateness_seconds=allowed_lateness_seconds,
            identities=identities,
            engine=engine,
            betweenness_pivots=betweenness_pivots,
            seed=seed,
        )


def _load_window(
    flows: Iterable[Flow],
    *,
    network: str,
    window: str,
    bucket_seconds: int,
    allowed_lateness_seconds: float,
    identities: Iterable[tuple[str, str, str | None]],
    engine: str,
    betweenness_pivots: int | None,
    seed: int,
) -> WhatIfWindow:
    store = GraphStore(
        network,
        windows=[window],
        bucket_seconds=bucket_seconds,
        allowed_lateness_seconds=allowed_lateness_seconds,
        engine=engine,
        betweenness_pivots=betweenness_pivots,
        seed=seed,
    )
    threads: dict[str, list[Any]] = {}  # key → [question start | None, [(t, answerer)], [idea times]]
    lane_wm: dict[Any, float] = {}
    seen: set[str] = set()
    late_s = store.allowed_lateness_seconds
    n = 0
    it = iter(flows)
    while chunk := list(islice(it, 50_000)):  # bounded memory: ``flows`` may be a generator over stored rows
        n += len(chunk)
        store.add_many(chunk)  # the store's own (vectorised) path; outcome roles are attributed below
        for f in chunk:
            ts = f.timestamp.timestamp()
            lane = getattr(f, "lane", None)
            wm = lane_wm.get(lane)
            if wm is not None and ts < wm - late_s:
                continue  # late in its lane: the store did not apply it (GraphStore policy)
            if wm is None or ts > wm:
                lane_wm[lane] = ts
            seg, kind, is_idea = f.giver_segment, f.kind, f.flow_type == "idea"
            # the same roles as GraphStore._track_thread (tests/test_whatif.py checks the delays agree)
            question = seg == "customer" and kind in _OPENER_KINDS and not is_idea
            idea = is_idea and (seg == "customer" or seg == "partner") and kind != "mention"
            answer = seg == "workforce" and kind in _ANSWER_KINDS
            if not (question or idea or answer) or f.event_id in seen:
                continue
            seen.add(f.event_id)
            th = threads.setdefault(f.thread or f.parent_id or f.event_id, [None, [], []])
            if question and (th[0] is None or ts < th[0]):
                th[0] = ts
            if idea:
                th[2].append(ts)
            if answer:
                th[1].append((ts, f.giver))
    for actor, segment, team in identities:
        store.set_identity(actor, segment, team)
    snap = store.snapshot()
    if snap.watermark is None:
        raise ValueError(f"network {network!r}: no flows to analyse")
    result = compute_window(snap, snap.windows[0], bucket_of(snap.watermark, snap.bucket_seconds))
    gid = {str(a): i for i, a in enumerate(snap.names.tolist())}
    qrows: list[tuple[float, list[tuple[float, int]]]] = []
    irows: list[tuple[float, list[tuple[float, int]]]] = []
    for q0, answers, ideas in threads.values():
        ans = [(t, gid[a]) for t, a in answers]
        if q0 is not None and result.start <= q0 < result.end:
            qrows.append((q0, ans))
        irows.extend((t, ans) for t in ideas if result.start <= t < result.end)
    return WhatIfWindow(network, result, snap.names, Outcomes.build(qrows), Outcomes.build(irows), n)


# ---------------------------------------------------------------------------------- changes


class ChangeError(ValueError):
    """A change that cannot be applied to the window; ``field`` names the Change field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (ChangeError, (self.field, str(self)))  # survives the trip back from the child process


@dataclass(frozen=True)
class Change:
    """A proposed rearrangement (any combination)."""

    remove_actors: tuple[str, ...] = ()
    remove_teams: tuple[str, ...] = ()
    remove_tunnels: tuple[tuple[str, str], ...] = ()
    merge_teams: tuple[tuple[str, str], ...] = ()
    add_ties: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """The change in words."""
        parts = [f"remove actor {a}" for a in self.remove_actors]
        parts += [f"remove team {t}" for t in self.remove_teams]
        parts += [f"remove the tunnel {a} ↔ {b}" for a, b in self.remove_tunnels]
        parts += [f"merge team {b} into {a}" for a, b in self.merge_teams]
        parts += [f"add a tie {a} ↔ {b}" for a, b in self.add_ties]
        return "; ".join(parts) or "no change"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "remove_actors": list(self.remove_actors),
            "remove_teams": list(self.remove_teams),
            "remove_tunnels": [list(p) for p in self.remove_tunnels],
            "merge_teams": [list(p) for p in self.merge_teams],
            "add_ties": [list(p) for p in self.add_ties],
        }


def _group_mask(w: WhatIfWindow, name: str) -> np.ndarray:
    """Actors of a segment (``"partner"``), a team (``"support"``) or a ``segment/team`` group."""
    g = w.graph
    if name in SEGMENTS:
        return g.segment == SEGMENTS.index(name)
    team = name.split("/", 1)[1] if "/" in name else name
    code = w.team_code(team)
    if code is None:
        raise ValueError(f"{name!r}: neither a segment nor a team of this window")
    return g.team == code


def representative(w: WhatIfWindow, team: str) -> int:
    """A team's member with the largest in + out strength (window id)."""
    mask = _group_mask(w, team)
    if not mask.any():
        raise ValueError(f"team {team!r}: no member in the window")
    s = np.asarray(w.graph.total.sum(axis=0)).ravel() + np.asarray(w.graph.total.sum(axis=1)).ravel()
    idx = np.flatnonzero(mask)
    return int(idx[np.argmax(s[idx])])


def _endpoint(w: WhatIfWindow, name: str) -> int:
    i = w.index(name)
    if i is not None:
        return i
    if w.team_code(name.split("/", 1)[-1]) is not None or name in SEGMENTS:
        return representative(w, name)
    raise ValueError(f"{name!r}: neither an actor with ties in window {w.result.window} nor a team")


@dataclass
class _Variant:
    graph: WindowGraph  # in base ids (removed actors still in it: searches block them, _compact drops them)
    removed: np.ndarray  # bool mask, base ids
    extra: tuple[np.ndarray, np.ndarray]  # added directed edges (base ids)
    cut_pairs: np.ndarray  # (k, 2) direct pairs of removed tunnels
    ties: list[tuple[int, int]]
    not_found: list[str]


def _drop_entries(m: sp.csr_matrix, pair_kill: tuple[np.ndarray, np.ndarray]) -> sp.csr_matrix:
    """``m`` without the entries between the two groups (either direction)."""
    c = m.tocoo()
    a, b = pair_kill
    keep = ~((a[c.row] & b[c.col]) | (b[c.row] & a[c.col]))
    return sp.csr_matrix((c.data[keep], (c.row[keep], c.col[keep])), shape=m.shape)


def _apply(w: WhatIfWindow, change: Change) -> _Variant:
    g = w.graph
    n = g.n
    removed = np.zeros(n, dtype=bool)
    not_found: list[str] = []
    for name in change.remove_actors:
        i = w.index(name)
        if i is None:
            not_found.append(name)
        else:
            removed[i] = True
    for t in change.remove_teams:
        try:
            removed |= _group_mask(w, t)
        except ValueError as e:
            raise ChangeError("remove_teams", str(e)) from e
    team = g.team.copy()
    for keep_t, gone_t in change.merge_teams:
        a, b = w.team_code(keep_t), w.team_code(gone_t)
        if a is None or b is None:
            raise ChangeError("merge_teams", f"merge {keep_t!r} and {gone_t!r}: unknown team")
        team[team == b] = a
    layers = dict(g.layers)
    amplify, engage = g.amplify, g.engage
    cut_pairs = np.zeros((0, 2), dtype=np.int64)
    for a_name, b_name in change.remove_tunnels:
        try:
            ma, mb = _group_mask(w, a_name), _group_mask(w, b_name)
        except ValueError as e:
            raise ChangeError("remove_tunnels", str(e)) from e
        tot = g.total.tocoo()
        hit = (ma[tot.row] & mb[tot.col]) | (mb[tot.row] & ma[tot.col])
        cut_pairs = np.vstack([cut_pairs, np.column_stack([tot.row[hit], tot.col[hit]])])
        layers = {k: _drop_entries(m, (ma, mb)) for k, m in layers.items()}
        amplify, engage = _drop_entries(amplify, (ma, mb)), _drop_entries(engage, (ma, mb))
    ties: list[tuple[int, int]] = []
    for a_name, b_name in change.add_ties:
        try:
            u, v = _endpoint(w, a_name), _endpoint(w, b_name)
        except ValueError as e:
            raise ChangeError("add_ties", str(e)) from e
        if u == v:
            raise ChangeError("add_ties", f"add tie {a_name!r} ↔ {b_name!r}: both ends are the same actor")
        ties.append((u, v))
    es = np.array([x for u, v in ties for x in (u, v)], dtype=np.int64)
    ed = np.array([x for u, v in ties for x in (v, u)], dtype=np.int64)
    total = g.total
    if ties:
        add = sp.csr_matrix((np.ones(len(es)), (es, ed)), shape=(n, n))
        layers["knowledge"] = (layers["knowledge"] + add).tocsr()
        total = (total + add).tocsr()
    var = replace(g, team=team, layers=layers, amplify=amplify, engage=engage)
    if not change.remove_tunnels:  # W = Σ_l W_l known without summing the layers again
        var.__dict__["total"] = total
    return _Variant(var, removed, (es, ed), cut_pairs, ties, not_found)


def _compact(g: WindowGraph, removed: np.ndarray) -> tuple[WindowGraph, np.ndarray]:
    """The graph of the remaining flows — removed actors and actors left without any tie dropped, as a
    tick would count it — and the kept actors' ids in ``g``."""

    def sub(graph: WindowGraph, keep: np.ndarray) -> WindowGraph:
        def cut(m: sp.csr_matrix) -> sp.csr_matrix:
            return m[keep][:, keep].tocsr()

        return WindowGraph(
            names=graph.names[keep],
            segment=graph.segment[keep],
            team=graph.team[keep],
            followers=graph.followers[keep],
            layers={k: cut(m) for k, m in graph.layers.items()},
            amplify=cut(graph.amplify),
            engage=cut(graph.engage),
            posts=graph.posts[keep],
            team_names=graph.team_names,
        )

    kept = np.flatnonzero(~removed)
    out = sub(g, kept) if removed.any() else g
    deg = np.asarray(out.total.sum(axis=0)).ravel() + np.asarray(out.total.sum(axis=1)).ravel()
    if deg.all():
        return out, kept
    alive = np.flatnonzero(deg > 0)
    return sub(out, alive), kept[alive]


# ---------------------------------------------------------------------------------- measures


def segment_hops(g: WindowGraph, extra: tuple[np.ndarray, np.ndarray] | None = None) -> dict[int, np.ndarray]:
    """Per segment code ``b`` present: hops from every actor to the nearest actor of ``b`` (-1: none)."""
    rev = g.total.T.tocsr()
    rextra = (extra[1], extra[0]) if extra is not None else None
    return {
        b: hops(rev, np.flatnonzero(g.segment == b), extra=rextra)
        for b in range(len(SEGMENTS))
        if (g.segment == b).any()
    }


def with_tie(dists: dict[int, np.ndarray], to_u: np.ndarray, to_x: np.ndarray, u: int, x: int) -> dict[int, np.ndarray]:
    """Hops after adding the tie ``u ↔ x``: ``d'(v) = min(d(v), d(v, u) + 1 + d(x), d(v, x) + 1 + d(u))``.

    Exact for one tie: a shortest path uses it at most once. ``to_u[v]`` = hops from ``v`` to ``u``.
    """
    inf = np.int64(1 << 40)

    def fin(d: np.ndarray) -> np.ndarray:
        return np.where(d < 0, inf, d.astype(np.int64))

    fu, fx = fin(to_u), fin(to_x)
    out = {}
    for b, d in dists.items():
        d0 = fin(d)
        d1 = np.minimum(d0, np.minimum(fu + 1 + d0[x], fx + 1 + d0[u]))
        out[b] = np.where(d1 >= inf, -1, d1).astype(np.int32)
    return out


def segment_reach(
    g: WindowGraph, dists: dict[int, np.ndarray] | None = None
) -> dict[tuple[str, str], tuple[float, float | None]]:
    """``(a, b) → (share(a → b), hops(a → b))`` for segments ``a ≠ b`` present (module docstring)."""
    dists = segment_hops(g) if dists is None else dists
    out: dict[tuple[str, str], tuple[float, float | None]] = {}
    for b, dist in dists.items():
        for a in dists:
            if a == b:
                continue
            da = dist[g.segment == a]
            ok = da >= 0
            out[(SEGMENTS[a], SEGMENTS[b])] = (float(ok.mean()), float(da[ok].mean()) if ok.any() else None)
    return out


def measure(g: WindowGraph, questions: Outcomes, ideas: Outcomes, removed_global: np.ndarray | None) -> dict[str, Any]:
    """Network metrics of a (possibly changed) window graph (module docstring)."""
    readiness, terms = network.readiness_index(g)
    q_delay, _ = questions.first(removed_global)
    i_delay, _ = ideas.first(removed_global)
    med, p90 = network.responsiveness(q_delay)
    share, pick = network.idea_pickup(i_delay)
    return {
        "actors": g.n,
        "edges": network.edges(g),
        "readiness_index": readiness,
        "readiness_terms": terms,
        "ei_index": brokerage.ei_index(g),
        "responsiveness_median_s": med,
        "responsiveness_p90_s": p90,
        "questions": len(questions),
        "questions_answered": int(np.count_nonzero(~np.isnan(q_delay))),
        "idea_pickup_share": share,
        "idea_pickup_median_s": pick,
        "ideas": len(ideas),
    }


def _tunnel_volumes(g: WindowGraph) -> dict[tuple[str, str], int]:
    """``vol(a, b)``: flows from segment ``a`` to segment ``b`` (the tunnels' volumes summed over types)."""
    w = g.total.tocoo()
    k = len(SEGMENTS)
    vol = np.bincount(g.segment[w.row].astype(np.int64) * k + g.segment[w.col], weights=w.data, minlength=k * k)
    return {(SEGMENTS[c // k], SEGMENTS[c % k]): int(round(vol[c])) for c in np.flatnonzero(vol).tolist()}


def _reach_of(amp_t: sp.csr_matrix, v: int, blocked: np.ndarray | None) -> int:
    d = hops(amp_t, np.array([v]), blocked=blocked, max_hops=REACH_HOPS)
    return int(np.count_nonzero(d > 0))


def _relayed(g: WindowGraph, var: _Variant, after: WindowGraph, kept: np.ndarray, max_sources: int) -> dict[str, Any]:
    """Pairs that exchanged through a removed actor (or across a removed tunnel): rerouted or lost.

    On the changed graph, a pair in one strongly connected component, or whose giver reaches the
    giant strong component that reaches the receiver, still has a path (rerouted); a pair in two
    weakly connected components has none (lost); the rest are settled by a search
    from the giver (the ``max_sources`` heaviest givers; others are reported ``unresolved``). Hop
    counts of rerouted pairs come from the searched givers.
    """
    tot = g.total.tocsr()
    n = g.n
    removed = var.removed
    pairs = sp.csr_matrix((n, n))
    weight = np.zeros(n)
    if removed.any():
        rem = np.flatnonzero(removed)
        into = tot[:, rem]  # u → x
        pairs = (into.astype(bool).astype(np.float64) @ tot[rem].astype(bool).astype(np.float64)).tocsr()
        weight = np.asarray(into.sum(axis=1)).ravel()
    if len(var.cut_pairs):
        r, c = var.cut_pairs[:, 0], var.cut_pairs[:, 1]
        pairs = pairs + sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
        weight = weight + np.bincount(r, weights=np.asarray(tot[r, c]).ravel(), minlength=n)
    pc = pairs.tocoo()
    ok = (pc.row != pc.col) & ~removed[pc.row] & ~removed[pc.col]
    u_all, w_all = pc.row[ok].astype(np.int64), pc.col[ok].astype(np.int64)
    # components of the changed graph (after ids; actors left without a tie are in none)
    m = after.total
    if var.ties:
        es, ed = np.searchsorted(kept, var.extra[0]), np.searchsorted(kept, var.extra[1])
        m = (m + sp.csr_matrix((np.ones(len(es)), (es, ed)), shape=m.shape)).tocsr()
    _, strong = connected_components(m, directed=True, connection="strong")
    _, weak = connected_components(m, directed=True, connection="weak")
    pos_u, pos_w = np.searchsorted(kept, u_all), np.searchsorted(kept, w_all)
    pos_u, pos_w = np.minimum(pos_u, len(kept) - 1), np.minimum(pos_w, len(kept) - 1)
    alive = (kept[pos_u] == u_all) & (kept[pos_w] == w_all) if len(kept) else np.zeros(len(u_all), bool)
    state = np.full(len(u_all), -1, dtype=np.int8)  # 1 rerouted, 0 lost, -1 undecided
    state[~alive] = 0
    su, sw = strong[pos_u], strong[pos_w]
    state[alive & (su == sw)] = 1
    if len(kept):  # through the giant strong component: u reaches it and it reaches w
        giant = np.flatnonzero(strong == np.bincount(strong).argmax())
        to_giant = hops(m.T.tocsr(), giant) >= 0
        from_giant = hops(m, giant) >= 0
        state[alive & (state < 0) & to_giant[pos_u] & from_giant[pos_w]] = 1
    out_deg, in_deg = np.diff(m.indptr), np.bincount(m.indices, minlength=m.shape[0])
    state[alive & ((out_deg[pos_u] == 0) | (in_deg[pos_w] == 0) | (weak[pos_u] != weak[pos_w]))] = 0
    hop_sum = hop_n = 0
    order = np.unique(u_all)
    order = order[np.lexsort((order, -weight[order]))]
    undecided_givers = set(np.unique(u_all[state < 0]).tolist())
    searched = [u for u in order.tolist() if u in undecided_givers][:max_sources]
    searched += [u for u in order[:4].tolist() if u not in undecided_givers]  # hop counts of the heaviest
    blocked = removed if removed.any() else None
    by_giver = np.argsort(u_all, kind="stable")
    starts = np.searchsorted(u_all[by_giver], order)
    ends = np.searchsorted(u_all[by_giver], order, side="right")
    span = {int(u): by_giver[a:b] for u, a, b in zip(order.tolist(), starts.tolist(), ends.tolist())}
    for u in searched:
        dist = hops(var.graph.total, np.array([u]), blocked=blocked, extra=var.extra)
        rows = span[u]
        d = dist[w_all[rows]]
        state[rows] = (d >= 0).astype(np.int8)
        hop_sum += int(d[d >= 0].sum())
        hop_n += int((d >= 0).sum())
    k = len(SEGMENTS)
    code = g.segment[u_all].astype(np.int64) * k + g.segment[w_all]
    lost_by = np.bincount(code[state == 0], minlength=k * k)
    kept_by = np.bincount(code[state == 1], minlength=k * k)
    lost_rows = np.flatnonzero(state == 0)[:20]
    return {
        "pairs": len(u_all),
        "givers": len(order),
        "givers_searched": len(searched),
        "lost": int(lost_by.sum()),
        "rerouted": int(kept_by.sum()),
        "unresolved": int((state < 0).sum()),
        "rerouted_mean_hops": hop_sum / hop_n if hop_n else None,
        "by_tunnel": [
            {"src": SEGMENTS[c // k], "dst": SEGMENTS[c % k], "lost": int(lost_by[c]), "rerouted": int(kept_by[c])}
            for c in np.flatnonzero(lost_by + kept_by).tolist()
        ],
        "lost_examples": [[str(g.names[u_all[i]]), str(g.names[w_all[i]])] for i in lost_rows.tolist()],
    }


def _outcome_shift(o: Outcomes, removed_global: np.ndarray) -> dict[str, int]:
    _, who = o.first(None)
    delay_after, _ = o.first(removed_global)
    dep = np.isin(who, removed_global) & (who >= 0)
    return {
        "first_by_removed": int(dep.sum()),
        "still_answered": int(np.count_nonzero(dep & ~np.isnan(delay_after))),
        "left_unanswered": int(np.count_nonzero(dep & np.isnan(delay_after))),
    }


def _involved_influencers(g: WindowGraph, var: _Variant, limit: int = 20) -> list[dict[str, Any]]:
    removed = var.removed
    if not removed.any() or g.amplify.nnz == 0:
        return []
    amp = g.amplify.tocsr()
    downstream = hops(amp, np.flatnonzero(removed), max_hops=REACH_HOPS)  # x amplified … v
    cand = np.flatnonzero(downstream >= 0)
    amplifiers = np.diff(amp.tocsc().indptr)  # distinct actors amplifying each actor
    cand = cand[np.lexsort((cand, -amplifiers[cand]))][: 2 * limit]  # the most amplified of those involved
    amp_t = amp.T.tocsr()
    rows: list[dict[str, Any]] = []
    for v in cand.tolist():
        before = _reach_of(amp_t, v, None)
        if before == 0:
            continue
        after = 0 if removed[v] else _reach_of(amp_t, v, removed)
        rows.append(
            {"actor": str(g.names[v]), "removed": bool(removed[v]), "reach_before": before, "reach_after": after}
        )
    rows.sort(key=lambda r: (-(r["reach_before"] - r["reach_after"]), r["actor"]))
    return rows[:limit]


def impact(w: WhatIfWindow, change: Change, *, max_sources: int = 16) -> dict[str, Any]:
    """Before/after report of ``change`` on window ``w`` (JSON-ready; module docstring)."""
    t0 = time.perf_counter()
    g = w.graph
    var = _apply(w, change)
    removed = var.removed
    removed_names = [str(x) for x in g.names[removed].tolist()]
    removed_global = np.array(
        sorted({gi for a in list(change.remove_actors) + removed_names if (gi := w.global_id(a)) is not None}),
        dtype=np.int64,
    )
    only_ties = not removed.any() and not change.remove_tunnels  # no actor or edge can leave the window
    after_graph, kept = (var.graph, np.arange(g.n)) if only_ties else _compact(var.graph, removed)
    base = w.base()
    before, vol_b, reach_b = base["measure"], base["tunnels"], base["reach"]
    after = measure(after_graph, w.questions, w.ideas, removed_global)
    if only_ties:  # each tie adds one flow each way
        vol_a = dict(vol_b)
        for a, b in zip(var.extra[0].tolist(), var.extra[1].tolist()):
            key = (SEGMENTS[int(g.segment[a])], SEGMENTS[int(g.segment[b])])
            vol_a[key] = vol_a.get(key, 0) + 1
    else:
        vol_a = _tunnel_volumes(after_graph)
    tunnel_rows: list[dict[str, Any]] = [
        {"src": a, "dst": b, "before": vol_b.get((a, b), 0), "after": vol_a.get((a, b), 0)}
        for a, b in sorted(set(vol_b) | set(vol_a))
    ]
    for r in tunnel_rows:
        r["cut"] = max(0, r["before"] - r["after"])
    if len(var.ties) == 1 and len(kept) == g.n and not change.remove_tunnels:  # one tie: exact update, two searches
        u, x = var.ties[0]
        to_u, to_x = w.hops_to(u), w.hops_to(x)
        reach_a = segment_reach(after_graph, with_tie(base["segment_hops"], to_u, to_x, u, x))
    else:
        extra = (np.searchsorted(kept, var.extra[0]), np.searchsorted(kept, var.extra[1])) if var.ties else None
        reach_a = segment_reach(after_graph, segment_hops(after_graph, extra))
    reach_rows = []
    for key in sorted(set(reach_b) | set(reach_a)):
        sb, hb = reach_b.get(key, (0.0, None))
        sa, ha = reach_a.get(key, (0.0, None))
        reach_rows.append(
            {"src": key[0], "dst": key[1], "share_before": sb, "share_after": sa, "hops_before": hb, "hops_after": ha}
        )
    relayed = _relayed(g, var, after_graph, kept, max_sources) if (removed.any() or len(var.cut_pairs)) else None
    report: dict[str, Any] = {
        "network": w.network,
        "window": w.result.window,
        "window_start": _iso(w.result.start),
        "window_end": _iso(w.result.end),
        "change": change.as_dict(),
        "description": change.describe(),
        "removed_actors": removed_names,
        "not_in_window": var.not_found,
        "added_ties": [[str(g.names[u]), str(g.names[v])] for u, v in var.ties],
        "before": before,
        "after": after,
        "tunnels": tunnel_rows,
        "reachability": reach_rows,
        "relayed_pairs": relayed,
        "questions": _outcome_shift(w.questions, removed_global),
        "ideas": _outcome_shift(w.ideas, removed_global),
        "influencers": _involved_influencers(g, var),
    }
    report["summary"] = summarise(report)
    report["seconds"] = time.perf_counter() - t0
    return report


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def summarise(r: dict[str, Any]) -> list[str]:
    """The main differences of an :func:`impact` report in sentences."""
    out: list[str] = []
    if r["not_in_window"]:
        out.append(f"{', '.join(r['not_in_window'])}: no tie in the {r['window']} window, nothing depends on them.")
    cut = [t for t in r["tunnels"] if t["cut"] > 0 and t["src"] != t["dst"]]
    for t in sorted(cut, key=lambda t: -t["cut"])[:4]:
        share = t["cut"] / t["before"] if t["before"] else 0.0
        out.append(f"{t['src']} → {t['dst']}: {t['cut']} of {t['before']} flows cut ({_pct(share)}).")
    for x in r["reachability"]:
        if abs(x["share_after"] - x["share_before"]) >= 0.005:
            out.append(f"{x['src']} actors reaching {x['dst']}: {_pct(x['share_before'])} → {_pct(x['share_after'])}.")
        elif (
            x["hops_before"] is not None and x["hops_after"] is not None and x["hops_before"] - x["hops_after"] >= 0.05
        ):
            out.append(f"{x['src']} → {x['dst']}: {x['hops_before']:.2f} → {x['hops_after']:.2f} hops on average.")
    rp = r["relayed_pairs"]
    if rp and rp["pairs"]:
        out.append(
            f"{rp['pairs']} actor pairs exchanged through the change: {rp['lost']} lose their only path, "
            f"{rp['rerouted']} are rerouted" + (f", {rp['unresolved']} not searched." if rp["unresolved"] else ".")
        )
    for what, label in (("questions", "customer questions"), ("ideas", "customer/partner ideas")):
        s = r[what]
        if s["first_by_removed"]:
            out.append(
                f"{s['first_by_removed']} {label} were first taken up by the removed actors; "
                f"{s['left_unanswered']} would be left without any workforce answer."
            )
    b, a = r["before"], r["after"]
    if abs((a["readiness_index"] or 0) - (b["readiness_index"] or 0)) >= 0.001:
        out.append(f"readiness index {b['readiness_index']:.3f} → {a['readiness_index']:.3f}.")
    if b["responsiveness_p90_s"] != a["responsiveness_p90_s"]:
        out.append(f"responsiveness p90 {_secs(b['responsiveness_p90_s'])} → {_secs(a['responsiveness_p90_s'])}.")
    for inf in r["influencers"][:3]:
        if inf["reach_before"] != inf["reach_after"]:
            out.append(f"{inf['actor']} reach {inf['reach_before']} → {inf['reach_after']} actors.")
    return out or ["no measurable change."]


def _secs(x: float | None) -> str:
    return "none" if x is None else f"{x:.0f} s"
