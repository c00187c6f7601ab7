"""``valuenet report``: the period's report of a network as one self-contained HTML page or a PDF."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from valuenet.config import get_settings

__all__ = ["register", "make_report", "fetch_report", "report_exporter", "announce"]


def make_report(reader: Any, network: str, window: str, since: str | None, out: Path, k: int, names: bool) -> dict:
    """Build the report from ``reader`` and write it to ``out`` (HTML or PDF by suffix); its manifest entry."""
    from valuenet.analytics.report import build_report, render_html, write_report
    from valuenet.analytics.whatif_runner import WindowConfig
    from valuenet.web.report import valuemap_svg

    settings = get_settings()
    cfg = WindowConfig(settings.bucket_seconds, settings.allowed_lateness_seconds)
    rep = build_report(reader, network, window, since, k=k, names=names, cfg=cfg)
    entry = write_report(render_html(rep, valuemap_svg), out)
    return {**entry, "network": rep.network, "window": rep.window, "period": rep.period, "empty": rep.empty}


def fetch_report(src: Any, network: str, window: str, since: str | None, out: Path, names: bool = True) -> dict:
    """Ask the running service (``GET /api/report``) and write its answer to ``out`` atomically."""
    from valuenet.commands.source import SourceError, _detail

    fmt = "pdf" if out.suffix.lower() == ".pdf" else "html"
    params = {"network": network, "window": window, "since": since, "format": fmt, "names": names}
    r = src.http.get("/api/report", params={k: v for k, v in params.items() if v is not None})
    if r.status_code >= 400:
        raise SourceError(f"{src.where} answered {r.status_code}: {_detail(r)}")
    _write_bytes(r.content, out)
    return {
        "file": out.name,
        "what": "report",
        "format": fmt,
        "network": network,
        "window": window,
        "bytes": len(r.content),
        "sha256": hashlib.sha256(r.content).hexdigest(),
    }


def report_exporter(reader: Any, table_exporter: Callable[..., dict]) -> Callable[..., dict]:
    """An ``analytics.exports.Exporter`` that writes ``what = "report"`` jobs and leaves the rest to ``table_exporter``."""

    def make(what: str, fmt: str, window: str, network: str, out: Path, k: int) -> dict:
        if what == "report":
            return make_report(reader, network, window, None, out, k, True)
        return table_exporter(what, fmt, window, network, out, k)

    return make


def announce(run_dir: Path) -> list[bool]:
    """Post the run's reports to ``VALUENET_REPORT_SLACK_WEBHOOK_URL`` when set (retried, logged, never raises)."""
    from valuenet.analytics.report.slack import announce_run

    settings = get_settings()
    if settings.report_slack_webhook_url is None:
        return []
    url = settings.report_slack_webhook_url.get_secret_value()
    return announce_run(run_dir, url, attempts=settings.report_slack_attempts)


def _write_bytes(data: bytes, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        Path(staged).write_bytes(data)
        os.replace(staged, out)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    """Add ``valuenet report`` to the main app."""

    @app.command("report")
    def report(
        network: str = typer.Option(None, "--network", "-n", help="Network id (default: as the API)."),
        window: str = typer.Option(None, "--window", "-w", help="A stored window (default: the first stored one)."),
        since: str = typer.Option(None, "--since", help="Period length, e.g. 7d (default: the window's length)."),
        out: Path = typer.Option(..., "--out", help="FILE.html (self-contained page) or FILE.pdf (Chromium's print)."),
        k: int = typer.Option(None, "--k", help="Suppress groups smaller than k (default VALUENET_EXPORT_K)."),
        no_names: bool = typer.Option(False, "--no-names", help="Leave directory display names out (keys only)."),
    ) -> None:
        """Write the period's report: value map, tunnels, people, silos, trends, alerts, introductions, communities.

        Example: ``valuenet report --network acme --window 7d --out week.pdf``.
        """
        from valuenet.analytics.report import PdfError, ReportError
        from valuenet.commands.query import run_with_source
        from valuenet.commands.source import LocalSource, SourceError
        from valuenet.console import make_console

        settings = get_settings()
        console = make_console(stderr=True)
        if out.suffix.lower() not in (".html", ".htm", ".pdf"):
            console.print(f"[red]--out must end in .html or .pdf, got {out.name!r}[/red]", highlight=False)
            raise typer.Exit(2)
        k_ = settings.export_k if k is None else k

        def go(src: Any) -> dict:
            net = src.network(network)
            win = window
            if win is None:
                stored = src.stored_windows(net)
                win = stored[0] if stored else settings.windows[0]
            if isinstance(src, LocalSource):
                try:
                    return make_report(src.reader, net, win, since, out, k_, not no_names)
                except (ReportError, PdfError) as e:
                    raise SourceError(str(e)) from None
            return fetch_report(src, net, win, since, out, not no_names)

        entry = run_with_source(go)
        console.print(f"wrote the report to {out} ({entry['bytes']} bytes, sha256 {entry['sha256'][:12]}…)")
