"""The periodic report's data: one period of a network against the previous period of the same length.

The period is ``(end − P, end]``: ``end`` is the event-time end of the latest snapshot of the stored
window ``W`` (``Reader.window_range``) and ``P`` is ``since`` (default: the length of ``W``); the
previous period is ``(end − 2P, end − P]``. Both periods are rebuilt from the stored flows
(``Reader.flows_since``, the rows the worker's own rebuild reads) into a window of length ``P``
exactly as a tick computes it (:func:`~valuenet.analytics.whatif.load_window`), so every figure
and every delta compares like with like, whatever the tick history in the store.

Sections and their formulas:

- **value map**: flows of each type between roles (segment, or ``segment/team``) in the period;
- **tunnels heatmap**: ``V(s, d, t)`` = flows of type ``t`` from segment ``s`` to segment ``d``,
  ``Δ = V_now − V_prev``;
- **top brokers** (Gould–Fernandez brokerage = gatekeeper + representative + liaison pairs),
  **influencers** (amplification reach within k hops) and **key persons** (key-person risk,
  ``analytics/keyperson.py``), each with ``Δ = value_now − value_prev`` and the rank it had;
- **silos**: a group (``segment/team``) is a silo when ``EI_A = (E_A − I_A)/(E_A + I_A) ≤ −0.5``
  over the flows touching it; *forming* = silo now and not before, *dissolving* = the reverse;
- **trends**: responsiveness (median and p90 seconds from a customer question to the first
  workforce answer) and idea pickup (share of customer/partner ideas the workforce took up), per
  stored snapshot of ``W`` over both periods, and now vs before;
- **alerts** raised (wall clock) within the last ``P``;
- **introductions**: the three best of ``analytics/recommend.py`` with their effect;
- **communities vs teams**: actors per (formal team, detected community) pair, as a Sankey.

Privacy: actor ids are what the store holds (pseudonyms when pseudonymisation is on); names come
from the directory and can be left out. Groups smaller than ``k`` never appear on their own:
small teams fold into their segment, and a heatmap cell, a role, a silo or a Sankey node that
still has fewer than ``k`` actors (or a heatmap cell or value-map exchange fewer than ``k`` distinct
actor pairs) is suppressed and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from valuenet.analytics.keyperson import key_person_risk
from valuenet.analytics.kinds import person_mask
from valuenet.analytics.metrics.engine import EDGE_LAYERS, SEGMENTS, WindowGraph
from valuenet.analytics.names import label
from valuenet.analytics.recommend import recommend
from valuenet.analytics.storage.reader import Reader, to_iso
from valuenet.analytics.whatif import WhatIfWindow, load_window
from valuenet.analytics.whatif_runner import WindowConfig, stored_flows
from valuenet.schemas.timeunits import DurationError, parse_duration

__all__ = [
    "ReportError",
    "Report",
    "Ranked",
    "SECTIONS",
    "SILO_EI",
    "resolve",
    "build_report",
]

SILO_EI = -0.5
TOP = 5
NO_TEAM = "(no team)"
UNDER_K = "(groups under k)"
#: (id, title) of every section, in page order
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("valuemap", "Value map"),
    ("tunnels", "Tunnels: who gives what to whom"),
    ("people", "Brokers, influencers and key persons"),
    ("silos", "Silos forming and dissolving"),
    ("trends", "Responsiveness and idea pickup"),
    ("alerts", "Alerts of the period"),
    ("introductions", "Three introductions to make"),
    ("communities", "Communities against formal teams"),
)


class ReportError(ValueError):
    """A report that cannot be made (unknown network or window, bad period); the message lists what is stored."""


@dataclass
class Ranked:
    """One actor of a ranking with its value now, before and the rank it had."""

    actor: str
    name: str | None
    group: str
    value: float
    prev: float | None
    prev_rank: int | None

    @property
    def delta(self) -> float | None:
        """``value − prev`` (None when the actor was not in the previous period)."""
        return None if self.prev is None else self.value - self.prev


@dataclass
class Report:
    """Everything the rendered report shows (JSON-friendly through ``as_dict``)."""

    network: str
    window: str
    period: str
    start: str
    end: str
    prev_start: str
    prev_end: str
    generated_at: str
    k: int
    names: bool
    empty: bool
    summary: list[dict[str, Any]] = field(default_factory=list)
    valuemap: list[dict[str, Any]] = field(default_factory=list)
    valuemap_suppressed: int = 0
    valuemap_thin: int = 0
    segments: list[str] = field(default_factory=list)
    heatmap: list[dict[str, Any]] = field(default_factory=list)
    heatmap_suppressed: int = 0
    brokers: list[Ranked] = field(default_factory=list)
    influencers: list[Ranked] = field(default_factory=list)
    key_persons: list[Ranked] = field(default_factory=list)
    silos: list[dict[str, Any]] = field(default_factory=list)
    silos_suppressed: int = 0
    trend_points: list[dict[str, Any]] = field(default_factory=list)
    trends: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    introductions: list[dict[str, Any]] = field(default_factory=list)
    sankey: list[dict[str, Any]] = field(default_factory=list)
    sankey_suppressed: int = 0
    stored: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (rankings with their deltas)."""
        out = dict(self.__dict__)
        for key in ("brokers", "influencers", "key_persons"):
            out[key] = [{**r.__dict__, "delta": r.delta} for r in getattr(self, key)]
        return out


