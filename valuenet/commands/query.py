"""``valuenet top | tunnels | reach ACTOR | alerts``: read the metric snapshots in ClickHouse.

Each command reads the latest snapshot (``max(computed_at)``) of a network and window from
``actor_metrics``, ``segment_flows`` or ``alerts`` through ``valuenet.analytics.storage.open_store``
(parameters passed pyformat, never spliced) and prints a rich table.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from valuenet.config import get_settings

__all__ = ["register", "ACTOR_METRICS"]

ACTOR_METRICS = (
    "pagerank",
    "pagerank_reputation",
    "betweenness",
    "boundary_spanning",
    "reach",
    "potential_reach",
    "amplification_rate",
    "engagement_rate",
    "give_get_balance",
    "in_knowledge",
    "out_knowledge",
    "in_idea",
    "out_idea",
    "in_reputation",
    "out_reputation",
)


def _query(sql: str, params: dict[str, Any]) -> list[dict]:
    """Run ``sql`` on the configured store and close it."""
    from valuenet.analytics.storage import open_store

    store = open_store(get_settings())
    try:
        return store.query(sql, params)
    finally:
        store.close()


def _table(title: str, columns: list[str], rows: list[dict]) -> Table:
    """A rich table of ``rows`` showing ``columns`` (floats to 4 significant digits)."""
    table = Table(title=title)
    for c in columns:
        table.add_column(
            c,
            justify="left"
            if c in ("actor", "segment", "src_segment", "dst_segment", "kind", "subject", "message")
            else "right",
        )
    for r in rows:
        table.add_row(*[f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in columns])
    return table


def top_actors(metric: str, window: str, network: str, limit: int) -> list[dict]:
    """Top ``limit`` actors by ``metric`` in the latest snapshot of ``window``."""
    if metric not in ACTOR_METRICS:
        raise typer.BadParameter(f"--metric {metric!r}: expected one of {', '.join(ACTOR_METRICS)}")
    sql = (
        f"SELECT actor, segment, {metric} AS value, pagerank, betweenness, reach, community "
        "FROM actor_metrics WHERE network = %(network)s AND window = %(window)s AND computed_at = "
        "(SELECT max(computed_at) FROM actor_metrics WHERE network = %(network)s AND window = %(window)s) "
        f"ORDER BY {metric} DESC, actor LIMIT %(limit)s"
    )  # metric is checked against ACTOR_METRICS above: a column name, not a value
    return _query(sql, {"network": network, "window": window, "limit": limit})


def register(app: typer.Typer) -> None:
    """Add ``top``, ``tunnels``, ``reach`` and ``alerts`` to the main app."""

    @app.command()
    def top(
        metric: str = typer.Option("pagerank", "--metric", help=f"One of: {', '.join(ACTOR_METRICS)}"),
        window: str = typer.Option("1h", "--window"),
        network: str = typer.Option(None, "--network", help="Default: settings.network"),
        limit: int = typer.Option(10, "--limit", min=1),
    ) -> None:
        """Top actors of the latest snapshot by a metric."""
        net = network or get_settings().network
        rows = top_actors(metric, window, net, limit)
        Console().print(
            _table(
                f"top {metric} · {net} · {window}",
                ["actor", "segment", "value", "pagerank", "betweenness", "reach", "community"],
                rows,
            )
        )

    @app.command()
    def tunnels(
        window: str = typer.Option("1h", "--window"),
        network: str = typer.Option(None, "--network"),
    ) -> None:
        """The value-exchange matrix between segments (latest snapshot)."""
        net = network or get_settings().network
        rows = _query(
            "SELECT src_segment, dst_segment, knowledge, idea, reputation, actor_pairs, reciprocity, give_get_balance "
            "FROM segment_flows WHERE network = %(network)s AND window = %(window)s AND computed_at = "
            "(SELECT max(computed_at) FROM segment_flows WHERE network = %(network)s AND window = %(window)s) "
            "ORDER BY knowledge + idea + reputation DESC",
            {"network": net, "window": window},
        )
        cols = [
            "src_segment",
            "dst_segment",
            "knowledge",
            "idea",
            "reputation",
            "actor_pairs",
            "reciprocity",
            "give_get_balance",
        ]
        Console().print(_table(f"tunnels · {net} · {window}", cols, rows))

    @app.command()
    def reach(
        actor: str = typer.Argument(..., help="Actor id"),
        network: str = typer.Option(None, "--network"),
    ) -> None:
        """An actor's reach, potential reach and rates in every window (latest snapshot each)."""
        net = network or get_settings().network
        rows = _query(
            "SELECT window, reach, potential_reach, amplification_rate, engagement_rate, pagerank, computed_at "
            "FROM actor_metrics WHERE network = %(network)s AND actor = %(actor)s "
            "ORDER BY computed_at DESC LIMIT 1 BY window",
            {"network": net, "actor": actor},
        )
        if not rows:
            Console().print(f"[yellow]no metrics for actor {actor!r} in network {net!r}[/yellow]")
            raise typer.Exit(1)
        cols = [
            "window",
            "reach",
            "potential_reach",
            "amplification_rate",
            "engagement_rate",
            "pagerank",
            "computed_at",
        ]
        Console().print(_table(f"reach of {actor} · {net}", cols, rows))

    @app.command()
    def alerts(
        network: str = typer.Option(None, "--network"),
        kind: str = typer.Option(
            None, "--kind", help="broker_lost, silo_forming, reach_spike, responsiveness_degraded"
        ),
        limit: int = typer.Option(20, "--limit", min=1),
    ) -> None:
        """The latest alerts."""
        net = network or get_settings().network
        where = "network = %(network)s" + (" AND kind = %(kind)s" if kind else "")
        rows = _query(
            f"SELECT raised_at, window, kind, subject, value, threshold, message FROM alerts WHERE {where} "
            "ORDER BY raised_at DESC LIMIT %(limit)s",
            {"network": net, "kind": kind, "limit": limit},
        )
        Console().print(
            _table(f"alerts · {net}", ["raised_at", "window", "kind", "subject", "value", "threshold", "message"], rows)
        )
