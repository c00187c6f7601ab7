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

Jumps (:class:`JumpHold`, in front of the late policy): one record cannot move the watermark.
With ``J = watermark_max_jump_seconds`` and ``k = watermark_confirmations``, a flow of lane ``l``
with event time ``t`` is

- **applied** (judged by the late policy above) when ``w(l)`` is unknown or ``t <= w(l) + J``;
- **held** when ``t > w(l) + J``: it neither moves ``w(l)`` nor the windows, and is counted in
  ``held_events``. Held flows are released, in event-time order, as soon as ``w(l) + J >= t``
  (the lane caught up: applied like any flow, usually not late), or all at once when the flows of ``k``
  events in a row arrived held in the lane (one event's flows share the event id before ``#``) (the stream really jumped: a gap longer than ``J`` then steady traffic).

``w(l)`` is the lane's watermark, the largest applied event time of the lane (the network's watermark
for a lane not seen yet). So a single outlier (a commit re-dated to yesterday inside a years-old
history) is held and reported, and the history's windows stay as they were; a jump of at most ``J``
moves the watermark at once, as before. Cost: after a real silence longer than ``J`` the first
``k - 1`` flows wait for the ``k``-th. A re-delivery of a held flow is a duplicate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from valuenet.schemas.timeunits import parse_duration

