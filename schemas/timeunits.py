"""The one place durations and event times are converted: ``parse_duration`` and ``to_epoch``.

Durations are ``<positive int><unit>`` with unit ``s``, ``m``, ``h``, ``d`` or ``w`` (``90s``,
``15m``, ``1h``, ``7d``; spaces around the number and unit are allowed): window names, export
windows, chart buckets, ``--history``.

Event times are epoch seconds. A datetime must carry a timezone: a naive one is refused
(``ValueError``) rather than read as local or UTC time, as the Interaction and Flow models
refuse it, so no stage can silently shift an event by the machine's UTC offset.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["DurationError", "parse_duration", "to_epoch"]

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


class DurationError(ValueError):
    """A duration or window name that cannot be used."""


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``90s``, ``15m``, ``1h``, ``7d``, ``1w``; raises DurationError."""
    m = _DURATION.match(text) if isinstance(text, str) else None
    if not m or int(m.group(1)) <= 0:
        raise DurationError(f"duration {text!r}: expected a positive number followed by s, m, h, d or w (e.g. 1h)")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def to_epoch(ts: datetime | float | int) -> float:
    """Epoch seconds of a timezone-aware datetime (numbers pass through); a naive datetime raises ValueError."""
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            raise ValueError(f"timestamp {ts!r} must carry a timezone")
        return ts.timestamp()
    return float(ts)
