"""``valuenet whatif | recommend | keyperson``: rearranging the value network, from the stored flows.

The window is rebuilt from ClickHouse ``flows`` the way the worker rebuilds it
(``valuenet.analytics.whatif_runner``) and computed in this process; when the embedded store is
held by a running service, the question goes to its API (``POST /api/whatif``,
``GET /api/recommendations``, ``GET /api/keyperson``), which computes in a child process.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from valuenet.config import get_settings

__all__ = ["register"]

NetworkOpt = Annotated[str | None, typer.Option("--network", "-n", help="Network id (default: as the API)")]
WindowOpt = Annotated[str | None, typer.Option("--window", "-w", help="Window (default: the first stored one)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the full JSON report")]


def _ask(task: str, network: str | None, window: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """Answer ``task`` locally (store opened here) or through the running service's API."""
    from valuenet.analytics.names import with_names
    from valuenet.analytics.whatif_runner import WindowConfig, run_task, window_from_reader
    from valuenet.commands.query import resolve_window, run_with_source
    from valuenet.commands.source import LocalSource, SourceError, _detail

    settings = get_settings()

    def go(src: Any) -> dict[str, Any]:
        net = src.network(network)
        win = resolve_window(src, net, window)
        if isinstance(src, LocalSource):
            t0 = time.perf_counter()
            cfg = WindowConfig(settings.bucket_seconds, settings.allowed_lateness_seconds)
            try:
                w = window_from_reader(src.reader, net, win, cfg)
            except LookupError as e:
                raise SourceError(str(e)) from e
            load_s = time.perf_counter() - t0
            try:
                out = run_task(w, task, params)
            except ValueError as e:
                raise SourceError(str(e)) from e
            out["window_load_seconds"] = load_s
            out["flows_loaded"] = w.flows
            return dict(with_names(out, src.reader.display_names(net)))  # as the API: names beside keys
        if task == "whatif":
            r = src.http.post("/api/whatif", json={"network": net, "window": win, **params})
        else:
            path = {"recommend": "recommendations", "silos": "silos"}.get(task, "keyperson")
            r = src.http.get(f"/api/{path}", params={"network": net, "window": win, **params})
        if r.status_code >= 400:
            raise SourceError(f"{src.where} answered {r.status_code}: {_detail(r)}")
        return dict(r.json())

    return run_with_source(go)


def _console() -> Any:
    from valuenet.console import make_console

    return make_console()


def _named(rec: dict[str, Any], end: str) -> str:
    """``Name (key)`` of a recommendation's end ``a`` or ``b`` (the key alone when it has no name)."""
    key, name = rec[f"actor_{end}"], rec.get(f"name_{end}")
    return f"{name} ({key})" if name and name != key else str(key)


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def print_impact(report: dict[str, Any]) -> None:
    """The what-if report as a summary and tables."""
    con = _console()
    con.print(
        f"[bold]{report['description']}[/bold] — {report['network']} {report['window']} "
        f"({report['window_start']} … {report['window_end']})",
        highlight=False,
    )
    for line in report["summary"]:
        con.print(f"  • {line}", highlight=False)
    net = Table(title="network")
    for c in ("metric", "before", "after"):
        net.add_column(c)
    for k in (
        "actors",
        "edges",
        "readiness_index",
        "ei_index",
        "responsiveness_median_s",
        "responsiveness_p90_s",
        "idea_pickup_share",
    ):
        net.add_row(k, _fmt(report["before"][k]), _fmt(report["after"][k]))
    con.print(net)
    changed = [t for t in report["tunnels"] if t["before"] != t["after"]]
    if changed:
        tt = Table(title="tunnels (flows)")
        for c in ("src", "dst", "before", "after", "cut"):
            tt.add_column(c)
        for t in changed:
            tt.add_row(t["src"], t["dst"], str(t["before"]), str(t["after"]), str(t["cut"]))
        con.print(tt)
    rt = Table(title="reachability between segments")
    for c in ("src", "dst", "share before", "share after", "hops before", "hops after"):
        rt.add_column(c)
    for x in report["reachability"]:
        rt.add_row(
            x["src"],
            x["dst"],
            _fmt(x["share_before"]),
            _fmt(x["share_after"]),
            _fmt(x["hops_before"]),
            _fmt(x["hops_after"]),
        )
    con.print(rt)
    con.print(f"computed in {report['seconds']:.2f} s (window rebuilt in {report.get('window_load_seconds', 0):.2f} s)")


