"""Tunnels to dig: introductions between actors, ranked by what they would open up.

Candidates pair two groups (segment, team) that exchange least directly (none: a structural
hole; else the weakest ties first), at least one of them workforce (the company can make the introduction), starting from the
most inward-looking groups (lowest E-I, ``EI_A = (E_A − I_A)/(E_A + I_A)`` over the flows
touching group ``A``). Each group is represented by its *ambassador*: the member with the largest
strength (in + out flows) for the inward side, the member with the most cross-group flows for
the other side. A candidate tie ``a ↔ b`` (one knowledge flow each way) is scored on the
window graph with the impact analysis' hop counts: for every actor ``u`` and target set ``T``
(each segment and each team),

.. math::

    gain(a, b) = \\sum_{u, T} \\big( \\min(d(u, T), D) - \\min(d'(u, T), D) \\big), \\qquad D = \\max d + 1

``d`` / ``d'`` = hops from ``u`` to the nearest member of ``T`` along flows before / after the tie
(unreachable = ``D``): the hops saved, where a newly reachable pair saves the most. A shortest
path uses the new tie at most once, so ``d'(v, T) = min(d(v, T), d(v, a) + 1 + d(b, T), d(v, b) + 1 + d(a, T))``
exactly: one search per target set for the window, one per candidate endpoint, then array minima. Candidates
are ranked by gain (at most one per pair of groups, two per group); the top ones come with the
full :func:`~valuenet.analytics.whatif.impact` report of the tie (segment reachability, hops,
readiness) and a reason in words, all computed from the stored flows of the window.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from valuenet.analytics.kinds import person_mask
from valuenet.analytics.metrics.brokerage import group_labels
from valuenet.analytics.metrics.engine import SEGMENTS
from valuenet.analytics.paths import hops, tie_gain
from valuenet.analytics.whatif import Change, WhatIfWindow, group_names, impact

__all__ = ["recommend"]

_WF = SEGMENTS.index("workforce")
_UNKNOWN = SEGMENTS.index("unknown")


def recommend(
    w: WhatIfWindow, *, limit: int = 5, inward_groups: int = 8, partners_per_group: int = 5
) -> dict[str, Any]:
    """The top ``limit`` introductions of window ``w`` (module docstring), each with reason and effect."""
    t0 = time.perf_counter()
    g = w.graph
    if g.n < 3:
        return {"network": w.network, "window": w.result.window, "recommendations": [], "candidates": 0}
    labels = group_labels(g)
    gname = group_names(g, labels)
    known = g.segment != _UNKNOWN
    tot = g.total.tocoo()
    ok = known[tot.row] & known[tot.col]
    r, c, v = tot.row[ok], tot.col[ok], tot.data[ok]
    ng = int(labels.max()) + 1
    lr, lc = labels[r], labels[c]
    ext = np.bincount(lr[lr != lc], weights=v[lr != lc], minlength=ng) + np.bincount(
        lc[lr != lc], weights=v[lr != lc], minlength=ng
    )
    internal = np.bincount(lr[lr == lc], weights=v[lr == lc], minlength=ng)
    ei = np.divide(ext - internal, ext + internal, out=np.zeros(ng), where=(ext + internal) > 0)
    pair = np.bincount(lr * ng + lc, weights=v, minlength=ng * ng).reshape(ng, ng)
    pair = pair + pair.T
    strength = np.asarray(g.total.sum(axis=0)).ravel() + np.asarray(g.total.sum(axis=1)).ravel()
    cross = np.bincount(r[lr != lc], weights=v[lr != lc], minlength=g.n) + np.bincount(
        c[lr != lc], weights=v[lr != lc], minlength=g.n
    )
    persons = known & person_mask(g.kind, g.n)  # introductions are between persons (docs/actor-kinds.md)
    present = [int(x) for x in np.unique(labels[persons]).tolist()]
    members = {a: np.flatnonzero((labels == a) & persons) for a in present}
    seg_of = {a: int(g.segment[members[a][0]]) for a in present}

    def ambassador(a: int, outward: bool) -> int:
        idx = members[a]
        score = cross[idx] * 1e6 + strength[idx] if outward else strength[idx]
        return int(idx[np.argmax(score)])

    inward = sorted((a for a in present if seg_of[a] == _WF), key=lambda a: (ei[a], -len(members[a])))[:inward_groups]
    cands: list[tuple[int, int, int, int]] = []  # (group a, group b, actor a, actor b)
    for a in inward:
        others = [b for b in present if b != a and seg_of[b] != _UNKNOWN]
        others.sort(key=lambda b: (pair[a, b], -ext[b], -len(members[b])))  # structural holes, then weak ties
        for b in others[:partners_per_group]:
            cands.append((a, b, ambassador(a, False), ambassador(b, True)))
    # gain: hops saved towards every segment and every team (module docstring)
    rev = w.base()["reversed"]
    targets = [np.flatnonzero(g.segment == s) for s in range(len(SEGMENTS)) if s != _UNKNOWN]
    targets = [t for t in targets if len(t)] + [members[a] for a in present if g.team[members[a][0]] >= 0]
    base = w.base().get("target_hops")
    if base is None:  # hops from every actor to every target set, once per window (int32, -1 unreachable)
        base = w.base()["target_hops"] = np.vstack([hops(rev, t) for t in targets]) if targets else None
    if base is None:
        return {"network": w.network, "window": w.result.window, "recommendations": [], "candidates": 0}
    chosen = _greedy(w, base, cands, gname, limit)
    recs = []
    ties: list[tuple[str, str]] = []
    previous: dict[str, Any] | None = None  # the impact of the introductions ranked above, together
    for rank, (saved, newly, a, b, u, x) in enumerate(chosen, 1):
        ua, xb = str(g.names[u]), str(g.names[x])
        effect = impact(w, Change(add_ties=((ua, xb),)))
        own = _group_reach_lines(w, members, gname, a, b, u, x, [(c[4], c[5]) for c in chosen[: rank - 1]])
        ties.append((ua, xb))
        together = effect if previous is None else impact(w, Change(add_ties=tuple(ties)))
        lines = effect["summary"] if previous is None else _delta_lines(previous, together)
        previous = together
        reasons = [
            _inward_reason(gname[k], ei[k], internal[k], ext[k], w.result.window)
            for k in sorted({a, b}, key=lambda k: ei[k])
            if ei[k] < 0
        ][:2]
        if pair[a, b] == 0:
            reasons.append(f"{gname[a]} and {gname[b]} exchanged nothing directly (a structural hole).")
        else:
            n_ab = int(round(pair[a, b]))
            reasons.append(f"{gname[a]} and {gname[b]} exchanged only {n_ab} flow{'' if n_ab == 1 else 's'} directly.")
        reasons.append(
            f"Introduce {_who(ua, gname[a], strength[u], cross[u])} to {_who(xb, gname[b], strength[x], cross[x])}."
        )
        if newly:
            beyond = " beyond the introductions ranked above" if rank > 1 else ""
            reasons.append(f"{newly} actor-to-group connections that do not exist today would open{beyond}.")
        recs.append(
            {
                "rank": rank,
                "actor_a": ua,
                "actor_b": xb,
                "group_a": gname[a],
                "group_b": gname[b],
                "gain_hops_saved": saved,
                "newly_reachable": newly,
                "ei_a": float(ei[a]),
                "reason": " ".join(reasons),
                "expected_effect": own + [s for s in lines if s != "no measurable change."],
                "effect_alone": effect["summary"],
                "effect": {
                    "before": effect["before"],
                    "after": effect["after"],
                    "reachability": effect["reachability"],
                },
            }
        )
    return {
        "network": w.network,
        "window": w.result.window,
        "window_start": effect["window_start"] if recs else None,
        "window_end": effect["window_end"] if recs else None,
        "candidates": len(cands),
        "recommendations": recs,
        "seconds": time.perf_counter() - t0,
    }


def _greedy(
    w: WhatIfWindow, base: np.ndarray, cands: list[tuple[int, int, int, int]], gname: dict[int, str], limit: int
) -> list[tuple[float, int, int, int, int, int]]:
    """Introductions chosen one at a time by their **marginal** gain given the ones chosen before.

    Each candidate's gain is :func:`tie_gain` on the hop counts of the window *with the ties already
    chosen* (``d`` updated exactly by ``d' = min(d, d(·, u) + 1 + d(x), d(·, x) + 1 + d(u))`` for each
    chosen tie, the hops to a candidate's ends searched with those ties as extra edges). Two
    introductions that open the same structural hole therefore do not both rank: the second opens
    little beyond the first. Lazy evaluation (gains only shrink as ties are added): a candidate whose
    recomputed gain still beats every stale gain is taken. At most one per pair of groups, two per group.
    """
    cap = int(base.max()) + 1
    rev = w.base()["reversed"]
    current = base
    extra: tuple[list[int], list[int]] = ([], [])

    def to(actor: int) -> np.ndarray:
        if not extra[0]:
            return w.hops_to(actor)
        return hops(rev, np.array([actor]), extra=(np.array(extra[0]), np.array(extra[1])))

    def gain(u: int, x: int) -> tuple[float, int]:
        saved, newly = tie_gain(current, to(u), to(x), u, x, cap)
        return float(saved), int(newly)

    stale = []  # (gain, newly, a, b, u, x, round computed)
    for a, b, u, x in cands:
        saved, newly = gain(u, x)
        stale.append((saved, newly, a, b, u, x, 0))
    chosen: list[tuple[float, int, int, int, int, int]] = []
    per_group: dict[int, int] = {}
    seen_pairs: set[tuple[int, int]] = set()
    rounds = 0
    while stale and len(chosen) < limit:

        def ok(s: tuple) -> bool:
            a, b = s[2], s[3]
            return (min(a, b), max(a, b)) not in seen_pairs and per_group.get(a, 0) < 2 and per_group.get(b, 0) < 2

        stale = [s for s in stale if ok(s) and s[0] > 0]
        if not stale:
            break
        stale.sort(key=lambda s: (-s[0], -s[1], gname[s[2]], gname[s[3]]))
        top = stale[0]
        if top[6] != rounds:  # recompute against the ties chosen so far, then look again
            saved, newly = gain(top[4], top[5])
            stale[0] = (saved, newly, *top[2:6], rounds)
            continue
        stale.pop(0)
        saved, newly, a, b, u, x, _ = top
        key = (min(a, b), max(a, b))
        seen_pairs.add(key)
        per_group[a] = per_group.get(a, 0) + 1
        per_group[b] = per_group.get(b, 0) + 1
        chosen.append((saved, newly, a, b, u, x))
        to_u, to_x = to(u), to(x)
        current = _with_tie_rows(current, to_u, to_x, u, x)
        extra[0].extend((u, x))
        extra[1].extend((x, u))
        rounds += 1
    return chosen


def _with_tie_rows(d: np.ndarray, to_u: np.ndarray, to_x: np.ndarray, u: int, x: int) -> np.ndarray:
    """Every row of the hop table ``d`` (targets × actors, -1 unreachable) after adding the tie ``u ↔ x`` (exact)."""
    inf = np.int64(1 << 40)
    d0 = np.where(d < 0, inf, d.astype(np.int64))
    fu = np.where(to_u < 0, inf, to_u.astype(np.int64))[None, :]
    fx = np.where(to_x < 0, inf, to_x.astype(np.int64))[None, :]
    d1 = np.minimum(d0, np.minimum(fu + 1 + d0[:, x][:, None], fx + 1 + d0[:, u][:, None]))
    return np.where(d1 >= inf, -1, d1).astype(d.dtype)


def _group_reach_lines(
    w: WhatIfWindow,
    members: dict[int, np.ndarray],
    gname: dict[int, str],
    a: int,
    b: int,
    u: int,
    x: int,
    above: list[tuple[int, int]],
) -> list[str]:
    """This introduction's own effect on its two groups (the share of each group's members that reach the other),
    on the window with the introductions ``above`` it already made."""
    rev = w.base()["reversed"]
    extra = (np.array([e for p in above for e in p]), np.array([e for p in above for e in p[::-1]])) if above else None
    to_u, to_x = hops(rev, np.array([u]), extra=extra), hops(rev, np.array([x]), extra=extra)
    out = []
    for src, dst in ((a, b), (b, a)):
        d = hops(rev, members[dst], extra=extra)
        after = _with_tie_rows(d[None, :], to_u, to_x, u, x)[0]
        idx = members[src]
        before_share, after_share = float((d[idx] >= 0).mean()), float((after[idx] >= 0).mean())
        if after_share != before_share:
            out.append(
                f"{gname[src]} members reaching {gname[dst]}: {100 * before_share:.0f} % → {100 * after_share:.0f} %."
            )
        else:
            reached = (d[idx] >= 0) & (after[idx] >= 0)
            if reached.any():
                hb, ha = float(d[idx][reached].mean()), float(after[idx][reached].mean())
                if hb - ha >= 0.005:
                    out.append(f"{gname[src]} → {gname[dst]}: {hb:.2f} → {ha:.2f} hops on average.")
    return out


def _delta_lines(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What ``after`` (the ties above plus this one) changes beyond ``before`` (the ties above), in sentences."""
    out = []
    was = {(x["src"], x["dst"]): x for x in before["reachability"]}
    for x in after["reachability"]:
        p = was.get((x["src"], x["dst"]))
        sb, hb = (p["share_after"], p["hops_after"]) if p else (0.0, None)
        sa, ha = x["share_after"], x["hops_after"]
        if abs(sa - sb) >= 0.005:
            out.append(
                f"beyond the introductions above, {x['src']} actors reaching {x['dst']}: {100 * sb:.0f} % → {100 * sa:.0f} %."
            )
        elif hb is not None and ha is not None and hb - ha >= 0.05:
            out.append(f"beyond the introductions above, {x['src']} → {x['dst']}: {hb:.2f} → {ha:.2f} hops on average.")
    rb, ra = before["after"]["readiness_index"] or 0.0, after["after"]["readiness_index"] or 0.0
    if abs(ra - rb) >= 0.001:
        out.append(f"beyond the introductions above, readiness index {rb:.3f} → {ra:.3f}.")
    return out


def _inward_reason(name: str, ei: float, internal: float, external: float, window: str) -> str:
    total = internal + external
    if external == 0:
        return f"{name} exchanged nothing outside itself in {window} ({total:.0f} flows, all internal; E-I −1.00)."
    return f"{name}: {100 * internal / total:.0f} % of its {total:.0f} flows stay inside (E-I {ei:+.2f})."


def _who(actor: str, group: str, strength: float, cross: float) -> str:
    if cross > 0:
        return f"{actor} ({group}, {cross:.0f} of its {strength:.0f} flows cross groups)"
    return f"{actor} (the most connected member of {group}, {strength:.0f} flows)"
