"""REST routes: networks, actors, metrics by window, tunnels, reach, cascades, alerts, timeline, graph, value map."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from valuenet.analytics.kinds import parse_kinds
from valuenet.analytics.names import with_names
from valuenet.analytics.storage.reader import ACTOR_METRICS, FLOW_TYPES, Reader
from valuenet.config import Settings
from valuenet.schemas import Segment
from valuenet.schemas.palette import SEGMENTS
from valuenet.schemas.timeunits import DurationError, parse_duration
from valuenet.web import valuemap as vmap
from valuenet.web.headers import content_disposition, header_text

__all__ = ["router", "StoreError"]

log = logging.getLogger("valuenet.web.api")
router = APIRouter(prefix="/api")
MetricName = Literal[ACTOR_METRICS]  # type: ignore[valid-type]


class StoreError(RuntimeError):
    """The store could not answer (answered as 503)."""


def _invalid(field: str, value: Any, msg: str) -> HTTPException:
    """A 422 in FastAPI's validation shape, naming the query field."""
    return HTTPException(
        status_code=422, detail=[{"loc": ["query", field], "msg": msg, "input": value, "type": "value_error"}]
    )


def get_reader(request: Request) -> Reader:
    """The app's Reader."""
    return request.app.state.reader


def get_settings_dep(request: Request) -> Settings:
    """The app's Settings."""
    return request.app.state.settings


ReaderDep = Annotated[Reader, Depends(get_reader)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
NetworkQ = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=128,
        description="Network id; default: the configured network if it has data, else the most recently ticked one",
    ),
]
WindowQ = Annotated[
    str | None, Query(max_length=16, description="Rolling window, one of the configured windows (default: the first)")
]
LimitQ = Annotated[int, Query(ge=1, le=1000, description="Rows to return")]
KindsQ = Annotated[
    str | None,
    Query(
        max_length=128,
        description="Actor kinds to rank, comma-separated: person, organisation, bot, platform, or all "
        "(default: person; docs/actor-kinds.md)",
    ),
]


def _kinds(value: str | None) -> frozenset[str]:
    """The kinds of ``include_kinds`` (default: persons); 422 naming the field when one is unknown."""
    try:
        return parse_kinds(value)
    except ValueError as e:
        raise _invalid("include_kinds", value, str(e)) from None


def _call(fn, *args, **kwargs):
    """Run a Reader call, turning store failures into StoreError (503)."""
    try:
        return fn(*args, **kwargs)
    except ValueError:  # DurationError included
        raise
    except Exception as e:
        log.warning("store query failed: %s", e, exc_info=True)
        raise StoreError(f"store query failed: {type(e).__name__}") from e


def _network(reader: Reader, settings: Settings, network: str | None) -> str:
    return network or _call(reader.default_network, settings.network)


def _require_actor(reader: Reader, network: str, actor: str) -> None:
    """404 unless ``actor`` has data in ``network``."""
    if not _call(reader.actor_exists, network, actor):
        raise HTTPException(404, detail=f"actor {actor!r} not found in network {network!r}")


def _window(settings: Settings, window: str | None) -> str:
    if window is None:
        return settings.windows[0]
    if window not in settings.windows:
        raise _invalid("window", window, f"window must be one of {', '.join(settings.windows)}")
    return window


