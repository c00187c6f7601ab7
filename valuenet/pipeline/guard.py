"""The agents' last line of defence: an error that escapes a batch stops the worker before offsets move.

faust's ``take``/``take_events`` acknowledge a batch's events when the agent's loop leaves the
batch, even when it leaves by an exception (the generator's ``finally``), and faust then restarts
the agent past them: the batch's effects would be lost. Per-record errors never get here (the
stage and the sink dead-letter them); what does get here (a bug, a Kafka send that failed for
good) stops the process at once, loudly, so the restarted worker re-reads the batch from the last
committed offset (at-least-once; dedupe by event id keeps effects idempotent). A cancelled batch
(shutdown) is left unacknowledged for the same reason.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from valuenet.schemas.dlq import DlqRecord, encode_dlq
from valuenet.schemas.limits import record_budget

__all__ = ["EXIT_BATCH_FAILED", "batch_guard", "dead_letter", "fatal"]

log = logging.getLogger(__name__)

#: Exit status of a worker stopped by an error that escaped a batch (EX_SOFTWARE).
EXIT_BATCH_FAILED = 70


def fatal(agent: str, exc: BaseException) -> NoReturn:
    """Log ``exc`` as critical and end the process now, before any offset of the batch is committed."""
    log.critical(
        "agent %s: unexpected error mid-batch; stopping the worker so the batch is re-read from the last "
        "committed offset (nothing acknowledged). Restart the worker; the error was:",
        agent,
        exc_info=exc,
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_BATCH_FAILED)


async def dead_letter(records: Sequence[DlqRecord]) -> None:
    """Log and publish dead letters on ``valuenet.dlq`` (key: network), each cut to fit the topic (``encode_dlq``)."""
    from valuenet.pipeline.app import dlq_topic, settings

    for dead in records:
        log.warning("dead letter: %s/%s field=%s reason=%s", dead.stage, dead.source, dead.field, dead.reason[:300])
        key = dead.network.encode()
        await dlq_topic.send(key=key, value=encode_dlq(dead, record_budget(settings.max_message_bytes, key)))


@contextmanager
def batch_guard(agent: str, events: Sequence[Any]) -> Iterator[None]:
    """Run one batch: an escaping error stops the worker (:func:`fatal`); a cancel leaves the batch unacknowledged."""
    try:
        yield
    except asyncio.CancelledError:
        for event in events:  # one more reference: take()'s final ack of this batch cannot reach zero
            event.message.incref()
        raise
    except Exception as exc:  # noqa: BLE001 - whatever escaped a batch stops the worker
        fatal(agent, exc)
