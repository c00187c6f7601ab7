"""``valuenet ingest replay|webhook|stream|synth``: get raw platform events into Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from valuenet.config import get_settings
from valuenet.console import make_console
from valuenet.schemas.interaction import Source

if TYPE_CHECKING:
    from valuenet.ingest.producer import RawProducer

app = typer.Typer(
    help="Get raw platform events into Kafka (valuenet.raw); bad input goes to valuenet.dlq.", no_args_is_help=True
)
console = make_console(stderr=True)


def _producer():
    from valuenet.ingest.producer import open_producer

    try:
        return open_producer(get_settings())
    except KeyboardInterrupt:
        console.print("interrupted while connecting to Kafka: nothing was sent")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as e:
        console.print(f"[red]error:[/] cannot reach Kafka at {get_settings().bootstrap_servers}: {e}")
        raise typer.Exit(1) from e


#: Exit code after Ctrl-C (128 + SIGINT), as a shell reports it.
EXIT_INTERRUPTED = 130


class _CtrlC:
    """First Ctrl-C: stop reading, stop waiting for Kafka (after a short grace) and save what it has not
    acknowledged; a second Ctrl-C stops at once. Installed on the main thread only."""

    def __init__(self, producer: RawProducer, on_first: Callable[[], None] | None = None) -> None:
        self.producer = producer
        self.on_first = on_first
        self.fired = False
        self._old: Any = None

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.fired:
            raise KeyboardInterrupt
        self.fired = True
        self.producer.interrupt()
        if self.on_first is not None:
            self.on_first()

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _undelivered_path(command: str) -> Path:
    """Where a command saves what Kafka did not acknowledge: ``$VALUENET_HOME/undelivered/<command>-<UTC>-<pid>.jsonl``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return get_settings().home / "undelivered" / f"{command}-{stamp}-{os.getpid()}.jsonl"


