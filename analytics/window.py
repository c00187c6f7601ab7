"""Event-time rolling windows built from fixed-width buckets, and the late-event policy.

Time is event time (``Flow.timestamp``) in epoch seconds. The **watermark** is the largest
event time seen (or a larger value given to ``GraphStore.expire``). With bucket width ``B``
and watermark ``w``, bucket ``b(t) = floor(t / B)``; a window of length ``L`` (``L/B`` = ``nb``
buckets, rounded up) covers the buckets ``b(w) - nb + 1 .. b(w)``, i.e. the half-open
event-time range ``[(b(w) - nb + 1)·B, (b(w) + 1)·B)``.

Late events: an event with ``t < w - allowed_lateness`` is **late**: it is counted (per
watermark bucket, reported per window as ``late_events``) and not applied. Events within
the allowed lateness are applied to their own bucket, so every window containing that
bucket sees them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from valuenet.schemas.timeunits import parse_duration

__all__ = [
    "WindowSpec",
    "bucket_of",
    "is_late",
    "retained_buckets",
]


@dataclass(frozen=True)
class WindowSpec:
    """A rolling window: its name (``"1h"``), length in seconds and bucket count."""

    name: str
    seconds: int
    buckets: int

    @classmethod
    def parse(cls, name: str, bucket_seconds: int) -> WindowSpec:
        """Window ``name`` with ``ceil(seconds / bucket_seconds)`` buckets."""
        seconds = parse_duration(name)
        return cls(name=name, seconds=seconds, buckets=max(1, math.ceil(seconds / bucket_seconds)))

    def first_bucket(self, watermark_bucket: int) -> int:
        """Oldest bucket index inside the window when the watermark is in ``watermark_bucket``."""
        return watermark_bucket - self.buckets + 1

    def bounds(self, watermark_bucket: int, bucket_seconds: int) -> tuple[float, float]:
        """Event-time range ``[start, end)`` in epoch seconds covered by the window."""
        return (self.first_bucket(watermark_bucket) * bucket_seconds, (watermark_bucket + 1) * bucket_seconds)


def bucket_of(ts: float, bucket_seconds: int) -> int:
    """Bucket index ``floor(ts / bucket_seconds)``."""
    return int(ts // bucket_seconds)


def is_late(ts: float, watermark: float | None, allowed_lateness_seconds: float) -> bool:
    """True when ``ts < watermark - allowed_lateness`` (such an event is counted, not applied)."""
    return watermark is not None and ts < watermark - allowed_lateness_seconds


def retained_buckets(windows: list[WindowSpec], bucket_seconds: int, allowed_lateness_seconds: float) -> int:
    """Buckets kept behind the watermark bucket: the largest window or the lateness, whichever is longer."""
    late = math.ceil(allowed_lateness_seconds / bucket_seconds) + 1
    return max(max(w.buckets for w in windows), late)
