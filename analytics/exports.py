"""Metric exports for analysts: actors, tunnels, network, flows (CSV / Parquet / JSON) and the graph (GEXF / GraphML).

Every file is written atomically (a temporary file in the same directory, then ``os.replace``).
Periodic exports run cron expressions (croniter) from the ``[[exports]]`` tables of the TOML
configuration; each run lands in its own directory with a ``manifest.json`` (files, rows, sha256,
window, generated_at), the directory itself renamed into place when complete.

Privacy: group-level exports suppress groups smaller than k (``VALUENET_EXPORT_K``, default 5):

- ``tunnels``: a segment-pair row is dropped when either segment has fewer than k actors in the
  window's latest snapshot, or the row has fewer than k distinct actor pairs;
- ``network``: a window's row is dropped when the network has fewer than k actors.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq

from valuenet.analytics.storage.reader import Reader
from valuenet.analytics.xmltext import write_xml_graph
from valuenet.config import EXPORT_FORMATS as FORMATS
from valuenet.config import EXPORT_WHAT as WHAT
from valuenet.config import ExportSchedule as ExportJob
from valuenet.config import Settings, get_settings
from valuenet.schemas.palette import SEGMENT_COLOURS
from valuenet.schemas.timeunits import DurationError, parse_duration

__all__ = [
    "WHAT",
    "FORMATS",
    "ExportError",
    "ExportTable",
    "ExportJob",
    "stored_windows",
    "check_window",
    "collect",
    "build_graph",
    "write_export",
    "export",
    "load_jobs",
    "due_jobs",
    "run_jobs",
    "run_schedule",
]

Progress = Callable[[int, int], None]


class ExportError(ValueError):
    """An export that cannot be made (unknown kind, format or window)."""


@dataclass
class ExportTable:
    """Rows of one export plus what the manifest needs."""

    what: str
    network: str
    window: str
    rows: list[dict]
    suppressed: int = 0
    graph: nx.DiGraph | None = None


# -- windows ---------------------------------------------------------------------------------


def stored_windows(reader: Reader, network: str) -> list[str]:
    """Windows with metric snapshots of ``network`` in the store, shortest first."""
    for n in reader.networks():
        if n["network"] == network:
            return list(n["windows"])
    return []


def check_window(reader: Reader, network: str, window: str | None, configured: Iterable[str] = ()) -> str:
    """The window to export: ``window`` if stored or configured, else the first stored; ExportError naming the stored ones."""
    stored = stored_windows(reader, network)
    configured = list(configured)
    if window is None:
        if stored or configured:
            return (stored or configured)[0]
        raise ExportError(f"network {network!r} has no metric snapshots yet; pass --window")
    if window in stored or window in configured:
        try:
            parse_duration(window)
        except DurationError as e:
            raise ExportError(str(e)) from None
        return window
    where = (
        f"stored windows for network {network!r}: {', '.join(stored)}"
        if stored
        else (
            f"network {network!r} has no metric snapshots yet"
            + (
                f" (networks with data: {', '.join(n['network'] for n in reader.networks())})"
                if reader.networks()
                else ""
            )
        )
    )
    raise ExportError(f"window {window!r} is neither stored nor configured; {where}")


# -- collect ---------------------------------------------------------------------------------


def collect(reader: Reader, what: str, network: str, window: str, k: int = 5) -> ExportTable:
    """Rows of one export from the store (latest snapshot for metrics, FINAL rows for flows)."""
    if what not in WHAT:
        raise ExportError(f"--what must be one of {', '.join(WHAT)}, not {what!r}")
    if what == "actors":
        rows = sorted(reader.actor_snapshot(network, window).values(), key=lambda r: (-r["pagerank"], r["actor"]))
        names = reader.display_names(network)  # the display name beside the key ("" when none)
        rows = [{"actor": r["actor"], "name": names.get(r["actor"]) or "", **r} for r in rows]
        return ExportTable(what, network, window, rows)
    if what == "network":
        rows = reader.network_metrics(network, [window])
        kept = [r for r in rows if int(r["actors"]) >= k]
        return ExportTable(what, network, window, kept, suppressed=len(rows) - len(kept))
    if what == "tunnels":
        sizes: dict[str, int] = {}
        for a in reader.actor_snapshot(network, window).values():
            sizes[a["segment"]] = sizes.get(a["segment"], 0) + 1
        rows = reader.tunnels(network, window)
        kept = [
            r
            for r in rows
            if sizes.get(r["src_segment"], 0) >= k
            and sizes.get(r["dst_segment"], 0) >= k
            and int(r["actor_pairs"]) >= k
        ]
        return ExportTable(what, network, window, kept, suppressed=len(rows) - len(kept))
    if what == "flows":
        return ExportTable(what, network, window, reader.flows(network, window))
    g = build_graph(reader, network, window)
    rows = [{"source": u, "target": v, **d} for u, v, d in g.edges(data=True)]
    return ExportTable(what, network, window, rows, graph=g)


def build_graph(reader: Reader, network: str, window: str) -> nx.DiGraph:
    """The window's value network: edge giver→receiver with flows per type and ``weight`` = their sum.

    Node attributes, one type each: label (the directory's display name, else the actor id),
    segment and team (str, team "" when unknown) and the latest ActorMetrics: pagerank and
    betweenness (float, NaN for an actor not in the latest snapshot), reach and community (int, -1
    for an actor not in the latest snapshot).
    """
    g = nx.DiGraph(network=network, window=window)
    snap = reader.actor_snapshot(network, window)
    names = reader.display_names(network)
    for r in reader.edges(network, window):
        for end, seg, team in (
            ("source", "source_segment", "source_team"),
            ("target", "target_segment", "target_team"),
        ):
            a = r[end]
            if a not in g:
                g.add_node(a, label=str(names.get(a) or a), **_node_attrs(snap.get(a, {}), r[seg], r.get(team)))
        u, v = r["source"], r["target"]
        if not g.has_edge(u, v):
            g.add_edge(u, v, knowledge=0, idea=0, reputation=0, weight=0)
        g[u][v][r["flow_type"]] += r["weight"]
        g[u][v]["weight"] += r["weight"]
    return g


def _node_attrs(m: dict, segment: str, team: str | None) -> dict[str, Any]:
    """One node's attributes with a fixed type per attribute (GraphML/GEXF declare one type per key)."""

    def num(key: str, cast: Callable[[Any], Any], missing: Any) -> Any:
        v = m.get(key)
        return missing if v is None else cast(v)

    return {
        "segment": str(m.get("segment") or segment or "unknown"),
        "team": str(team or ""),
        "pagerank": num("pagerank", float, math.nan),
        "betweenness": num("betweenness", float, math.nan),
        "reach": num("reach", int, -1),
        "community": num("community", int, -1),
    }


VIZ_SIZE_MIN, VIZ_SIZE_MAX = 4.0, 40.0


def with_viz(g: nx.DiGraph) -> nx.DiGraph:
    """A copy of ``g`` with GEXF ``viz`` per node: colour = segment, size = 4 + 36·sqrt(PR / max PR)."""
    out = g.copy()
    prs = [d["pagerank"] for _, d in g.nodes(data=True) if not math.isnan(d.get("pagerank", math.nan))]
    top = max(prs, default=0.0)
    for _, d in out.nodes(data=True):
        colour = SEGMENT_COLOURS.get(d.get("segment", "unknown"), SEGMENT_COLOURS["unknown"])
        pr = d.get("pagerank", math.nan)
        share = 0.0 if top <= 0 or math.isnan(pr) else math.sqrt(max(pr, 0.0) / top)
        d["viz"] = {
            "color": {"r": int(colour[1:3], 16), "g": int(colour[3:5], 16), "b": int(colour[5:7], 16), "a": 1.0},
            "size": round(VIZ_SIZE_MIN + (VIZ_SIZE_MAX - VIZ_SIZE_MIN) * share, 3),
        }
    return out


# -- write -----------------------------------------------------------------------------------


def _arrow(rows: list[dict]) -> pa.Table:
    """Rows as an Arrow table (columns in first-row order; empty table for no rows)."""
    if not rows:
        return pa.table({})
    cols = list(rows[0])
    return pa.Table.from_pylist(rows, schema=None).select(cols)


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in ``path``'s directory, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: A text cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell value: text that a spreadsheet would run as a formula gets a leading ``'`` (numbers unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_export(table: ExportTable, fmt: str, path: Path, progress: Progress | None = None) -> dict:
    """Write ``table`` as ``fmt`` to ``path`` atomically; returns the manifest entry."""
    if fmt not in FORMATS[table.what]:
        raise ExportError(
            f"export {table.what!r} cannot be written as {fmt!r}; use one of {', '.join(FORMATS[table.what])}"
        )
    path = Path(path)
    total = len(table.rows)
    tick = progress or (lambda done, total: None)

    def write(tmp: Path) -> None:
        if fmt == "csv":
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                if table.rows:
                    w = csv.DictWriter(f, fieldnames=list(table.rows[0]))
                    w.writeheader()
                    for i, r in enumerate(table.rows, 1):
                        w.writerow({k: csv_cell(v) for k, v in r.items()})
                        if i % 5000 == 0:
                            tick(i, total)
        elif fmt == "parquet":
            pq.write_table(_arrow(table.rows), tmp)
        elif fmt == "json":
            doc: Any = nx.node_link_data(table.graph, edges="edges") if table.graph is not None else table.rows
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f, default=str, indent=None)
        elif fmt == "gexf":  # XML 1.0 cannot hold every character a name may have (analytics.xmltext)
            write_xml_graph(with_viz(table.graph), tmp, nx.write_gexf)
        elif fmt == "graphml":
            write_xml_graph(table.graph, tmp, nx.write_graphml)
        tick(total, total)

    _atomic(path, write)
    return {
        "file": path.name,
        "what": table.what,
        "format": fmt,
        "network": table.network,
        "window": table.window,
        "rows": total,
        "suppressed": table.suppressed,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def export(
    reader: Reader,
    what: str,
    fmt: str,
    window: str,
    network: str,
    out: Path,
    k: int = 5,
    progress: Progress | None = None,
) -> dict:
    """Collect and write one export; returns its manifest entry."""
    if what == "report":  # drawn with the web layer's value map: valuenet.commands.report.make_report
        raise ExportError("a report is written by `valuenet report` or a scheduled [[exports]] job, not as a table")
    if what not in WHAT:
        raise ExportError(f"--what must be one of {', '.join(WHAT)}, not {what!r}")
    if fmt not in FORMATS[what]:
        raise ExportError(f"export {what!r} cannot be written as {fmt!r}; use one of {', '.join(FORMATS[what])}")
    return write_export(collect(reader, what, network, window, k), fmt, out, progress)


# -- periodic --------------------------------------------------------------------------------


def load_jobs(settings: Settings | None = None) -> list[ExportJob]:
    """The periodic exports: ``Settings.exports``, the ``[[exports]]`` tables of the TOML configuration."""
    return list((settings or get_settings()).exports)


def due_jobs(jobs: Iterable[ExportJob], since: datetime, now: datetime) -> list[ExportJob]:
    """Jobs whose cron fired in ``(since, now]``."""
    from croniter import croniter

    out = []
    for job in jobs:
        nxt = croniter(job.cron, since).get_next(datetime)
        if nxt <= now:
            out.append(job)
    return out


# (what, format, window, network, out, k) -> manifest entry: an export made elsewhere (the running service's API)
Exporter = Callable[[str, str, str, str, Path, int], dict]


def run_jobs(
    reader: Reader | Exporter,
    jobs: list[ExportJob],
    out_dir: Path,
    default_network: str,
    k: int = 5,
    now: datetime | None = None,
) -> Path:
    """Run ``jobs`` into ``out_dir/<UTC stamp>/`` with a manifest; the directory appears complete or not at all.

    ``reader`` is the store's Reader, or an Exporter that makes each file (e.g. through the API).
    """
    if isinstance(reader, Reader):
        store_reader = reader

        def make(what: str, fmt: str, window: str, network: str, out: Path, k: int) -> dict:
            return export(store_reader, what, fmt, window, network, out, k)

        exporter: Exporter = make
    else:
        exporter = reader
    now = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{stamp}.", dir=out_dir))
    try:
        files = []
        for job in jobs:
            net = job.network or default_network
            name = job.filename if not job.network else f"{net}-{job.filename}"
            files.append(exporter(job.what, job.format, job.window, net, staging / name, k))
        manifest = {
            "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "k": k,
            "windows": sorted({f["window"] for f in files}),
            "files": files,
        }
        _atomic(staging / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=2), encoding="utf-8"))
        final = out_dir / stamp
        if final.exists():
            final = out_dir / f"{stamp}-{os.getpid()}"
        os.replace(staging, final)
        return final
    except BaseException:
        for p in staging.glob("*"):
            p.unlink(missing_ok=True)
        staging.rmdir()
        raise


def run_schedule(
    reader: Reader | Exporter,
    jobs: list[ExportJob],
    out_dir: Path,
    default_network: str,
    k: int = 5,
    stop: Callable[[], bool] = lambda: False,
    on_run: Callable[[Path], None] | None = None,
) -> None:
    """Run due jobs each minute boundary until ``stop()``; each batch of due jobs makes one run directory."""
    last = datetime.now(UTC)
    while not stop():
        time.sleep(min(1.0, max(0.05, 60 - time.time() % 60)))
        now = datetime.now(UTC)
        due = due_jobs(jobs, last, now)
        if due:
            path = run_jobs(reader, due, out_dir, default_network, k, now)
            if on_run:
                on_run(path)
            last = now