def _finish(producer: RawProducer, command: str, interrupted: bool, timeout: float | None = None) -> None:
    """Close the producer and report delivery: every event acknowledged, or how many were not and the file
    holding them. Exits 130 after Ctrl-C (one line), 1 when Kafka refused records, else returns."""
    try:
        producer.close(timeout=timeout)
    except KeyboardInterrupt:  # a second Ctrl-C while closing: stop waiting
        producer.interrupt()
        interrupted = True
        producer.close(timeout=0)
    counts = producer.undelivered_counts()
    saved = ""
    if counts["events"] or counts["dlq"]:
        path = _undelivered_path(command)
        producer.save_undelivered(path)
        dlq = f" (+{counts['dlq']:,} dead letters in {path.stem}.dlq.jsonl)" if counts["dlq"] else ""
        saved = (
            f"{counts['events']:,} not acknowledged saved to {path}{dlq}; "
            f"`valuenet ingest replay {path}` re-sends them (duplicates are dropped by event id)"
        )
    if interrupted:
        tail = saved or "nothing left unacknowledged"
        console.print(
            f"interrupted: Kafka acknowledged {producer.delivered:,} of {producer.sent:,} events; {tail}",
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if saved:
        console.print(f"[red]error:[/] Kafka refused records: {saved}", highlight=False)
        raise typer.Exit(1)


def _source(value: str | None) -> Source | None:
    if value is None:
        return None
    try:
        return Source(value)
    except ValueError:
        raise typer.BadParameter(f"unknown source {value!r}; one of {', '.join(s.value for s in Source)}") from None


@app.command()
def replay(
    path: Path = typer.Argument(
        ..., exists=True, help="File (NDJSON/JSON/CSV, .gz ok) or directory (Slack export, git repo)."
    ),
    source: str | None = typer.Option(
        None, "--source", "-s", help="Platform of the payloads (not needed for stored envelopes)."
    ),
    network: str | None = typer.Option(None, "--network", "-n", help="Network id (default VALUENET_NETWORK)."),
    rate: float | None = typer.Option(None, "--rate", help="Cap: events per second."),
    speedup: float | None = typer.Option(None, "--speedup", help="Replay at event time × X."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Tail a growing NDJSON file (Ctrl-C to stop)."),
    idle_exit: float | None = typer.Option(
        None, "--idle-exit", help="With --follow: stop after this many idle seconds."
    ),
    limit: int | None = typer.Option(None, "--limit", help="Stop after this many payloads."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Replay a file or directory: validate each payload with its parser, send the raw envelope to valuenet.raw."""
    from valuenet.ingest.replay import replay as run_replay

    if rate is not None and speedup is not None:
        raise typer.BadParameter("give --rate or --speedup, not both")
    src = _source(source)
    settings = get_settings()
    producer = _producer()
    stop = threading.Event()
    with (
        Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,
        _CtrlC(producer, stop.set) as ctrl_c,
    ):
        task = progress.add_task(f"replay {path.name}", detail="", total=None)

        def show(st) -> None:
            progress.update(
                task,
                detail=f"sent {st.sent:,}  acknowledged {producer.delivered:,}  rejected {st.rejected:,}  "
                f"{st.events_per_s:,.0f} ev/s",
            )

        def waiting(unacked: int, waited_s: float) -> None:
            progress.update(
                task,
                detail=f"Kafka unreachable: {unacked:,} events not acknowledged for {waited_s:,.0f} s, "
                "retrying (Ctrl-C saves them and stops)",
            )

        producer.on_wait = waiting
        try:
            stats = run_replay(
                path,
                producer,
                source=src,
                network=network,
                default_network=settings.network,
                rate=rate,
                speedup=speedup,
                follow=follow,
                stop=stop,
                idle_exit_s=idle_exit,
                limit=limit,
                on_progress=show,
            )
        except ValueError as e:
            producer.close(timeout=0)
            console.print(f"[red]error:[/] {e}")
            raise typer.Exit(2) from e
        _finish(producer, "replay", ctrl_c.fired or stats.interrupted)
    summary = stats.as_dict()
    summary["delivered"] = producer.delivered
    if as_json:
        typer.echo(json.dumps(summary))
        return
    table = Table(title=f"replay {path}", show_header=False)
    for key in ("sent", "delivered", "rejected", "interactions", "elapsed_s", "events_per_s"):
        table.add_row(key, f"{summary[key]:,}")
    for kind, n in summary["per_kind"].items():
        table.add_row(f"  kind {kind}", f"{n:,}")
    for fld, n in summary["rejected_fields"].items():
        table.add_row(f"  rejected field {fld}", f"{n:,}")
    make_console().print(table)


@app.command()
def webhook(
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    port: int = typer.Option(8090, help="Port."),
    network: str | None = typer.Option(
        None, "--network", "-n", help="Network of routes not in VALUENET_WEBHOOK_NETWORKS (default: VALUENET_NETWORK)."
    ),
    max_body_bytes: int = typer.Option(
        1_000_000,
        help="Refuse larger bodies with 413 (unverifiable: nothing is written); "
        "keep it under the broker's message.max.bytes.",
    ),
) -> None:
    """HTTP receiver for Slack, GitHub, Discourse, Zendesk and generic JSON; 2xx only after Kafka acknowledged.

    Secrets: VALUENET_SLACK_SIGNING_SECRET, VALUENET_GITHUB_WEBHOOK_SECRET, VALUENET_DISCOURSE_WEBHOOK_SECRET,
    VALUENET_ZENDESK_WEBHOOK_SECRET, VALUENET_GENERIC_WEBHOOK_TOKEN (a route without its secret answers 401).
    """
    import uvicorn

    from valuenet.ingest.webhook import WebhookSecrets, create_app

    settings = get_settings()
    producer = _producer()
    app_ = create_app(
        producer.send_and_wait,
        secrets=WebhookSecrets(),
        network=network or settings.network,
        send_dlq=producer.send_dlq_record,
        max_body_bytes=max_body_bytes,
        networks=settings.webhook_networks,
        ack_timeout_s=settings.webhook_ack_timeout_seconds,
    )
    console.print(f"webhook receiver on http://{host}:{port} → {settings.bootstrap_servers}")
    try:
        uvicorn.run(app_, host=host, port=port, log_level="info")
    finally:  # every 2xx was acknowledged; what is still in flight was answered 503 (the sender retries it)
        _finish(producer, "webhook", False, timeout=settings.webhook_ack_timeout_seconds)


@app.command()
def stream(
    platform: str = typer.Argument(..., help="mastodon or jetstream."),
    url: str = typer.Argument(..., help="WebSocket URL (wss://…/api/v1/streaming?stream=public, wss://…/subscribe?…)."),
    network: str | None = typer.Option(None, "--network", "-n", help="Network id (default VALUENET_NETWORK)."),
    max_frames: int | None = typer.Option(None, "--max-frames", help="Stop after this many frames."),
) -> None:
    """Stream Mastodon or Bluesky Jetstream over WebSocket into valuenet.raw, resuming from a persisted cursor.

    Mastodon's access token comes from VALUENET_MASTODON_TOKEN; the cursor file lives in $VALUENET_HOME/cursors/.
    """
    from valuenet.ingest.stream import CursorStore, StreamClient

    kind: Literal["mastodon", "jetstream"]
    if platform == "mastodon":
        kind = "mastodon"
    elif platform == "jetstream":
        kind = "jetstream"
    else:
        raise typer.BadParameter("platform: mastodon or jetstream")
    settings = get_settings()
    producer = _producer()
    store = CursorStore.for_url(settings.home, kind, url)
    client = StreamClient(
        kind,
        url,
        producer,
        network=network or settings.network,
        cursor_store=store,
        token=os.environ.get("VALUENET_MASTODON_TOKEN"),
    )
    console.print(f"{platform} stream {url} (cursor file {store.path}, resume cursor {client.stats.cursor})")
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def run() -> object:
        stop = asyncio.Event()
        running.append((asyncio.get_running_loop(), stop))
        return await client.run(stop, max_frames=max_frames)

    def stop_stream() -> None:
        for loop, stop in running:
            loop.call_soon_threadsafe(stop.set)

    with _CtrlC(producer, stop_stream) as ctrl_c:
        try:
            asyncio.run(run())
        except KeyboardInterrupt:  # a second Ctrl-C
            ctrl_c.fired = True
        stats = client.stats
        console.print(
            f"frames {stats.frames:,}  sent {stats.sent:,}  skipped {stats.skipped:,}  "
            f"rejected {stats.rejected:,}  connections {stats.connections}  cursor {stats.cursor}"
        )
        _finish(producer, "stream", ctrl_c.fired)


@app.command()
def synth(
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same events."),
    actors: int = typer.Option(200, "--actors", help="Number of actors (≥ 20)."),
    rate: float = typer.Option(
        1.0,
        "--rate",
        help="Events per second of event time (also the send pace to Kafka). "
        "Answers come hours later: keep events/rate well above a few hours for them to land.",
    ),
    events: int | None = typer.Option(
        None, "--events", help="How many events (default: 100 per actor; 0 = forever, Kafka only)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write events.jsonl, truth.json, directory.csv here instead of Kafka."
    ),
    start: str | None = typer.Option(
        None, "--start", help="Event-time start (ISO 8601). Default: 2026-01-05T09:00Z with --out, now for Kafka."
    ),
    speedup: float = typer.Option(1.0, "--speedup", help="Kafka: send at event time × X."),
    no_pace: bool = typer.Option(False, "--no-pace", help="Kafka: send as fast as possible."),
    network: str = typer.Option("synth", "--network", "-n", help="Network id of the synthetic network."),
    truth: Path | None = typer.Option(None, "--truth", help="Kafka: write the ground truth JSON here at the end."),
    history: str | None = typer.Option(
        None,
        "--history",
        help="Kafka: start this long before now (e.g. 3d), send that history at once, then continue live in real time.",
    ),
) -> None:
    """Generate a synthetic value network (planted silos, brokers, cascades, questions, ideas) in real payload formats."""
    from valuenet.ingest.synth import DEFAULT_START, SynthNetwork, write_dataset

    now = datetime.now(UTC).replace(microsecond=0)
    if history is not None:
        from valuenet.schemas.timeunits import DurationError, parse_duration

        if start is not None or out is not None:
            raise typer.BadParameter("--history cannot be combined with --start or --out")
        try:
            t0 = now - timedelta(seconds=parse_duration(history))
        except DurationError as e:
            raise typer.BadParameter(f"--history: {e}") from e
    elif start is not None:
        t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
        t0 = t0 if t0.tzinfo else t0.replace(tzinfo=UTC)
    elif out is not None:
        t0 = DEFAULT_START
    else:
        t0 = now
    try:
        gen = SynthNetwork(seed=seed, actors=actors, rate=rate, start=t0, network=network)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    n = actors * 100 if events is None else events
    if out is not None:
        if n <= 0:
            raise typer.BadParameter("--events must be positive with --out")
        written = write_dataset(gen, out, n)
        console.print(
            f"wrote {written['events']:,} events to {out / 'events.jsonl'} "
            f"({', '.join(f'{k} {v:,}' for k, v in written['events_per_source'].items())}); "
            f"ground truth {out / 'truth.json'}; directory {out / 'directory.csv'}"
        )
        return
    from valuenet.ingest.producer import DeliveryInterrupted

    producer = _producer()
    t_wall = time.monotonic()
    anchor = now if history is not None else t0  # with --history, events before now are due at once
    sent = 0
    live = False
    stop = threading.Event()
    with _CtrlC(producer, stop.set) as ctrl_c:
        try:
            for env in gen.envelopes(n if n > 0 else None):
                if stop.is_set():
                    break
                if not no_pace:
                    due = t_wall + (env.received_at - anchor).total_seconds() / speedup
                    delay = due - time.monotonic()
                    if delay > 0:
                        if not live and history is not None:
                            console.print(
                                f"sent {sent:,} events of history ({history}); continuing live (Ctrl-C stops)"
                            )
                        live = True
                        if stop.wait(delay):
                            break
                producer.send(env)
                sent += 1
                if sent % 10_000 == 0:
                    console.print(f"sent {sent:,}  acknowledged {producer.delivered:,}")
        except (KeyboardInterrupt, DeliveryInterrupted):
            ctrl_c.fired = True
        if truth is not None:
            truth.write_text(json.dumps(gen.ground_truth(), indent=1, ensure_ascii=False), encoding="utf-8")
        if not ctrl_c.fired:
            console.print(f"sent {sent:,} synthetic events to valuenet.raw (network {network}); waiting for Kafka")
        _finish(producer, "synth", ctrl_c.fired)
    console.print(f"Kafka acknowledged all {producer.delivered:,} synthetic events (network {network})")