def _list_param(field: str, values: list[str] | None, allowed: tuple[str, ...]) -> list[str] | None:
    """Repeatable or comma-separated choice list, validated against ``allowed``."""
    if not values:
        return None
    items = [v.strip() for raw in values for v in raw.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise _invalid(field, bad, f"{field} must be among {', '.join(allowed)}")
    return items or None


@router.get("/networks", summary="Networks with data")
def networks(reader: ReaderDep, settings: SettingsDep) -> dict:
    """Every network with snapshots or flows, the default one and the configured windows."""
    nets = _call(reader.networks)
    return {"networks": nets, "default": _network(reader, settings, None), "windows": list(settings.windows)}


@router.get("/actors", summary="Search actors")
def actors(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    q: Annotated[str | None, Query(max_length=256, description="Substring of the actor id or display name")] = None,
    limit: LimitQ = 50,
) -> dict:
    """Actors matching ``q`` (case-insensitive), highest PageRank first."""
    net, w = _network(reader, settings, network), _window(settings, window)
    return {"network": net, "window": w, "q": q, "actors": _call(reader.search_actors, net, w, q, limit)}


@router.get("/actors/{actor}", summary="One actor: metrics over time and ego network")
def actor(
    reader: ReaderDep,
    settings: SettingsDep,
    actor: Annotated[str, Path(min_length=1, max_length=256)],
    network: NetworkQ = None,
    window: WindowQ = None,
    history: Annotated[int, Query(ge=1, le=500, description="Snapshots of history")] = 60,
    edges: Annotated[int, Query(ge=1, le=5000, description="Ego-network edges at most")] = 400,
) -> dict:
    """Latest metrics, metrics over the last ``history`` ticks and the ego network (radius 1)."""
    net, w = _network(reader, settings, network), _window(settings, window)
    _require_actor(reader, net, actor)
    hist = _call(reader.actor_history, net, actor, w, history)
    ego_edges = _call(reader.edges, net, w, None, actor, edges)
    snap = _call(reader.actor_snapshot, net, w)
    names = _call(reader.display_names, net)
    return {
        "network": net,
        "window": w,
        "actor": actor,
        "name": names.get(actor),
        "latest": hist[-1] if hist else snap.get(actor),
        "history": hist,
        "ego": _graph(ego_edges, snap, names),
    }


@router.get("/metrics/live", summary="Live counters by window: flows by type, flows/s, tunnel volume, late events")
def metrics_live(request: Request, settings: SettingsDep, network: NetworkQ = None, window: WindowQ = None) -> dict:
    """The newest live record of the network from ``valuenet.metrics`` (exact after every batch of flows, no tick)."""
    hub = request.app.state.feed
    net = network or settings.network
    if network is None and net not in hub.live and len(hub.live) == 1:
        net = next(iter(hub.live))  # the only network with live data
    held = hub.live.get(net)
    if held is None:
        raise HTTPException(
            404,
            detail=f"no live counters for network {net!r} yet: the worker publishes them on "
            f"{settings.topic('metrics')} after each batch of flows (feed connected to Kafka: "
            f"{hub.kafka_connected})",
        )
    rows = [r for r in held["live"] if window is None or r["window"] == _window(settings, window)]
    return {"network": net, "computed_at": held["computed_at"], "watermark_ms": held["watermark_ms"], "live": rows}


@router.get("/metrics/network", summary="Network metrics by window")
def metrics_network(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    history: Annotated[int, Query(ge=0, le=1000, description="Also return this many past snapshots of the window")] = 0,
) -> dict:
    """Latest NetworkMetrics per window (or of one window), with optional history."""
    net = _network(reader, settings, network)
    windows = [_window(settings, window)] if window else list(settings.windows)
    out: dict[str, Any] = {"network": net, "metrics": _call(reader.network_metrics, net, windows)}
    if history:
        out["history"] = _call(reader.network_history, net, windows[0], history)
    return out


@router.get("/metrics/actors", summary="Top actors by a metric")
def metrics_actors(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    metric: Annotated[MetricName, Query(description="ActorMetrics field to rank by")] = "pagerank",
    segment: Annotated[Segment | None, Query(description="Only actors of this segment")] = None,
    limit: LimitQ = 10,
    include_kinds: KindsQ = None,
) -> dict:
    """Top ``limit`` actors of the latest snapshot by ``metric``; persons unless ``include_kinds`` names more."""
    net, w = _network(reader, settings, network), _window(settings, window)
    kinds = _kinds(include_kinds)
    rows = _call(reader.top_actors, net, w, metric, limit, segment.value if segment else None, kinds)
    names = _call(reader.display_names, net)
    for r in rows:
        r["name"] = names.get(r["actor"])
    return {"network": net, "window": w, "metric": metric, "actors": rows}


@router.get("/tunnels", summary="Value-exchange matrix between segments")
def tunnels(reader: ReaderDep, settings: SettingsDep, network: NetworkQ = None, window: WindowQ = None) -> dict:
    """Latest SegmentFlow rows and the segment × segment matrix of total flows."""
    net, w = _network(reader, settings, network), _window(settings, window)
    rows = _call(reader.tunnels, net, w)
    segs = sorted(
        {r["src_segment"] for r in rows} | {r["dst_segment"] for r in rows},
        key=lambda s: SEGMENTS.index(s) if s in SEGMENTS else 99,
    )
    matrix = [[0] * len(segs) for _ in segs]
    for r in rows:
        matrix[segs.index(r["src_segment"])][segs.index(r["dst_segment"])] = (
            r["knowledge"] + r["idea"] + r["reputation"]
        )
    return {"network": net, "window": w, "tunnels": rows, "segments": segs, "matrix": matrix}


@router.get("/reach", summary="Influencer reach of one actor")
def reach(
    reader: ReaderDep,
    settings: SettingsDep,
    actor: Annotated[str, Query(min_length=1, max_length=256, description="Actor id")],
    network: NetworkQ = None,
    window: WindowQ = None,
    trend: Annotated[int, Query(ge=1, le=500, description="Ticks of trend")] = 30,
    posts: Annotated[int, Query(ge=0, le=100, description="Top posts to list")] = 10,
) -> dict:
    """Reach and potential reach now and over time, and the actor's most amplified posts."""
    net, w = _network(reader, settings, network), _window(settings, window)
    _require_actor(reader, net, actor)
    hist = _call(reader.reach_history, net, w, [actor], trend).get(actor, [])
    latest = _call(reader.actor_snapshot, net, w).get(actor)
    keys = ("reach", "potential_reach", "amplification_rate", "engagement_rate", "segment")
    return {
        "network": net,
        "window": w,
        "actor": actor,
        "latest": {k: latest[k] for k in keys} if latest else None,
        "trend": hist,
        "posts": _call(reader.top_posts, net, actor, posts) if posts else [],
    }


@router.get("/reach/leaderboard", summary="Influencer reach leaderboard with trends")
def reach_leaderboard(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    limit: LimitQ = 20,
    trend: Annotated[int, Query(ge=2, le=200, description="Ticks of trend per actor")] = 20,
    segment: Annotated[Segment | None, Query()] = None,
    metric: Annotated[
        Literal["reach", "potential_reach", "amplification_rate", "engagement_rate"],
        Query(description="Rank by this metric (descending)"),
    ] = "reach",
    include_kinds: KindsQ = None,
) -> dict:
    """Top actors by ``metric`` (default reach; persons unless ``include_kinds`` names more); ``delta`` = reach
    now − reach at the oldest tick of the trend."""
    net, w = _network(reader, settings, network), _window(settings, window)
    kinds = _kinds(include_kinds)
    top = _call(reader.top_actors, net, w, metric, limit, segment.value if segment else None, kinds)
    hist = _call(reader.reach_history, net, w, [a["actor"] for a in top], trend)
    names = _call(reader.display_names, net)
    leaders = []
    for rank, a in enumerate(top, 1):
        series = hist.get(a["actor"], [])
        first = series[0]["reach"] if series else a["reach"]
        leaders.append(
            {
                "rank": rank,
                "actor": a["actor"],
                "name": names.get(a["actor"]),
                "segment": a["segment"],
                "kind": a.get("kind", "person"),
                "reach": a["reach"],
                "potential_reach": a["potential_reach"],
                "amplification_rate": a["amplification_rate"],
                "engagement_rate": a["engagement_rate"],
                "delta": a["reach"] - first,
                "trend": [p["reach"] for p in series],
            }
        )
    return {"network": net, "window": w, "metric": metric, "leaders": leaders}


@router.get("/cascade/{event_id:path}", summary="A post's amplification cascade (ids may hold slashes: at://…)")
def cascade(
    reader: ReaderDep,
    settings: SettingsDep,
    event_id: Annotated[str, Path(min_length=1, max_length=512)],
    network: NetworkQ = None,
    depth: Annotated[int, Query(ge=1, le=20, description="Hops to follow")] = 8,
) -> dict:
    """Every flow descending from ``event_id`` via parent_id, with its hop depth and reach."""
    net = _network(reader, settings, network)
    out = _call(reader.cascade, net, event_id, depth)
    if out is None:
        raise HTTPException(404, detail=f"event {event_id!r} not found in network {net!r}")
    return out


@router.get("/alerts", summary="Alerts, newest first")
def alerts(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    limit: LimitQ = 50,
    kind: Annotated[
        Literal["broker_lost", "silo_forming", "reach_spike", "responsiveness_degraded", "key_person"] | None,
        Query(description="Only alerts of this kind"),
    ] = None,
) -> dict:
    """Structural alerts (broker lost, silo forming, reach spike, responsiveness degraded)."""
    net = _network(reader, settings, network)
    w = _window(settings, window) if window else None
    return {"network": net, "alerts": _call(reader.alerts, net, w, limit, kind=kind)}


@router.get("/export", summary="One export file (what the `valuenet export` command writes)", response_model=None)
def export_file(
    reader: ReaderDep,
    settings: SettingsDep,
    what: Annotated[Literal["actors", "tunnels", "network", "flows", "graph"], Query(description="What to export")],
    format: Annotated[Literal["csv", "parquet", "json", "gexf", "graphml"], Query(description="File format")],
    network: NetworkQ = None,
    window: Annotated[
        str | None, Query(max_length=16, description="A stored or configured window (default: the first stored)")
    ] = None,
    k: Annotated[
        int | None, Query(ge=1, description="Suppress groups smaller than k (default VALUENET_EXPORT_K)")
    ] = None,
) -> Response:
    """The file ``<network>-<what>-<window>.<format>``, with ``X-Valuenet-Rows``, ``-Suppressed``, ``-Network`` and
    ``-Window`` headers (network and window percent-encoded UTF-8; the filename per RFC 6266, see ``web.headers``)."""
    import tempfile
    from pathlib import Path as FsPath

    from valuenet.analytics.exports import FORMATS, ExportError, check_window, export

    net = _network(reader, settings, network)
    if format not in FORMATS[what]:
        raise _invalid("format", format, f"format for {what} must be one of {', '.join(FORMATS[what])}")
    try:
        w = _call(check_window, reader, net, window, settings.windows)
    except ExportError as e:
        raise _invalid("window", window, str(e)) from None
    with tempfile.TemporaryDirectory(prefix="valuenet-export-") as tmp:
        out = FsPath(tmp) / f"{what}-{w}.{format}"
        entry = _call(export, reader, what, format, w, net, out, settings.export_k if k is None else k)
        body = out.read_bytes()
    media = {"csv": "text/csv", "json": "application/json", "parquet": "application/vnd.apache.parquet"}
    return Response(
        body,
        media_type=media.get(format, "application/xml"),
        headers={
            "Content-Disposition": content_disposition(f"{net}-{out.name}"),
            "X-Valuenet-Rows": str(entry["rows"]),
            "X-Valuenet-Suppressed": str(entry["suppressed"]),
            "X-Valuenet-Network": header_text(net),
            "X-Valuenet-Window": header_text(w),
        },
    )


@router.get("/flows/timeline", summary="Flow counts per time bucket and type")
def flows_timeline(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    bucket: Annotated[str, Query(max_length=16, description="Bucket width, e.g. 60s, 5m, 1h")] = "1m",
) -> dict:
    """Flows per event-time bucket over the window, by flow type."""
    net, w = _network(reader, settings, network), _window(settings, window)
    try:
        b = parse_duration(bucket)
    except DurationError as e:
        raise _invalid("bucket", bucket, str(e)) from None
    if b > parse_duration(w):
        raise _invalid("bucket", bucket, f"bucket longer than the window {w}")
    if parse_duration(w) // b > 5000:
        raise _invalid("bucket", bucket, f"bucket too small: more than 5000 buckets in window {w}")
    return {"network": net, "window": w, **_call(reader.flow_timeline, net, w, b)}


@router.get("/graph", summary="Nodes and edges of the value network")
def graph(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    type: Annotated[list[str] | None, Query(description="Flow types (repeat or comma-separate)")] = None,
    segment: Annotated[
        list[str] | None, Query(description="Segments (repeat or comma-separate); edges between them only")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100000, description="Heaviest edges to return")] = 1500,
) -> dict:
    """Aggregated giver→receiver edges per flow type, nodes with segment and latest metrics."""
    net, w = _network(reader, settings, network), _window(settings, window)
    types = _list_param("type", type, FLOW_TYPES)
    segs = _list_param("segment", segment, SEGMENTS)
    rows = _call(reader.edges, net, w, types, None, None)
    if segs:
        rows = [r for r in rows if r["source_segment"] in segs and r["target_segment"] in segs]
    total = len(rows)
    snap = _call(reader.actor_snapshot, net, w)
    names = _call(reader.display_names, net)
    return {
        "network": net,
        "window": w,
        "types": types or list(FLOW_TYPES),
        "segments": segs or list(SEGMENTS),
        "total_edges": total,
        **_graph(rows[:limit], snap, names),
    }