def register(app: typer.Typer) -> None:
    """Add ``whatif``, ``recommend`` and ``keyperson`` to the ``valuenet`` app."""

    @app.command("whatif")
    def whatif(
        remove: Annotated[list[str] | None, typer.Option("--remove", help="Remove an actor (repeatable)")] = None,
        remove_team: Annotated[list[str] | None, typer.Option("--remove-team", help="Remove a team")] = None,
        remove_tunnel: Annotated[
            tuple[str, str] | None, typer.Option("--remove-tunnel", help="Remove the flows between two segments/teams")
        ] = None,
        add_tie: Annotated[
            tuple[str, str] | None, typer.Option("--add-tie", help="Add a tie between two actors or teams")
        ] = None,
        merge_teams: Annotated[
            tuple[str, str] | None, typer.Option("--merge-teams", help="Merge the second team into the first")
        ] = None,
        network: NetworkOpt = None,
        window: WindowOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Impact analysis: what would change if an actor or team left, a tunnel closed, teams merged or a tie was added."""
        params: dict[str, Any] = {
            "remove_actors": list(remove or []),
            "remove_teams": list(remove_team or []),
            "remove_tunnels": [list(remove_tunnel)] if remove_tunnel else [],
            "merge_teams": [list(merge_teams)] if merge_teams else [],
            "add_ties": [list(add_tie)] if add_tie else [],
        }
        if not any(params.values()):
            raise typer.BadParameter(
                "give a change: --remove, --remove-team, --remove-tunnel, --add-tie or --merge-teams"
            )
        report = _ask("whatif", network, window, params)
        if as_json:
            typer.echo(json.dumps(report, indent=1, ensure_ascii=False))
        else:
            print_impact(report)

    @app.command("recommend")
    def recommend_cmd(
        network: NetworkOpt = None,
        window: WindowOpt = None,
        limit: Annotated[int, typer.Option("--limit", min=1, max=20, help="Recommendations")] = 5,
        as_json: JsonOpt = False,
    ) -> None:
        """Tunnels to dig: introductions ranked by expected gain, with the reason and the expected effect."""
        out = _ask("recommend", network, window, {"limit": limit})
        if as_json:
            typer.echo(json.dumps(out, indent=1, ensure_ascii=False))
            return
        con = _console()
        con.print(f"[bold]tunnels to dig[/bold] — {out['network']} {out['window']} ({out['candidates']} candidates)")
        for r in out["recommendations"]:
            con.print(
                f"\n[bold]{r['rank']}. {_named(r, 'a')} ↔ {_named(r, 'b')}[/bold]  ({r['group_a']} ↔ {r['group_b']}, "
                f"gain {r['gain_hops_saved']:.0f} hops saved)",
                highlight=False,
            )
            con.print(f"   why: {r['reason']}", highlight=False)
            for line in r["expected_effect"]:
                con.print(f"   → {line}", highlight=False)
        if not out["recommendations"]:
            con.print("no introduction would shorten any path in this window.")

    @app.command("silos")
    def silos_cmd(network: NetworkOpt = None, window: WindowOpt = None, as_json: JsonOpt = False) -> None:
        """Silos by evidence: each team's outside ties against what its size and activity predict."""
        out = _ask("silos", network, window, {})
        if as_json:
            typer.echo(json.dumps(out, indent=1, ensure_ascii=False))
            return
        table = Table(
            title=f"silos by evidence — {out['network']} {out['window']} (openness r = {out['openness']:.3f})"
        )
        for c in ("team", "members", "outside ties", "expected (config)", "null μ", "E-I (ties)", "q", "silo"):
            table.add_column(c, justify="left" if c == "team" else "right")
        for gr in out["groups"]:
            table.add_row(
                gr["group"],
                str(gr["members"]),
                str(gr["external_ties"]),
                f"{gr['expected_config']:.1f}",
                f"{gr['expected_null']:.1f}",
                f"{gr['ei']:+.2f}",
                f"{gr['q_value']:.2g}",
                "yes" if gr["silo"] else "",
            )
        _console().print(table)

    @app.command("keyperson")
    def keyperson_cmd(
        network: NetworkOpt = None,
        window: WindowOpt = None,
        limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="Actors")] = 10,
        as_json: JsonOpt = False,
        include_non_persons: Annotated[
            bool, typer.Option("--include-non-persons", help="Rank organisations, bots and platform accounts too.")
        ] = False,
    ) -> None:
        """Key-person risk: the persons (all kinds on request) whose removal would cut the most cross-group exchange."""
        params: dict[str, Any] = {"limit": limit, "effects": 3}
        if include_non_persons:
            params["include_kinds"] = "all"
        out = _ask("keyperson", network, window, params)
        if as_json:
            typer.echo(json.dumps(out, indent=1, ensure_ascii=False))
            return
        con = _console()
        table = Table(title=f"key-person risk — {out['network']} {out['window']}")
        for c in ("rank", "name", "actor", "kind", "group", "risk", "tunnels that depend on them"):
            table.add_column(c)
        for r in out["actors"]:
            shares = ", ".join(f"{100 * s['share']:.0f} % {s['src']}→{s['dst']}" for s in r["tunnels"][:3])
            table.add_row(
                str(r["rank"]),
                r.get("name") or "–",
                r["actor"],
                r.get("kind", "person"),
                r["group"],
                f"{r['risk']:.2f}",
                shares,
            )
        con.print(table)
        for r in out["actors"][:3]:
            for line in r.get("expected_effect", []):
                con.print(f"  {r.get('name') or r['actor']}: {line}", highlight=False)