# -- input ----------------------------------------------------------------------------------


def resolve(reader: Reader, network: str, window: str, since: str | None = None) -> tuple[str, str, int]:
    """``(network, window, period seconds)`` checked against the store; ReportError listing the stored ones."""
    nets = reader.networks()
    by_name = {n["network"]: n for n in nets}
    if network not in by_name:
        stored = ", ".join(sorted(by_name)) or "none yet"
        raise ReportError(f"network {network!r} is not in the store; stored networks: {stored}")
    windows = list(by_name[network]["windows"])
    if window not in windows:
        listed = ", ".join(windows) or "none yet (no metric snapshots)"
        raise ReportError(f"window {window!r} has no snapshots for network {network!r}; stored windows: {listed}")
    try:
        seconds = parse_duration(since or window)
    except DurationError as e:
        raise ReportError(f"since: {e}") from None
    if seconds <= 0:
        raise ReportError(f"since: the period must be longer than 0 s, got {since!r}")
    return network, window, seconds


# -- groups ---------------------------------------------------------------------------------


def _groups(g: WindowGraph, k: int) -> tuple[list[str], dict[str, int]]:
    """Per actor its group ``segment/team`` (teams under k fold into the segment) and the group sizes."""
    raw = [
        SEGMENTS[int(s)] + (f"/{g.team_names[int(t)]}" if int(t) >= 0 else "")
        for s, t in zip(g.segment.tolist(), g.team.tolist(), strict=True)
    ]
    sizes: dict[str, int] = {}
    for r in raw:
        sizes[r] = sizes.get(r, 0) + 1
    out = [r if sizes[r] >= k else r.split("/", 1)[0] for r in raw]
    folded: dict[str, int] = {}
    for r in out:
        folded[r] = folded.get(r, 0) + 1
    return out, folded


def _valuemap_rows(g: WindowGraph, k: int) -> tuple[list[dict[str, Any]], int, int]:
    """``roles_exchanges``-shaped rows of the graph, the actors of roles under k and the exchanges under k pairs dropped."""
    groups, sizes = _groups(g, k)
    agg: dict[tuple[str, str, str], list[Any]] = {}
    for t in EDGE_LAYERS:
        m = g.layers[t].tocoo()
        for i, j, v in zip(m.row.tolist(), m.col.tolist(), m.data.tolist(), strict=True):
            a, b = groups[i], groups[j]
            if sizes[a] < k or sizes[b] < k:
                continue
            slot = agg.setdefault((a, b, t), [0, 0])
            slot[0] += v
            slot[1] += 1
    rows = []
    thin = 0
    for (a, b, t), (n, pairs) in sorted(agg.items()):
        if pairs < k:  # as the tunnels export: fewer than k distinct actor pairs
            thin += 1
            continue
        sa, _, ta = a.partition("/")
        sb, _, tb = b.partition("/")
        rows.append(
            {"src_segment": sa, "src_team": ta, "dst_segment": sb, "dst_team": tb, "flow_type": t}
            | {"n": int(round(n)), "pairs": pairs}
        )
    return rows, sum(n for grp, n in sizes.items() if n < k), thin