def _graph(rows: list[dict], snap: dict[str, dict], names: dict[str, str]) -> dict:
    """Nodes (with segment, team and latest metrics) and edges from aggregated edge rows."""
    nodes: dict[str, dict] = {}
    for r in rows:
        for end, seg, team in (
            ("source", r["source_segment"], r.get("source_team")),
            ("target", r["target_segment"], r.get("target_team")),
        ):
            a = r[end]
            if a not in nodes:
                m = snap.get(a, {})
                nodes[a] = {
                    "id": a,
                    "name": names.get(a),
                    "segment": m.get("segment") or seg,
                    "team": team,
                    "pagerank": m.get("pagerank", 0.0),
                    "betweenness": m.get("betweenness", 0.0),
                    "reach": m.get("reach", 0),
                    "community": m.get("community", -1),
                    "strength": 0,
                }
            nodes[a]["strength"] += r["weight"]
    edges = [
        {"source": r["source"], "target": r["target"], "type": r["flow_type"], "weight": r["weight"]} for r in rows
    ]
    return {"nodes": list(nodes.values()), "edges": edges}


@router.get("/valuemap", summary="Value map: roles and exchanges by flow type", response_model=None)
def valuemap(
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    format: Annotated[Literal["svg", "dot", "mermaid", "json"], Query(description="Output format")] = "svg",
    teams: Annotated[bool, Query(description="Split segments into teams when known")] = True,
) -> Response:
    """The value map of the window as SVG, Graphviz DOT, Mermaid or JSON."""
    net, w = _network(reader, settings, network), _window(settings, window)
    vm = vmap.build_valuemap(_call(reader.roles_exchanges, net, w), net, w, by_team=teams)
    if format == "svg":
        return Response(vmap.to_svg(vm), media_type="image/svg+xml")
    if format == "dot":
        return Response(vmap.to_dot(vm), media_type="text/vnd.graphviz")
    if format == "mermaid":
        return Response(vmap.to_mermaid(vm), media_type="text/plain; charset=utf-8")
    return JSONResponse(vm.as_dict())


