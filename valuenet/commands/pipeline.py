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

from valuenet.console import make_console
from valuenet.ingest.samples import GIT_SAMPLE

console = make_console(stderr=True)

SAMPLE_WINDOWS = '["30d", "365d", "3650d"]'
SAMPLE_DIRECTORY = GIT_SAMPLE.with_name("git-directory.yaml")
#: with the synthetic company beside the git history: a day for the live company, longer ones for git's history
DEMO_WINDOWS = '["24h", "30d", "365d", "3650d"]'
DEMO_NETWORK = "acme"
DEMO_SEED = 7


def worker(
    serve: bool = typer.Option(
        False, help="Also serve the API and dashboard from this process (needed with embedded chdb)."
    ),
    loglevel: str = typer.Option("warning", help="faust log level."),
) -> None:
    """Run a faust worker: the processors and analytics agents (joins the consumer group)."""
    if serve:  # refuse an unsafe bind in one line now, not with a traceback once the worker runs
        from valuenet.config import get_settings
        from valuenet.web.auth import InsecureBindError, require_token_for_host

        settings = get_settings()
        try:
            require_token_for_host(
                settings.api_host, settings.api_token.get_secret_value() if settings.api_token else None
            )
        except InsecureBindError as e:
            typer.secho(f"valuenet worker --serve: {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
    from valuenet.pipeline.runtime import run_worker
    from valuenet.processors.classify.model import ModelLoadError, default_model
    from valuenet.web.app import create_app

    try:
        default_model()  # at start: a model file that cannot be loaded stops the worker here, never mid-stream
    except ModelLoadError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    run_worker(web=create_app if serve else None, loglevel=loglevel)


def up(
    sample: Path = typer.Option(GIT_SAMPLE, help="JSONL file to replay (default: the bundled git/git sample)."),
    source: str = typer.Option("git", help="Source format of the sample."),
    network: str = typer.Option("git-git", help="Network id for the replayed events."),
    rate: int = typer.Option(300, help="Replay at most this many events/s (0 = as fast as possible)."),
    replay: bool = typer.Option(True, help="Replay the sample after start."),
    demo: bool = typer.Option(
        True,
        help="Also stream a synthetic company network (network 'acme': workforce, partners, customers and "
        "influencers on Slack, GitHub, Discourse, Mastodon, Bluesky, Zendesk): its history at once, then live.",
    ),
    demo_actors: int = typer.Option(300, help="Actors of the synthetic company."),
    demo_history: str = typer.Option("2d", help="Event-time history of the synthetic company sent at start."),
    demo_rate: float = typer.Option(0.1, help="Synthetic events per second of event time (history and live)."),
) -> None:
    """Start everything on this machine: Kafka (unless configured), a worker with the API, and replay the sample."""
    from valuenet.analytics.storage.server_store import redacted_url
    from valuenet.config import get_settings
    from valuenet.kafka_admin import ensure_topics
    from valuenet.localstack.kafka import start_broker, stop_broker
    from valuenet.service import stop_on_signals

    settings = get_settings()
    stop_on_signals()  # Ctrl-C, `kill -INT` and `kill` stop everything, even when started with `&` from a script
    started_broker = False
    procs: list[subprocess.Popen] = []
    feeders: list[subprocess.Popen] = []
    t_start = time.monotonic()
    try:
        if settings.kafka_bootstrap_servers:
            console.print(f"Kafka: using [bold]{settings.kafka_bootstrap_servers}[/] (KAFKA_BOOTSTRAP_SERVERS)")
        else:
            console.print("Kafka: starting the managed local broker …")
            started_broker = start_broker(settings)  # True only if this call started it
        ensure_topics(
            settings.bootstrap_servers,
            prefix=settings.topic_prefix,
            max_message_bytes=settings.max_message_bytes,
            dlq_retention_ms=settings.dlq_retention_ms,
        )
        console.print(
            f"Storage: {'ClickHouse server ' + redacted_url(settings.clickhouse_url) if settings.clickhouse_url else 'embedded chdb at ' + str(settings.chdb_dir)}"
        )
        log_dir = settings.home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        worker_log = open(log_dir / "worker.log", "ab")
        env = dict(os.environ)
        if demo and replay:
            env.setdefault("VALUENET_NETWORK", DEMO_NETWORK)  # the dashboard opens on the company network
        if sample == GIT_SAMPLE and demo and replay and "VALUENET_WINDOWS" not in env:
            env["VALUENET_WINDOWS"] = DEMO_WINDOWS
            console.print(f"Windows: {DEMO_WINDOWS} for the demo (set VALUENET_WINDOWS to change)")
        elif sample == GIT_SAMPLE and "VALUENET_WINDOWS" not in env:
            # the bundled sample is six years of history: look at it through longer windows
            env["VALUENET_WINDOWS"] = SAMPLE_WINDOWS
            console.print(f"Windows: {SAMPLE_WINDOWS} for the bundled history sample (set VALUENET_WINDOWS to change)")
        if demo and replay and "VALUENET_DIRECTORY_PATH" not in env:
            directory = demo_directory(settings.home / "demo" / "directory.yaml", demo_actors)
            env["VALUENET_DIRECTORY_PATH"] = str(directory)
            console.print(f"Directory: {directory} (git: segments by e-mail domain; {DEMO_NETWORK}: its people)")
        elif sample == GIT_SAMPLE and "VALUENET_DIRECTORY_PATH" not in env:
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
        if demo and replay:
            feeders.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "valuenet.cli", "ingest", "synth"),
                        *("--seed", str(DEMO_SEED), "--actors", str(demo_actors), "--rate", str(demo_rate)),
                        *("--history", demo_history, "--events", "0", "--network", DEMO_NETWORK),
                    ],
                    start_new_session=True,
                    env=env,
                )
            )
            console.print(
                f"Demo: synthetic company '{DEMO_NETWORK}' ({demo_actors} actors): {demo_history} of history now, "
                f"then live at {demo_rate:g} events/s"
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
            console.print(f"Sample replayed {time.monotonic() - t_start:.0f} s after start.")
            console.print(
                f"Replay done. Try: [bold]valuenet top --metric pagerank --network {network}[/] "
                "(the CLI asks this running service while it holds the store)"
            )
        console.print("Running. Press Ctrl-C to stop everything this command started.")
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        console.print("[red]The worker exited; see its log.[/]")
    except KeyboardInterrupt:
        console.print("\nStopping …")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for p in feeders + procs:
            _terminate(p)
        if started_broker:
            stop_broker(settings)
        console.print("Stopped.")


def demo_directory(path: Path, actors: int) -> Path:
    """Write the demo's identity directory: the git sample's domain rules plus the synthetic company's people."""
    import yaml

    from valuenet.ingest.synth import SynthNetwork

    doc = yaml.safe_load(SAMPLE_DIRECTORY.read_text(encoding="utf-8")) or {}
    fields = ("person", "name", "accounts", "emails", "team", "organisation", "segment")
    people = [
        {k: row[k] for k in fields if row.get(k)}
        for row in SynthNetwork(seed=DEMO_SEED, actors=actors, network=DEMO_NETWORK).directory_rows()
    ]
    # the company's own GitHub organisation (owner of the repositories issues are opened against)
    people.append(
        {
            "person": "acme-org",
            "name": "Acme (GitHub organisation)",
            "accounts": "github:acme",
            "segment": "workforce",
            "kind": "organisation",  # not a person: never ranked as one (docs/actor-kinds.md)
        }
    )
    doc["people"] = list(doc.get("people") or []) + people
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "# Written by `valuenet up`: rules of ingest/samples/git-directory.yaml + the synthetic company's people.\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    tmp.replace(path)
    return path


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            console.print(f"[red]worker exited with code {proc.returncode}; see {log}[/red]", highlight=False)
            raise typer.Exit(1)
        try:
            if httpx.get(url, timeout=1.0).status_code in (200, 503):  # 503: up, store writes blocked (it says why)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    console.print(f"[red]worker API did not answer at {url} within {timeout:.0f}s; see {log}[/red]", highlight=False)
    raise typer.Exit(1)


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