def _segment_volumes(g: WindowGraph) -> dict[tuple[str, str, str], tuple[float, int]]:
    """``(src segment, dst segment, flow type) → (flows, distinct actor pairs)``."""
    out: dict[tuple[str, str, str], tuple[float, int]] = {}
    for t in EDGE_LAYERS:
        m = g.layers[t].tocoo()
        codes = g.segment[m.row].astype(np.int64) * len(SEGMENTS) + g.segment[m.col]
        vol = np.bincount(codes, weights=m.data, minlength=len(SEGMENTS) ** 2)
        pairs = np.bincount(codes, minlength=len(SEGMENTS) ** 2)
        for c in np.flatnonzero(vol).tolist():
            s, d = divmod(c, len(SEGMENTS))
            out[(SEGMENTS[s], SEGMENTS[d], t)] = (float(vol[c]), int(pairs[c]))
    return out


def _segment_sizes(g: WindowGraph) -> dict[str, int]:
    counts = np.bincount(g.segment.astype(np.int64), minlength=len(SEGMENTS))
    return {SEGMENTS[i]: int(c) for i, c in enumerate(counts.tolist())}


def _group_ei(g: WindowGraph, k: int) -> dict[str, tuple[float, float, int]]:
    """Group → ``(EI_A, flows touching A, members)`` over all flows (``EI_A`` as the module docstring)."""
    groups, sizes = _groups(g, k)
    w = g.total.tocoo()
    ext: dict[str, float] = {}
    internal: dict[str, float] = {}
    for i, j, v in zip(w.row.tolist(), w.col.tolist(), w.data.tolist(), strict=True):
        a, b = groups[i], groups[j]
        if a == b:
            internal[a] = internal.get(a, 0.0) + v
        else:
            ext[a] = ext.get(a, 0.0) + v
            ext[b] = ext.get(b, 0.0) + v
    out = {}
    for grp, n in sizes.items():
        e, i_ = ext.get(grp, 0.0), internal.get(grp, 0.0)
        if e + i_ > 0:
            out[grp] = ((e - i_) / (e + i_), e + i_, n)
    return out


# -- sections -------------------------------------------------------------------------------


def _ranking(
    now: dict[str, tuple[float, str]], before: dict[str, float], names: dict[str, str], limit: int = TOP
) -> list[Ranked]:
    """The top ``limit`` of ``now`` (actor → (value, group)) with their previous value and rank."""
    order = sorted((a for a, (v, _) in now.items() if v > 0), key=lambda a: (-now[a][0], a))[:limit]
    prev_order = sorted((a for a, v in before.items() if v > 0), key=lambda a: (-before[a], a))
    prev_rank = {a: i + 1 for i, a in enumerate(prev_order)}
    return [
        Ranked(a, names.get(a), now[a][1], now[a][0], before.get(a) if before else None, prev_rank.get(a))
        for a in order
    ]


def _per_actor(w: WhatIfWindow | None, what: str, k: int) -> dict[str, tuple[float, str]]:
    if w is None:
        return {}
    g = w.graph
    groups, _ = _groups(g, k)
    if what == "key_persons":
        return {r["actor"]: (float(r["risk"]), r["group"]) for r in key_person_risk(g, limit=50)}
    values = w.result.brokerage if what == "brokers" else w.result.reach
    persons = person_mask(g.kind, g.n)  # organisations, bots and platform accounts are not ranked (docs/actor-kinds.md)
    return {str(g.names[i]): (float(values[i]), groups[i]) for i in range(g.n) if persons[i]}


def _sankey(w: WhatIfWindow, k: int) -> tuple[list[dict[str, Any]], int]:
    """Actors per (formal team, community) with nodes under k merged and links under k dropped."""
    g = w.graph
    teams = [g.team_names[int(t)] if int(t) >= 0 else NO_TEAM for t in g.team.tolist()]
    comms = [f"community {int(c) + 1}" for c in w.result.community.tolist()]

    def fold(labels: list[str]) -> list[str]:
        sizes: dict[str, int] = {}
        for x in labels:
            sizes[x] = sizes.get(x, 0) + 1
        return [x if sizes[x] >= k else UNDER_K for x in labels]

    teams, comms = fold(teams), fold(comms)
    links: dict[tuple[str, str], int] = {}
    for t, c in zip(teams, comms, strict=True):
        links[(t, c)] = links.get((t, c), 0) + 1
    kept = [{"team": t, "community": c, "actors": n} for (t, c), n in sorted(links.items()) if n >= k]
    return kept, sum(n for n in links.values() if n < k)