class LabelIn(BaseModel):
    """An analyst's correction of one interaction's flow type."""

    network: str = Field(min_length=1, max_length=128)
    event_id: str = Field(min_length=1, max_length=512)
    label: Literal["knowledge", "idea", "reputation", "none"]
    labelled_by: str = Field("api", min_length=1, max_length=128)


@router.post(
    "/labels", summary="Correct an interaction's flow type (the classifier learns it on retrain)", status_code=201
)
def add_label(body: LabelIn, reader: ReaderDep) -> dict:
    """Store a correction in ``labels``; ``valuenet train classify`` folds it into the model."""
    from valuenet.analytics.storage.labels import CorrectionError, store_correction

    try:
        with reader._lock:  # one session: the same lock as every read
            row = store_correction(reader.store, body.network, body.event_id, body.label, labelled_by=body.labelled_by)
    except CorrectionError as e:
        raise HTTPException(status_code=404, detail=str(e)) from e
    except Exception as e:
        log.warning("label write failed: %s", e, exc_info=True)
        raise StoreError(f"store write failed: {type(e).__name__}") from e
    return {
        "network": row["network"],
        "event_id": row["event_id"],
        "label": row["label"],
        "labelled_by": row["labelled_by"],
    }


# -- rearranging the value network (issue 15): what if, key-person risk, tunnels to dig ----------


