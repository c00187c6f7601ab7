"""Dedupe by event id with bounded memory: count- and event-time-bounded, O(1) amortised per event.

Replaying any part of a topic must change no metric, so the processors drop an
event whose id they have already seen. :class:`Deduper` remembers ids in
insertion order together with the event-time **watermark** (the largest event
timestamp seen so far) at the moment each id was first seen. An id is forgotten
when either

- more than ``capacity`` ids are held (the oldest insertion goes first), or
- the watermark has moved more than ``retention`` seconds past the watermark at
  which the id was recorded.

Because the recorded watermark never decreases along the insertion order, the
expired ids are always at the front, and eviction is a pop from the front
(amortised O(1)). Out-of-order and reverse-chronological replays (``git log`` is
newest first) do not advance the watermark, so nothing expires early; they are
bounded by ``capacity`` alone.

After a restart, :func:`warm` (or :meth:`Deduper.warm`) loads the ids already
stored (for example ``SELECT event_id, timestamp FROM interactions WHERE network
= %(n)s AND timestamp >= %(since)s ORDER BY timestamp``) so a replay from the
committed offsets double-counts nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta

from valuenet.schemas.timeunits import to_epoch

__all__ = ["DEFAULT_CAPACITY", "DEFAULT_RETENTION_S", "Deduper", "warm"]

DEFAULT_CAPACITY = 1_000_000
"""Ids held at most (≈ 120 bytes each for 40-character ids: ~120 MB at the default)."""
DEFAULT_RETENTION_S = 8 * 24 * 3600.0
"""Event-time retention: the longest rolling window (7 d) plus a day of lateness."""


class Deduper:
    """Remembers recently seen event ids; ``seen()`` answers and records in one step.

    Parameters
    ----------
    capacity:
        Most ids held (default :data:`DEFAULT_CAPACITY`); must be ≥ 1.
    retention:
        Seconds (or a timedelta) of event-time watermark progress after which an id is
        forgotten (default :data:`DEFAULT_RETENTION_S`); must be > 0.
    """

    __slots__ = ("capacity", "retention", "_ids", "_watermark", "evicted")

    def __init__(self, capacity: int = DEFAULT_CAPACITY, retention: float | timedelta = DEFAULT_RETENTION_S) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        retention_s = retention.total_seconds() if isinstance(retention, timedelta) else float(retention)
        if retention_s <= 0:
            raise ValueError(f"retention must be > 0 seconds, got {retention_s}")
        self.capacity = capacity
        self.retention = retention_s
        self._ids: OrderedDict[str, float] = OrderedDict()
        self._watermark = float("-inf")
        self.evicted = 0

    def seen(self, event_id: str, ts: datetime | float | int) -> bool:
        """True if ``event_id`` was seen within the bounds (a duplicate), else record it and return False."""
        ids = self._ids
        if event_id in ids:
            return True
        t = ts if type(ts) is float else to_epoch(ts)
        if t > self._watermark:
            self._watermark = t
            ids[event_id] = t
            self._evict()  # the horizon moved: expired ids may be at the front
        else:
            ids[event_id] = self._watermark
            if len(ids) > self.capacity:  # the horizon did not move: only the count can evict
                self._evict()
        return False

    def __contains__(self, event_id: object) -> bool:
        """Whether ``event_id`` is currently remembered (does not record it)."""
        return event_id in self._ids

    def __len__(self) -> int:
        """Number of ids held."""
        return len(self._ids)

    @property
    def watermark(self) -> float:
        """Largest event time seen, unix seconds (``-inf`` before the first event)."""
        return self._watermark

    def warm(self, items: Iterable[tuple[str, datetime | float | int]]) -> int:
        """Record stored ``(event_id, ts)`` pairs (best in time order); returns how many were new."""
        added = 0
        for event_id, ts in items:
            if not self.seen(event_id, ts):
                added += 1
        return added

    def _evict(self) -> None:
        ids = self._ids
        while len(ids) > self.capacity:
            ids.popitem(last=False)
            self.evicted += 1
        horizon = self._watermark - self.retention
        while ids:
            first = next(iter(ids))
            if ids[first] >= horizon:
                break
            del ids[first]
            self.evicted += 1


def warm(deduper: Deduper, items: Iterable[tuple[str, datetime | float | int]]) -> int:
    """Load stored ``(event_id, ts)`` pairs into ``deduper`` after a restart; returns how many were new."""
    return deduper.warm(items)