def _load_period(
    reader: Reader, rows: list[dict], network: str, period: str, end_ms: int, identities: list, cfg: WindowConfig
) -> WhatIfWindow | None:
    """The window of length ``period`` ending with the newest stored flow at or before ``end_ms``."""
    mine = [r for r in rows if int(r["timestamp_ms"]) <= end_ms]
    if not mine:
        return None
    try:
        return load_window(
            stored_flows(mine),
            network=network,
            window=period,
            bucket_seconds=cfg.bucket_seconds,
            allowed_lateness_seconds=cfg.allowed_lateness_seconds,
            identities=identities,
        )
    except ValueError:
        return None


def build_report(
    reader: Reader,
    network: str,
    window: str,
    since: str | None = None,
    *,
    k: int = 5,
    names: bool = True,
    cfg: WindowConfig | None = None,
    now: datetime | None = None,
) -> Report:
    """The report of ``network`` for the period (module docstring); ReportError on unknown input."""
    network, window, seconds = resolve(reader, network, window, since)
    cfg = cfg or WindowConfig()
    period = (since or window).replace(" ", "")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    _, end = reader.window_range(network, window)
    end_ms = int(end.timestamp() * 1000)
    p_ms = seconds * 1000
    lookback = cfg.since_ms(period, end_ms - p_ms)
    rows = [r for r in reader.flows_since(network, lookback) if int(r["timestamp_ms"]) <= end_ms]
    identities = reader.identities(network)
    cur_rows = [r for r in rows if int(r["timestamp_ms"]) > end_ms - p_ms]
    cur = _load_period(reader, rows, network, period, end_ms, identities, cfg) if cur_rows else None
    prev = _load_period(reader, rows, network, period, end_ms - p_ms, identities, cfg)
    display = reader.display_names(network) if names else {}
    start = end - timedelta(seconds=seconds)
    rep = Report(
        network=network,
        window=window,
        period=period,
        start=to_iso(start) or "",
        end=to_iso(end) or "",
        prev_start=to_iso(start - timedelta(seconds=seconds)) or "",
        prev_end=to_iso(start) or "",
        generated_at=to_iso(now) or "",
        k=k,
        names=names,
        empty=cur is None or cur.graph.n == 0,
        stored={n["network"]: list(n["windows"]) for n in reader.networks()},
    )
    rep.alerts = _alerts(reader, network, now, seconds, names)
    rep.trend_points = _trend_points(reader, network, window, end, seconds)
    if rep.empty or cur is None:
        return rep
    g = cur.graph
    gp = prev.graph if prev is not None else None
    nm, pm = cur.result.network_metrics, (prev.result.network_metrics if prev else {})
    rep.summary = [
        _kpi(label, key, nm, pm)
        for label, key in (
            ("actors", "actors"),
            ("ties", "edges"),
            ("density", "density"),
            ("reciprocity", "reciprocity"),
            ("modularity", "modularity"),
            ("E-I index", "ei_index"),
            ("readiness", "readiness_index"),
        )
    ]
    rep.trends = [
        _kpi(label, key, nm, pm)
        for label, key in (
            ("customer questions", "questions"),
            ("responsiveness median (s)", "responsiveness_median_s"),
            ("responsiveness p90 (s)", "responsiveness_p90_s"),
            ("ideas from customers and partners", "ideas"),
            ("idea pickup share", "idea_pickup_share"),
            ("idea pickup median (s)", "idea_pickup_median_s"),
        )
    ]
    rep.valuemap, rep.valuemap_suppressed, rep.valuemap_thin = _valuemap_rows(g, k)
    rep.segments, rep.heatmap, rep.heatmap_suppressed = _heatmap(g, gp, k)
    for key in ("brokers", "influencers", "key_persons"):
        now_v = _per_actor(cur, key, k)
        before = {a: v for a, (v, _) in _per_actor(prev, key, k).items()}
        setattr(rep, key, _ranking(now_v, before if prev is not None else {}, display))
        if prev is None:
            for r in getattr(rep, key):
                r.prev, r.prev_rank = None, None
    rep.silos, rep.silos_suppressed = _silos(g, gp, k)
    rep.introductions = _introductions(cur, display)
    rep.sankey, rep.sankey_suppressed = _sankey(cur, k)
    return rep


def _kpi(label: str, key: str, now: dict, before: dict) -> dict[str, Any]:
    v, p = now.get(key), before.get(key)
    delta = None if v is None or p is None else float(v) - float(p)
    return {"label": label, "key": key, "value": v, "prev": p, "delta": delta}