class WhatIfIn(BaseModel):
    """A proposed change of one window (any combination); names are actor ids, teams or segments."""

    network: str | None = Field(None, min_length=1, max_length=128)
    window: str | None = Field(None, max_length=16)
    remove_actors: list[str] = Field(default_factory=list, max_length=100)
    remove_teams: list[str] = Field(default_factory=list, max_length=20)
    remove_tunnels: list[tuple[str, str]] = Field(default_factory=list, max_length=20)
    merge_teams: list[tuple[str, str]] = Field(default_factory=list, max_length=20)
    add_ties: list[tuple[str, str]] = Field(default_factory=list, max_length=20)


def _whatif_runner(request: Request, reader: Reader, settings: Settings):
    """The app's WhatIfRunner (one child process, created on first use)."""
    from valuenet.analytics.whatif_runner import WhatIfRunner, WindowConfig

    runner = getattr(request.app.state, "whatif_runner", None)
    if runner is None:
        cfg = WindowConfig(settings.bucket_seconds, settings.allowed_lateness_seconds)
        runner = request.app.state.whatif_runner = WhatIfRunner(reader, cfg)
    return runner


async def _whatif_task(
    request: Request,
    reader: Reader,
    settings: Settings,
    task: str,
    network: str | None,
    window: str | None,
    params: dict,
) -> dict:
    """Run one what-if task off the event loop; bad names → 422, no flows → 404, store failure → 503."""
    from concurrent.futures.process import BrokenProcessPool

    net, w = _network(reader, settings, network), _window(settings, window)
    runner = _whatif_runner(request, reader, settings)
    try:
        out = await runner.run(task, net, w, params)
        names = await asyncio.to_thread(_call, reader.display_names, net)
        return with_names(out, names)  # the display name beside every actor key (analytics.names)
    except LookupError as e:
        raise HTTPException(404, detail=str(e)) from e
    except ValueError as e:  # ChangeError names the field at fault
        loc = ["body", e.field] if hasattr(e, "field") else ["query"]
        raise HTTPException(422, detail=[{"loc": loc, "msg": str(e), "type": "value_error"}]) from e
    except BrokenProcessPool as e:
        request.app.state.whatif_runner = None
        raise StoreError("what-if worker process died; retry") from e
    except HTTPException:
        raise
    except Exception as e:
        log.warning("what-if %s failed: %s", task, e, exc_info=True)
        raise StoreError(f"what-if failed: {type(e).__name__}") from e


