"""An outage's repeated client errors are logged with exponential backoff, each saying what it stood for."""

from __future__ import annotations

import logging

from valuenet.pipeline.logs import BackoffFilter


def record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
    """A log record as aiokafka would make it."""
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


def test_repeats_are_thinned_with_doubling_gaps_and_counted() -> None:
    now = [0.0]
    flt = BackoffFilter(clock=lambda: now[0])
    passed = []
    for step in range(3000):  # 30 s of a reconnect loop every 10 ms
        now[0] = step * 0.01
        rec = record("aiokafka.conn", "Unable connect to node with id %s: %s")
        if flt.filter(rec):
            passed.append((now[0], rec.msg))
    times = [t for t, _ in passed]
    assert times[:3] == [0.0, 1.0, 3.0] and len(passed) <= 7  # gaps 1, 2, 4, 8, 16 s
    assert "similar suppressed" in passed[1][1] and "99 similar" in passed[1][1]
    # other loggers, other messages and CRITICAL are never thinned
    assert flt.filter(record("valuenet.pipeline", "dead letter"))
    assert flt.filter(record("aiokafka.conn", "another message"))
    assert flt.filter(record("aiokafka.conn", "Unable connect to node with id %s: %s", logging.CRITICAL))


def test_a_kind_quiet_for_a_minute_starts_over() -> None:
    now = [0.0]
    flt = BackoffFilter(clock=lambda: now[0])
    assert flt.filter(record("aiokafka", "x"))
    now[0] = 0.5
    assert not flt.filter(record("aiokafka", "x"))
    now[0] = 100.0
    assert flt.filter(record("aiokafka", "x"))
