"""Calm logs during an outage: repeated client errors are logged with exponential backoff, not per retry.

While the broker is down aiokafka logs every reconnect and metadata attempt (about 3,000 ERROR
lines in 30 s). :class:`BackoffFilter` lets the first record of each kind through, then the next
after 1 s, 2 s, 4 s … up to 60 s, each saying how many similar records it stood for; a kind that
has been quiet for 60 s starts over.
"""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["BackoffFilter", "calm_client_logs"]

#: Loggers whose repeated records are thinned (the Kafka clients and faust's consumer/producer).
NOISY = ("aiokafka", "kafka", "faust.transport", "faust.sensors", "faust.tables", "faust.agents")
FIRST_GAP_S = 1.0
MAX_GAP_S = 60.0


class BackoffFilter(logging.Filter):
    """Pass the first record of each (logger, level, message template), then one per doubling interval."""

    def __init__(self, prefixes: tuple[str, ...] = NOISY, clock=time.monotonic) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.clock = clock
        self._lock = threading.Lock()
        self._state: dict[tuple[str, int, str], list[float]] = {}  # key → [next allowed, gap, suppressed, last]

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit ``record`` (annotated with the count it stands for), False to drop it."""
        if record.levelno >= logging.CRITICAL or not record.name.startswith(self.prefixes):
            return True
        key = (record.name, record.levelno, str(record.msg)[:200])
        now = self.clock()
        with self._lock:
            state = self._state.get(key)
            if state is None or now - state[3] > MAX_GAP_S:
                self._state[key] = [now + FIRST_GAP_S, FIRST_GAP_S, 0, now]
                return True
            state[3] = now
            if now < state[0]:
                state[2] += 1
                return False
            suppressed = int(state[2])
            state[1] = min(state[1] * 2, MAX_GAP_S)
            state[0] = now + state[1]
            state[2] = 0
        if suppressed:
            record.msg = f"{record.msg} [{suppressed} similar suppressed; next in ≥{state[1]:.0f}s]"
        return True


def calm_client_logs() -> BackoffFilter:
    """Install one :class:`BackoffFilter` on every root handler (after faust set logging up); returns it."""
    flt = BackoffFilter()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, BackoffFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
