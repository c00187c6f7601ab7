"""``valuenet worker`` (the faust worker) and ``valuenet up`` (broker + worker + API + sample replay)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from rich.console import Console

from valuenet.ingest.samples import GIT_SAMPLE

console = Console(stderr=True)

SAMPLE_WINDOWS = '["30d", "365d", "3650d"]'
SAMPLE_DIRECTORY = GIT_SAMPLE.with_name("git-directory.yaml")


def worker(
    serve: bool = typer.Option(
        False, help="Also serve the API and dashboard from this process (needed with embedded chdb)."
    ),
    loglevel: str = typer.Option("warning", help="faust log level."),
) -> None:
    """Run a faust worker: the processors and analytics agents (joins the consumer group)."""
    from valuenet.pipeline.runtime import run_worker
    from valuenet.web.app import create_app

    run_worker(web=create_app if serve else None, loglevel=loglevel)


def up(
    sample: Path = typer.Option(GIT_SAMPLE, help="JSONL file to replay (default: the bundled git/git sample)."),
    source: str = typer.Option("git", help="Source format of the sample."),
    network: str = typer.Option("git-git", help="Network id for the replayed events."),
    rate: int = typer.Option(300, help="Replay at most this many events/s (0 = as fast as possible)."),
    replay: bool = typer.Option(True, help="Replay the sample after start."),
) -> None:
    """Start everything on this machine: Kafka (unless configured), a worker with the API, and replay the sample."""
    from valuenet.analytics.storage.server_store import redacted_url
    from valuenet.config import get_settings
    from valuenet.kafka_admin import ensure_topics
    from valuenet.localstack.kafka import start_broker, stop_broker

    settings = get_settings()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops everything too, like Ctrl-C
    started_broker = False
    procs: list[subprocess.Popen] = []
    try:
        if settings.kafka_bootstrap_servers:
            console.print(f"Kafka: using [bold]{settings.kafka_bootstrap_servers}[/] (KAFKA_BOOTSTRAP_SERVERS)")
        else:
            console.print("Kafka: starting the managed local broker …")
            started_broker = start_broker(settings)  # True only if this call started it
        ensure_topics(settings.bootstrap_servers, prefix=settings.topic_prefix)
        console.print(
            f"Storage: {'ClickHouse server ' + redacted_url(settings.clickhouse_url) if settings.clickhouse_url else 'embedded chdb at ' + str(settings.chdb_dir)}"
        )
        log_dir = settings.home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        worker_log = open(log_dir / "worker.log", "ab")
        env = dict(os.environ)
        if sample == GIT_SAMPLE and "VALUENET_WINDOWS" not in env:
            # the bundled sample is six years of history: look at it through longer windows
            env["VALUENET_WINDOWS"] = SAMPLE_WINDOWS
            console.print(f"Windows: {SAMPLE_WINDOWS} for the bundled history sample (set VALUENET_WINDOWS to change)")
        if sample == GIT_SAMPLE and "VALUENET_DIRECTORY_PATH" not in env:
            env["VALUENET_DIRECTORY_PATH"] = str(SAMPLE_DIRECTORY)
            console.print(f"Directory: {SAMPLE_DIRECTORY} (segments by e-mail domain)")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "valuenet.cli", "worker", "--serve"],
                stdout=worker_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        )
        url = f"http://{settings.api_host}:{settings.api_port}/"
        _wait_http(url + "healthz", procs[0], log_dir / "worker.log")
        console.print(
            f"\n[bold green]Dashboard:[/] {url}   API docs: {url}docs   worker log: {log_dir / 'worker.log'}\n"
        )
        if replay:
            cmd = [
                sys.executable,
                "-m",
                "valuenet.cli",
                "ingest",
                "replay",
                str(sample),
                "--source",
                source,
                "--network",
                network,
            ]
            if rate:
                cmd += ["--rate", str(rate)]
            subprocess.run(cmd, check=False)
            console.print(f"Replay done. Try: [bold]valuenet top --metric pagerank --network {network}[/]")
        console.print("Running. Press Ctrl-C to stop everything this command started.")
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        console.print("[red]The worker exited; see its log.[/]")
    except KeyboardInterrupt:
        console.print("\nStopping …")
    finally:
        for p in procs:
            _terminate(p)
        if started_broker:
            stop_broker(settings)
        console.print("Stopped.")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise typer.Exit(f"worker exited with code {proc.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise typer.Exit(f"worker API did not answer at {url} within {timeout:.0f}s; see {log}")


def _terminate(proc: subprocess.Popen, grace: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def register(app: typer.Typer) -> None:
    """Add ``worker`` and ``up`` to the main app."""
    app.command()(worker)
    app.command()(up)