__all__ = [
    "JumpHold",
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


class _LaneHold:
    """Flows of one lane held ahead of its watermark, and how many arrived ahead in a row."""

    __slots__ = ("held", "streak", "last")

    def __init__(self) -> None:
        self.held: dict[str, tuple[float, Any]] = {}  # event id → (event time, flow)
        self.streak = 0  # events (not flows: one event's flows share the id before '#') held in a row
        self.last: str | None = None  # the source event of the last flow held


class JumpHold:
    """The jump guard in front of the watermark: one record cannot move it (module docstring, "Jumps").

    ``max_jump_seconds`` J (None: off) and ``confirmations`` k. :meth:`admit` takes a batch in arrival
    order and returns the flows to apply now, in order: flows within J of their lane's watermark
    (running, the batch included) pass; a flow further ahead is held; held flows are released (in event-time
    order) once the lane's watermark comes within J of them, or all at once when the flows of k events in a
    row arrived ahead in the lane (the stream really moved on; one event's flows share the id before ``#``).
    """

    def __init__(self, max_jump_seconds: float | None, confirmations: int = 3) -> None:
        if max_jump_seconds is not None and max_jump_seconds <= 0:
            raise ValueError(f"max_jump_seconds={max_jump_seconds}: must be positive (or None: no guard)")
        if confirmations < 1:
            raise ValueError(f"confirmations={confirmations}: must be at least 1")
        self.max_jump = max_jump_seconds
        self.confirmations = int(confirmations)
        self._lanes: dict[Any, _LaneHold] = {}
        self.held_total = 0  # flows ever held
        self.released = 0  # held flows released (applied or judged by the store since)
        self.duplicates = 0  # re-deliveries of a flow still held (dropped here, counted as duplicates)

    @property
    def held(self) -> int:
        """Flows held right now (ahead of their lane's watermark by more than J, not confirmed)."""
        return sum(len(s.held) for s in self._lanes.values())

    def held_flows(self) -> list[Any]:
        """The flows held right now, in event-time order."""
        out = [v for s in self._lanes.values() for v in s.held.values()]
        return [f for _, f in sorted(out, key=lambda tf: tf[0])]

    def admit(
        self, flows: list[Any], times: list[float] | None, watermark_of: Callable[[Any], float | None]
    ) -> tuple[list[Any], int, int]:
        """``(flows to apply now in order, newly held, held duplicates dropped)``.

        ``times``: each flow's event time in epoch seconds (None: not convertible, everything passes and
        the store judges it); ``watermark_of(lane)``: the lane's watermark before the batch.
        """
        jump = self.max_jump
        if jump is None or times is None or not flows:
            return flows, 0, 0
        lanes = [f.lane for f in flows]
        states = self._lanes
        if len(flows) == 1:
            lane, t = lanes[0], times[0]
            state = states.get(lane)
            wm = watermark_of(lane)
            if wm is None or t <= wm + jump:
                if state is None:
                    return flows, 0, 0
                state.streak, state.last = 0, None
                top = t if wm is None else max(wm, t)
                if not state.held or min(h for h, _ in state.held.values()) > top + jump:
                    return flows, 0, 0
            return self._admit_loop(flows, times, lanes, watermark_of)
        ts = np.asarray(times, dtype=np.float64)
        distinct = set(lanes)
        if len(distinct) == 1:
            groups: list[tuple[Any, np.ndarray | slice]] = [(lanes[0], slice(None))]
        else:
            code = {lane: i for i, lane in enumerate(distinct)}
            lane_arr = np.fromiter(map(code.__getitem__, lanes), np.int64, len(lanes))
            groups = [(lane, np.flatnonzero(lane_arr == i)) for lane, i in code.items()]
        for lane, idx in groups:
            lt = ts[idx]
            wm = watermark_of(lane)
            run = np.maximum.accumulate(lt)
            prev = np.empty(len(lt))
            prev[0] = -np.inf if wm is None else wm
            prev[1:] = run[:-1] if wm is None else np.maximum(run[:-1], wm)
            if bool((np.isfinite(prev) & (lt > prev + jump)).any()):
                return self._admit_loop(flows, times, lanes, watermark_of)
            state = states.get(lane)
            if state is not None and state.held:
                top = float(run[-1]) if wm is None else max(float(run[-1]), wm)
                if min(t for t, _ in state.held.values()) <= top + jump:
                    return self._admit_loop(flows, times, lanes, watermark_of)
        for lane in distinct:  # every flow passed: the lanes' runs of flows ahead are over
            state = states.get(lane)
            if state is not None:
                state.streak, state.last = 0, None
        return flows, 0, 0

    def _admit_loop(
        self, flows: list[Any], times: list[float], lanes: list[Any], watermark_of: Callable[[Any], float | None]
    ) -> tuple[list[Any], int, int]:
        """:meth:`admit` flow by flow (a batch with a flow ahead, or releasing held flows)."""
        jump = self.max_jump
        assert jump is not None
        out: list[Any] = []
        running: dict[Any, float | None] = {}
        held_now = dropped = 0
        for flow, t, lane in zip(flows, times, lanes, strict=True):
            wm = running[lane] if lane in running else watermark_of(lane)
            state = self._lanes.get(lane)
            if state is not None and flow.event_id in state.held:
                dropped += 1
                continue
            if wm is None or t <= wm + jump:
                out.append(flow)
                wm = t if wm is None or t > wm else wm
                if state is not None:
                    state.streak, state.last = 0, None
                    wm = self._release(state, out, wm, everything=False)
            else:
                if state is None:
                    state = self._lanes[lane] = _LaneHold()
                state.held[flow.event_id] = (t, flow)
                source = flow.event_id.partition("#")[0]
                if source != state.last:
                    state.streak, state.last = state.streak + 1, source
                held_now += 1
                self.held_total += 1
                if state.streak >= self.confirmations:  # k events in a row ahead: the stream moved on
                    state.streak, state.last = 0, None
                    wm = self._release(state, out, wm, everything=True)
            running[lane] = wm
        self.duplicates += dropped
        return out, held_now, dropped

    def _release(self, state: _LaneHold, out: list[Any], wm: float, *, everything: bool) -> float:
        """Append the held flows of ``state`` due now to ``out`` (event-time order); the lane's new watermark."""
        jump = self.max_jump
        assert jump is not None
        while state.held:
            eid, (t, flow) = min(state.held.items(), key=lambda kv: kv[1][0])
            if not everything and t > wm + jump:
                break
            del state.held[eid]
            out.append(flow)
            self.released += 1
            wm = max(wm, t)
        return wm