def _heatmap(g: WindowGraph, gp: WindowGraph | None, k: int) -> tuple[list[str], list[dict[str, Any]], int]:
    now, before = _segment_volumes(g), (_segment_volumes(gp) if gp is not None else {})
    sizes = _segment_sizes(g)
    segs = [s for s in SEGMENTS if sizes.get(s, 0) > 0]
    cells, suppressed = [], 0
    for s in segs:
        for d in segs:
            for t in EDGE_LAYERS:
                n, pairs = now.get((s, d, t), (0.0, 0))
                p = before.get((s, d, t), (0.0, 0))[0] if gp is not None else None
                hidden = n > 0 and (sizes[s] < k or sizes[d] < k or pairs < k)
                suppressed += int(hidden)
                cells.append(
                    {
                        "src": s,
                        "dst": d,
                        "flow_type": t,
                        "flows": None if hidden else int(round(n)),
                        "prev": None if hidden or p is None else int(round(p)),
                        "delta": None if hidden or p is None else int(round(n - p)),
                        "pairs": None if hidden else pairs,
                        "suppressed": hidden,
                    }
                )
    return segs, cells, suppressed


def _silos(g: WindowGraph, gp: WindowGraph | None, k: int) -> tuple[list[dict[str, Any]], int]:
    now, before = _group_ei(g, k), (_group_ei(gp, k) if gp is not None else {})
    out, suppressed = [], 0
    for grp in sorted(set(now) | set(before)):
        ei, flows, members = now.get(grp, (None, 0.0, 0))
        pei, _, pmembers = before.get(grp, (None, 0.0, 0))
        if max(members, pmembers) < k:
            suppressed += 1
            continue
        is_now = ei is not None and ei <= SILO_EI
        was = pei is not None and pei <= SILO_EI
        state = "forming" if is_now and not was else "dissolving" if was and not is_now else "silo" if is_now else ""
        if gp is None and is_now:
            state = "silo"
        out.append(
            {"group": grp, "ei": ei, "prev_ei": pei, "flows": int(round(flows)), "members": members, "state": state}
        )
    out.sort(key=lambda r: (r["state"] == "", r["ei"] if r["ei"] is not None else 1.0, r["group"]))
    return out, suppressed


def _introductions(w: WhatIfWindow, display: dict[str, str]) -> list[dict[str, Any]]:
    recs = recommend(w, limit=3)["recommendations"]
    return [
        {
            "rank": r["rank"],
            "actor_a": r["actor_a"],
            "name_a": display.get(r["actor_a"]),
            "actor_b": r["actor_b"],
            "name_b": display.get(r["actor_b"]),
            "group_a": r["group_a"],
            "group_b": r["group_b"],
            "reason": r["reason"],
            "effect": r["expected_effect"],
            "hops_saved": r["gain_hops_saved"],
            "newly_reachable": r["newly_reachable"],
        }
        for r in recs
    ]


def _alerts(reader: Reader, network: str, now: datetime, seconds: int, names: bool) -> list[dict[str, Any]]:
    since = to_iso(now - timedelta(seconds=seconds)) or ""
    rows = [r for r in reader.alerts(network, None, 500) if (r.get("raised_at") or "") > since][:50]
    if names:
        return rows
    # the Reader names actors in the messages ("Name (key)"): a report without names keeps the keys only
    shown = reader.display_names(network)
    labels = {label(a, shown): a for a, n in shown.items() if n and n != a}
    pattern = re.compile("|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))) if labels else None
    out = []
    for r in rows:
        r = {k: v for k, v in r.items() if k != "name"}
        if pattern is not None and isinstance(r.get("message"), str):
            r["message"] = pattern.sub(lambda m: labels[m.group(0)], r["message"])
        out.append(r)
    return out


def _trend_points(reader: Reader, network: str, window: str, end: datetime, seconds: int) -> list[dict[str, Any]]:
    """Stored snapshots of ``window`` whose window end lies in both periods, oldest first (one per window end)."""
    lo = to_iso(end - timedelta(seconds=2 * seconds)) or ""
    hi = to_iso(end) or ""
    out: dict[str, dict[str, Any]] = {}
    for r in reader.network_history(network, window, 500):
        t = r.get("window_end") or ""
        if lo < t <= hi:
            out[t] = {
                "t": t,
                "responsiveness_median_s": r.get("responsiveness_median_s"),
                "responsiveness_p90_s": r.get("responsiveness_p90_s"),
                "idea_pickup_share": r.get("idea_pickup_share"),
            }
    return [out[t] for t in sorted(out)]
