"""``valuenet dlq list|show|replay``: read the dead-letter topic and re-send dead-lettered raw records."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import typer

from valuenet.config import Settings, get_settings

app = typer.Typer(
    help="Dead letters (valuenet.dlq): list them, show one, re-send raw records to valuenet.raw.",
    no_args_is_help=True,
)


def since_ms(text: str | None) -> int | None:
    """``--since``: a duration back from now (``2h``, ``7d``) or an ISO date/time (UTC when no zone) → epoch ms."""
    if text is None:
        return None
    from valuenet.schemas.timeunits import DurationError, parse_duration

    try:
        return int((time.time() - parse_duration(text)) * 1000)
    except DurationError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: give a duration (30m, 2h, 7d) or an ISO date/time") from None
    if when.tzinfo is None:
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _reader(settings: Settings) -> Any:
    from valuenet.ingest.dlq import DlqReader

    return DlqReader(settings.bootstrap_servers, settings.topic("dlq"))


def _retention_text(settings: Settings) -> str:
    """The dlq topic's retention as the broker has it (``?`` when it cannot be read)."""
    from valuenet.kafka_admin import topic_retention_ms

    try:
        ms = topic_retention_ms(settings.bootstrap_servers, settings.topic("dlq"), timeout_s=5.0)
    except Exception:  # noqa: BLE001 - only a note in the header line
        return "retention ?"
    return "kept forever" if ms < 0 else f"retention {ms / 86_400_000:g} days"


@app.command("list")
def list_(
    since: str = typer.Option(None, "--since", help="Only dead letters written since: 2h, 7d or an ISO date/time."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many (the newest)."),
    before: str = typer.Option(None, "--before", help="The page before this cursor (the `next` of a previous page)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document instead of a table."),
) -> None:
    """List dead letters, newest first: id (PARTITION:OFFSET), time, stage/source, network, field, reason."""
    from valuenet.ingest.dlq import DlqError, parse_cursor

    settings = get_settings()
    try:
        cursor = parse_cursor(before) if before else None
        start = since_ms(since)
    except ValueError as e:
        raise _fail(str(e), 2) from None
    try:
        with _reader(settings) as reader:
            page = reader.page(limit=limit, since_ms=start, before=cursor)
    except DlqError as e:
        raise _fail(f"valuenet dlq: {e}") from None
    if as_json:
        doc = {
            "topic": settings.topic("dlq"),
            "retained": page.retained,
            "dead_letters": [d.as_dict() for d in page.items],
            "next": page.next,
        }
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{settings.topic('dlq')}: {page.retained} dead letters retained ({_retention_text(settings)})")
    for d in page.items:
        v = d.as_dict()
        what = f"{v.get('stage', '?')}/{v.get('source', '?')}"
        reason = " ".join(str(v.get("reason") or v.get("error") or "").split())[:140]
        mark = "replayable" if v["replayable"] else "-"
        typer.echo(
            f"{d.id:<10} {v['timestamp'][:19]}  {what:<20} {str(v.get('network', ''))[:24]:<24} "
            f"{str(v.get('field', ''))[:24]:<24} {mark:<10}  {reason}"
        )
    if page.next:
        typer.echo(f"more: valuenet dlq list --before {page.next}")


@app.command()
def show(ident: str = typer.Argument(..., metavar="ID", help="PARTITION:OFFSET or OFFSET (partition 0).")) -> None:
    """Show one dead letter in full (the record as it was dead-lettered) as JSON."""
    from valuenet.ingest.dlq import DlqError, DlqNotFound

    settings = get_settings()
    try:
        with _reader(settings) as reader:
            d = reader.get(ident)
    except ValueError as e:
        raise _fail(str(e), 2) from None
    except DlqNotFound as e:
        raise _fail(f"valuenet dlq show: {e}") from None
    except DlqError as e:
        raise _fail(f"valuenet dlq: {e}") from None
    typer.echo(json.dumps(d.as_dict(full=True), ensure_ascii=False, indent=2))


@app.command()
def replay(
    ids: list[str] = typer.Option(None, "--ids", help="Dead letters to replay (repeat, or comma-separate)."),
    all_: bool = typer.Option(False, "--all", help="Every retained dead letter (with --since: those since)."),
    since: str = typer.Option(None, "--since", help="With --all: only dead letters written since (2h, 7d, ISO)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be sent; send nothing."),
    as_json: bool = typer.Option(False, "--json", help="The report as JSON."),
) -> None:
    """Re-send the original raw records of dead letters to valuenet.raw (e.g. after a parser fix).

    Idempotent: the processors drop events they already hold (dedupe by event id). Exit 1 when a
    record could not be delivered or a dead letter named with --ids cannot be replayed.
    """
    from kafka.errors import KafkaError

    from valuenet.ingest.dlq import DeadLetter, DlqError, DlqNotFound, DlqReader, ReplayReport
    from valuenet.ingest.dlq import replay as replay_letters

    settings = get_settings()
    wanted = [i for raw in ids or [] for i in raw.split(",") if i.strip()]
    if bool(wanted) == all_:
        raise _fail("valuenet dlq replay: give --ids ID[,ID...] or --all", 2)
    try:
        start = since_ms(since)
    except ValueError as e:
        raise _fail(str(e), 2) from None
    missing: list[tuple[str, str]] = []
    report = ReplayReport()

    def named(reader: DlqReader) -> Iterator[DeadLetter]:
        for ident in wanted:
            try:
                yield reader.get(ident)
            except (ValueError, DlqNotFound) as e:
                missing.append((ident, str(e)))

    interrupted = False
    try:
        with _reader(settings) as reader:  # streamed: one dead letter in memory at a time
            letters = reader.scan(start) if all_ else named(reader)
            if dry_run:
                replay_letters(letters, lambda env: None, report)
            else:
                from valuenet.ingest.producer import open_producer

                with open_producer(settings, batch_envelopes=1, linger_ms=0) as producer:
                    replay_letters(letters, producer.send_and_wait, report)
    except DlqError as e:
        raise _fail(f"valuenet dlq: {e}") from None
    except KafkaError as e:  # the producer could not reach the cluster
        raise _fail(f"valuenet dlq replay: Kafka at {settings.bootstrap_servers}: {type(e).__name__}: {e}") from None
    except KeyboardInterrupt:
        interrupted = True  # what was sent so far is reported below
    report.skipped.extend(missing)
    if as_json:
        typer.echo(json.dumps({"dry_run": dry_run, **report.as_dict()}, ensure_ascii=False, indent=2))
    else:
        verb = "would re-send" if dry_run else "re-sent"
        typer.echo(f"{verb} {len(report.sent)} raw records to {settings.topic('raw')}: {', '.join(report.sent) or '-'}")
        for i, why in report.skipped:
            typer.echo(f"skipped {i}: {why}")
        for i, err in report.failed:
            typer.secho(f"not delivered {i}: {err}", fg=typer.colors.RED, err=True)
    if interrupted:
        raise _fail("valuenet dlq replay: interrupted; the records listed above were sent", 130)
    explicit_skips = bool(wanted) and any(not why.startswith("same record") for _, why in report.skipped)
    if report.failed or explicit_skips:
        raise typer.Exit(1)
