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
        window: str = typer.Option(None, "--window", help="Window, one of VALUENET_WINDOWS (default: the first)."),
        fmt: str = typer.Option(None, "--format", help="csv | parquet | json (tables); gexf | graphml | json (graph)."),
        out: Path = typer.Option(None, "--out", help="Output file (written atomically)."),
        network: str = typer.Option(None, "--network", help="Network id (default VALUENET_NETWORK)."),
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
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from valuenet.analytics.exports import FORMATS, WHAT, ExportError, load_jobs, run_jobs, run_schedule
        from valuenet.analytics.exports import export as do_export
        from valuenet.analytics.storage import open_store
        from valuenet.analytics.storage.reader import Reader

        settings = get_settings()
        console = Console(stderr=True)
        k_ = settings.export_k if k is None else k
        net = network or settings.network
        if schedule:
            try:
                jobs = load_jobs()
            except ExportError as e:
                console.print(f"[red]{e}[/red]")
                raise typer.Exit(2) from None
            if not jobs:
                console.print("[red]no [[exports]] jobs in the configuration (VALUENET_CONFIG / ./valuenet.toml)[/red]")
                raise typer.Exit(2)
            if settings.export_dir is None:
                console.print("[red]set VALUENET_EXPORT_DIR for periodic exports[/red]")
                raise typer.Exit(2)
            store = open_store(settings)
            reader = Reader(store)
            try:
                if once:
                    path = run_jobs(reader, jobs, settings.export_dir, net, k_)
                    console.print(f"exported {len(jobs)} file(s) into {path}")
                else:
                    console.print(f"running {len(jobs)} export job(s) into {settings.export_dir}; Ctrl-C to stop")
                    run_schedule(
                        reader, jobs, settings.export_dir, net, k_, on_run=lambda p: console.print(f"exported into {p}")
                    )
            except KeyboardInterrupt:
                pass
            finally:
                store.close()
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
        w = window or settings.windows[0]
        if w not in settings.windows:
            console.print(f"[red]--window must be one of {', '.join(settings.windows)}[/red]")
            raise typer.Exit(2)
        store = open_store(settings)
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                task = bar.add_task(f"{what} {w} → {out.name}", total=None)

                def step(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=max(total, 1))

                entry = do_export(Reader(store), what, fmt, w, net, out, k_, progress=step)
        finally:
            store.close()
        note = f", {entry['suppressed']} group(s) under k={k_} suppressed" if entry["suppressed"] else ""
        console.print(
            f"wrote {entry['rows']} rows to {out} ({entry['bytes']} bytes, sha256 {entry['sha256'][:12]}…){note}"
        )
