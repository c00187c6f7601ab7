"""``valuenet top | tunnels | reach ACTOR | alerts``: the latest metric snapshots, as the API serves them.

Each command asks a :mod:`valuenet.commands.source` source: the store through the same ``Reader``
calls as the REST API, or — when the embedded chdb store is held by a running ``valuenet up`` /
``worker --serve`` / ``serve`` — that service's API. Without ``--window`` the network's first
stored window is used; a window without snapshots is refused with the list of stored ones.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.table import Table

from valuenet.analytics.storage.reader import ACTOR_METRICS
from valuenet.commands.source import LocalSource, RemoteSource, SourceError, open_source
from valuenet.config import get_settings
from valuenet.console import make_console

__all__ = ["register", "resolve_window", "run_with_source"]

T = TypeVar("T")
ALERT_KINDS = ("broker_lost", "silo_forming", "reach_spike", "responsiveness_degraded")
_LEFT = ("actor", "name", "segment", "src_segment", "dst_segment", "kind", "subject", "message", "window")


def run_with_source(fn: Callable[[LocalSource | RemoteSource], T]) -> T:
    """Run ``fn`` on the configured source; a SourceError becomes one red line and exit code 1."""
    try:
        with open_source(get_settings()) as src:
            return fn(src)
    except SourceError as e:
        make_console(stderr=True).print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(1) from None


def resolve_window(src: LocalSource | RemoteSource, network: str, window: str | None) -> str:
    """``window`` if the network has snapshots of it, the first stored window when None; else exit 1 naming the stored ones."""
    stored = src.stored_windows(network)
    if window is None:
        if stored:
            return stored[0]
        return get_settings().windows[0]
    if stored and window not in stored:
        make_console(stderr=True).print(
            f"[red]no snapshots of window {window!r} for network {network!r}; stored windows: {', '.join(stored)}[/red]",
            highlight=False,
        )
        raise typer.Exit(1)
    return window


def _table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> Table:
    """A rich table of ``rows`` showing ``columns`` (floats to 4 significant digits)."""
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="left" if c in _LEFT else "right")
    for r in rows:
        table.add_row(
            *["" if r.get(c) is None else f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in columns]
        )
    return table


def _print(
    table: Table, src: LocalSource | RemoteSource, empty: str | None = None, rows: list[dict] | None = None
) -> None:
    """The table (or, with ``--json``, ``rows`` as a JSON array on stdout); the answering service on stderr."""
    if isinstance(src, RemoteSource):
        make_console(stderr=True).print(f"(answered by {src.where})", highlight=False, style="dim")
    if rows is not None:
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
        return
    out = make_console()
    out.print(table)
    if empty:
        out.print(f"[yellow]{empty}[/yellow]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``top``, ``tunnels``, ``reach`` and ``alerts`` to the main app."""

    @app.command()
    def top(
        metric: str = typer.Option("pagerank", "--metric", help=f"One of: {', '.join(ACTOR_METRICS)}"),
        window: str = typer.Option(None, "--window", help="A stored window (default: the network's first)."),
        network: str = typer.Option(
            None, "--network", help="Default: VALUENET_NETWORK if it has data, else the latest."
        ),
        limit: int = typer.Option(10, "--limit", min=1, max=1000),
        as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON (the API's rows)."),
        include_non_persons: bool = typer.Option(
            False, "--include-non-persons", help="Rank organisations, bots and platform accounts too (labelled)."
        ),
        include_kinds: str = typer.Option(
            None, "--include-kinds", help="Kinds to rank, comma-separated (person, organisation, bot, platform, all)."
        ),
    ) -> None:
        """Top actors (persons unless asked) of the latest snapshot by a metric (as /api/metrics/actors)."""
        if metric not in ACTOR_METRICS:
            raise typer.BadParameter(f"{metric!r}: expected one of {', '.join(ACTOR_METRICS)}", param_hint="--metric")
        from valuenet.analytics.kinds import parse_kinds

        try:
            kinds = ",".join(sorted(parse_kinds(include_kinds, include_non_persons=include_non_persons)))
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--include-kinds") from None

        def go(src: LocalSource | RemoteSource) -> None:
            net = src.network(network)
            w = resolve_window(src, net, window)
            rows = src.top(net, w, metric, limit, kinds)
            shown = [{**r, "value": r[metric]} for r in rows]
            cols = ["actor", "name", "kind", "segment", "value", "pagerank", "betweenness", "reach", "community"]
            title = f"top {metric} · {net} · {w}"
            _print(_table(title, cols, shown), src, None if rows else "no snapshot yet", rows if as_json else None)

        run_with_source(go)

    @app.command()
    def tunnels(
        window: str = typer.Option(None, "--window", help="A stored window (default: the network's first)."),
        network: str = typer.Option(None, "--network"),
        as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON (the API's rows)."),
    ) -> None:
        """The value-exchange matrix between segments, largest volume first (as /api/tunnels)."""

        def go(src: LocalSource | RemoteSource) -> None:
            net = src.network(network)
            w = resolve_window(src, net, window)
            rows = sorted(
                src.tunnels(net, w),
                key=lambda r: (-(r["knowledge"] + r["idea"] + r["reputation"]), r["src_segment"], r["dst_segment"]),
            )
            cols = ["src_segment", "dst_segment", "knowledge", "idea", "reputation"]
            cols += ["actor_pairs", "reciprocity", "give_get_balance"]
            title = f"tunnels · {net} · {w}"
            _print(_table(title, cols, rows), src, None if rows else "no snapshot yet", rows if as_json else None)

        run_with_source(go)

    @app.command()
    def reach(
        actor: str = typer.Argument(..., help="Actor id"),
        network: str = typer.Option(None, "--network"),
        as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON (the API's rows)."),
    ) -> None:
        """An actor's reach, potential reach and rates in every stored window (as /api/reach)."""

        def go(src: LocalSource | RemoteSource) -> None:
            net = src.network(network)
            rows = []
            for w in src.stored_windows(net):
                latest = src.reach(net, w, actor)
                if latest:
                    rows.append({"window": w, **latest})
            if not rows:
                make_console(stderr=True).print(
                    f"[yellow]no metrics for actor {actor!r} in network {net!r}[/yellow]", highlight=False
                )
                raise typer.Exit(1)
            cols = ["window", "segment", "reach", "potential_reach", "amplification_rate", "engagement_rate"]
            _print(_table(f"reach of {actor} · {net}", cols, rows), src, rows=rows if as_json else None)

        run_with_source(go)

    @app.command()
    def alerts(
        network: str = typer.Option(None, "--network"),
        kind: str = typer.Option(None, "--kind", help=", ".join(ALERT_KINDS)),
        limit: int = typer.Option(20, "--limit", min=1, max=1000),
        as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON (the API's rows)."),
    ) -> None:
        """The latest alerts, newest first (as /api/alerts)."""
        if kind is not None and kind not in ALERT_KINDS:
            raise typer.BadParameter(f"{kind!r}: expected one of {', '.join(ALERT_KINDS)}", param_hint="--kind")

        def go(src: LocalSource | RemoteSource) -> None:
            net = src.network(network)
            rows = src.alerts(net, kind, limit)
            cols = ["raised_at", "window", "kind", "subject", "name", "value", "threshold", "message"]
            _print(_table(f"alerts · {net}", cols, rows), src, None if rows else "no alerts", rows if as_json else None)

        run_with_source(go)
