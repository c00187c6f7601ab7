"""``valuenet export``: one export now, or the periodic exports of the configuration."""

from __future__ import annotations

from pathlib import Path

import typer

from valuenet.config import get_settings


def register(app: typer.Typer) -> None:
    """Add ``valuenet export`` to the main app."""

    @app.command()
    def export(
        what: str = typer.Option(None, "--what", help="actors | tunnels | network | flows | graph"),
        window: str = typer.Option(
            None,
            "--window",
            help="A stored window (default: the network's first stored one); an unknown one is refused with the list.",
        ),
        fmt: str = typer.Option(None, "--format", help="csv | parquet | json (tables); gexf | graphml | json (graph)."),
        out: Path = typer.Option(None, "--out", help="Output file (written atomically)."),
        network: str = typer.Option(
            None, "--network", help="Network id (default VALUENET_NETWORK if it has data, else the latest ticked)."
        ),
        k: int = typer.Option(None, "--k", help="Suppress groups smaller than k (default VALUENET_EXPORT_K)."),
        schedule: bool = typer.Option(
            False,
            "--schedule",
            help="Run the [[exports]] cron jobs of the configuration into VALUENET_EXPORT_DIR until stopped.",
        ),
        once: bool = typer.Option(False, "--once", help="With --schedule: run every configured job once now and exit."),
    ) -> None:
        """Export metrics, tunnels, flows or the graph for analysts.

        Example: ``valuenet export --what graph --window 24h --format gexf --out net.gexf``.
        """
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from valuenet.analytics.exports import FORMATS, WHAT, Exporter, ExportError, load_jobs, run_jobs, run_schedule
        from valuenet.analytics.storage.reader import Reader
        from valuenet.commands.query import run_with_source
        from valuenet.commands.source import LocalSource, RemoteSource, SourceError
        from valuenet.console import make_console

        settings = get_settings()
        console = make_console(stderr=True)
        k_ = settings.export_k if k is None else k
        if schedule:
            try:
                jobs = load_jobs()
            except ExportError as e:
                console.print(f"[red]{e}[/red]", highlight=False)
                raise typer.Exit(2) from None
            if not jobs:
                console.print("[red]no [[exports]] jobs in the configuration (VALUENET_CONFIG / ./valuenet.toml)[/red]")
                raise typer.Exit(2)
            if settings.export_dir is None:
                console.print("[red]set VALUENET_EXPORT_DIR for periodic exports[/red]")
                raise typer.Exit(2)
            export_dir = settings.export_dir

            def scheduled(src: LocalSource | RemoteSource) -> None:
                from valuenet.analytics.exports import export as export_table
                from valuenet.commands.report import announce, fetch_report, report_exporter

                reader: Reader | Exporter
                if isinstance(src, LocalSource):
                    local = src.reader

                    def table(what: str, fmt: str, window: str, net: str, out: Path, k: int) -> dict:
                        return export_table(local, what, fmt, window, net, out, k)

                    reader = report_exporter(local, table)  # what = "report" jobs: valuenet.commands.report
                else:  # the running service holds the store: each file through its /api/export (/api/report)
                    remote = src

                    def reader(what: str, fmt: str, window: str, net: str, out: Path, k: int) -> dict:
                        if what == "report":
                            return fetch_report(remote, net, window, None, out)
                        return remote.export(what, fmt, window, net, out, k, lambda done, total: None)

                def ran(path: Path) -> None:
                    console.print(f"exported into {path}")
                    announce(path)  # scheduled reports to Slack when configured (retried, logged)

                net = network or settings.network
                try:
                    if once:
                        path = run_jobs(reader, jobs, export_dir, net, k_)
                        console.print(f"exported {len(jobs)} file(s) into {path}")
                        announce(path)
                    else:
                        console.print(f"running {len(jobs)} export job(s) into {export_dir}; Ctrl-C to stop")
                        run_schedule(reader, jobs, export_dir, net, k_, on_run=ran)
                except KeyboardInterrupt:
                    pass
                except ExportError as e:
                    raise SourceError(str(e)) from None

            run_with_source(scheduled)
            return

        missing = [n for n, v in (("--what", what), ("--format", fmt), ("--out", out)) if v is None]
        if missing:
            console.print(f"[red]missing {', '.join(missing)} (or use --schedule)[/red]")
            raise typer.Exit(2)
        if what not in WHAT:
            console.print(f"[red]--what must be one of {', '.join(WHAT)}[/red]")
            raise typer.Exit(2)
        if fmt not in FORMATS[what]:
            console.print(f"[red]--format for {what} must be one of {', '.join(FORMATS[what])}[/red]")
            raise typer.Exit(2)

        def one(src: LocalSource | RemoteSource) -> dict:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                disable=not console.is_terminal,
            ) as bar:
                task = bar.add_task(f"{what} → {out.name}", total=None)

                def step(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=max(total, 1))

                try:
                    return src.export(what, fmt, window, network, out, k_, step)
                except ExportError as e:
                    raise SourceError(str(e)) from None

        entry = run_with_source(one)
        note = f", {entry['suppressed']} group(s) under k={k_} suppressed" if entry["suppressed"] else ""
        console.print(
            f"wrote {entry['rows']} rows ({entry['network']} · {entry['window']}) to {out} "
            f"({entry['bytes']} bytes, sha256 {entry['sha256'][:12]}…){note}",
            highlight=False,
        )