@router.post(
    "/whatif",
    summary="Impact analysis: recompute a window with actors/teams/tunnels removed, teams merged or ties added",
)
async def whatif(request: Request, body: WhatIfIn, reader: ReaderDep, settings: SettingsDep) -> dict:
    """Before/after report of the change: tunnels cut, segment reachability and hops, relayed pairs rerouted or
    lost, questions and ideas that depended on removed actors, readiness, reach of the influencers involved."""
    params = body.model_dump(exclude={"network", "window"})
    if not any(params.values()):
        raise HTTPException(
            422,
            detail=[
                {"loc": ["body"], "msg": "give at least one change (remove_actors, add_ties, …)", "type": "value_error"}
            ],
        )
    return await _whatif_task(request, reader, settings, "whatif", body.network, body.window, params)


@router.get("/recommendations", summary="Tunnels to dig: introductions ranked by expected gain")
async def recommendations(
    request: Request,
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    limit: Annotated[int, Query(ge=1, le=20, description="Recommendations to return")] = 5,
) -> dict:
    """Candidate introductions with the reason in words and the expected effect from the impact analysis."""
    return await _whatif_task(request, reader, settings, "recommend", network, window, {"limit": limit})


@router.get("/silos", summary="Silos by evidence: teams whose outside ties are significantly below their peers'")
async def silos(
    request: Request,
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
) -> dict:
    """Each workforce team's outside ties against a degree-preserving null (docs/silos-and-evaluation.md)."""
    return await _whatif_task(request, reader, settings, "silos", network, window, {})


@router.get("/keyperson", summary="Key-person risk: actors whose removal cuts the most cross-group exchange")
async def keyperson(
    request: Request,
    reader: ReaderDep,
    settings: SettingsDep,
    network: NetworkQ = None,
    window: WindowQ = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Actors to return")] = 10,
    effects: Annotated[int, Query(ge=0, le=10, description="Also the removal's impact summary of the first N")] = 0,
    include_kinds: KindsQ = None,
) -> dict:
    """Ranked actors with the share of each tunnel that depends on them (and, for the first ``effects``, their removal's impact)."""
    params: dict[str, Any] = {"limit": limit, "effects": effects}
    if include_kinds:
        params["include_kinds"] = ",".join(sorted(_kinds(include_kinds)))
    return await _whatif_task(request, reader, settings, "keyperson", network, window, params)
