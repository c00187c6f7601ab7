"""The per-flow reference of GraphStore's add path: the test oracle of tests/test_graph_batch.py.

This is the per-flow rule written out flow by flow (the loop the store used before its add path became one
column-wise path): every decision for one flow at a time, in arrival order, with the jump guard in front. It
is independent of the production path (``GraphStore._add_batch``), which decides a whole batch at once
with numpy; the tests compare the two states field by field.
"""

from __future__ import annotations

import bisect
from array import array
from datetime import datetime

from valuenet.analytics.graph_store import (
    _AMPLIFY,
    _ANSWER_KINDS,
    _I32,
    _I64,
    _IDEA,
    _LATE_SLOT,
    _LAYER_CODE,
    _NEG_INF,
    _NLAYER,
    _NO_RECEIVER,
    _NSEG,
    _OPENER_KINDS,
    _SEG_CODE,
    _ZERO_SLOTS,
    AddStatus,
    GraphStore,
    _asks,
    _Bucket,
)
from valuenet.analytics.kinds import note_kinds
from valuenet.analytics.metrics.engine import KIND_CODE
from valuenet.analytics.outcomes import NAN
from valuenet.schemas import Flow
from valuenet.schemas.timeunits import to_epoch


class ReferenceStore(GraphStore):
    """A GraphStore whose ``add`` and ``add_many`` apply one flow at a time by the per-flow rule."""

    def add(self, flow: Flow) -> AddStatus:
        """Apply one flow (jump guard, dedupe, late policy, bucket columns, live counters, threads)."""
        with self._lock:
            note_kinds(self._kinds, (flow,))
            admitted, held, dropped = self._admit([flow])
            if len(admitted) == 1 and admitted[0] is flow:
                return self._add(flow)
            status = AddStatus.held if held else AddStatus.duplicate
            if dropped:
                self.duplicates += dropped
            for f in admitted:  # held flows released by this one, and it
                s = self._add(f)
                if f is flow:
                    status = s
            return status

    def _add(self, flow: Flow) -> AddStatus:
        # Hot path (≈ 10 µs): plain dict/list/array appends only; the live reads
        # (live_flow_rates, live_strength) count the bucket columns with numpy when asked.
        eid = flow.event_id
        if eid in self._seen:
            self.duplicates += 1
            return AddStatus.duplicate
        stamp = flow.timestamp
        ts = stamp.timestamp() if isinstance(stamp, datetime) and stamp.tzinfo is not None else to_epoch(stamp)
        lane = flow.lane
        lane_wm = self._lane_wm.get(lane, self._lane_floor)
        if lane_wm is not None and ts < lane_wm - self.allowed_lateness_seconds:
            wb = int(lane_wm // self.bucket_seconds)
            self._late[wb] = self._late.get(wb, 0) + 1
            self.late_events += 1
            self._count(wb, _LATE_SLOT)
            self._remember(eid, wb)
            return AddStatus.late
        if lane_wm is None or ts > lane_wm:
            self._lane_wm[lane] = ts
        b = int(ts // self.bucket_seconds)
        wm = self._watermark
        if wm is None or ts > wm:
            if b == self._wm_bucket:
                self._watermark = ts
            else:
                self._advance(ts)
        self._seen.add(eid)
        ids = self._ids_by_bucket.get(b)
        if ids is None:
            ids = self._ids_by_bucket[b] = []
            self._aux(b)
        ids.append(eid)
        giver = self._intern(flow.giver, flow.giver_segment, flow.giver_team, ts)
        followers = flow.giver_followers
        if followers is not None and ts >= self._followers_ts[giver]:
            self._followers[giver] = float(followers)
            self._followers_ts[giver] = ts
        rname = flow.receiver
        receiver = -1 if rname is None else self._intern(rname, flow.receiver_segment, flow.receiver_team, ts)
        layer = _LAYER_CODE[flow.flow_type]
        kind = flow.kind
        bucket = self._buckets.get(b)
        if bucket is None:
            bucket = self._buckets[b] = _Bucket()
            bisect.insort(self._keys, b)
        bucket.giver += _I32(giver)
        bucket.receiver += _I32(receiver)
        bucket.layer.append(layer)
        bucket.kind.append(KIND_CODE[kind])
        bucket.unsure.append(flow.confidence < self.uncertain_below)  # the typing is uncertain (uncertain_flows)
        if kind in _AMPLIFY:
            self._amplification(bucket, flow, kind, rname)
        seg = flow.giver_segment
        rseg = _NO_RECEIVER if rname is None else _SEG_CODE[flow.receiver_segment]
        self._count(b, (_SEG_CODE[seg] * (_NSEG + 1) + rseg) * _NLAYER + layer)
        if (
            (seg == "customer" and kind in _OPENER_KINDS)
            or (seg == "workforce" and kind in _ANSWER_KINDS)
            or (layer == _IDEA and (seg == "customer" or seg == "partner"))
        ):
            self._track_thread(flow, ts, b, kind, layer)
        self.applied += 1
        return AddStatus.applied

    @staticmethod
    def _amplification(bucket: _Bucket, flow: Flow, kind: str, receiver: str | None) -> None:
        """Remember which item a repost / quote amplified (and the quote's own item) as 64-bit hashes.

        The item is ``parent_id`` (the receiver's item when unknown); a quote's own item is its
        event id without the ``#quote`` suffix, so amplifications of the quote extend the cascade.
        """
        parent = flow.parent_id
        bucket.amp_at += _I32(len(bucket.layer) - 1)
        bucket.amp_item += _I64(hash(parent if parent else f"\0actor:{receiver}"))
        bucket.amp_own += _I64(hash(flow.event_id.removesuffix("#quote")) if kind == "quote" else 0)

    def _count(self, b: int, slot: int) -> None:
        """Add 1 to ``slot`` of bucket ``b`` and of every window that bucket is in."""
        counts = self._counts.get(b)
        if counts is None:
            first_longest = self._window_first[self._longest]  # set once a flow applied
            if first_longest is not None and b < first_longest:
                return  # allowed-late, yet older than every window: no window counts it
            counts = self._counts[b] = array("q", _ZERO_SLOTS)
            bisect.insort(self._count_keys, b)
        counts[slot] += 1
        for w, first in enumerate(self._window_first):
            if b >= first:  # type: ignore[operator]
                self._window_totals[w][slot] += 1

    def _remember(self, eid: str, b: int) -> None:
        self._seen.add(eid)
        self._ids_by_bucket.setdefault(b, []).append(eid)
        self._aux(b)

    def _intern(self, name: str, segment: str, team: str | None, ts: float) -> int:
        i = self._actor.get(name)
        if i is None:
            i = self._actor[name] = len(self._names)
            self._names.append(name)
            self._segment.append(_SEG_CODE[segment])
            self._team.append(-1 if team is None else self._team_code(team))
            self._attr_ts.append(ts)
            self._followers.append(NAN)
            self._followers_ts.append(_NEG_INF)
        elif ts >= self._attr_ts[i]:
            self._segment[i] = _SEG_CODE[segment]
            self._team[i] = -1 if team is None else self._team_code(team)
            self._attr_ts[i] = ts
        return i

    def _track_thread(self, flow: Flow, ts: float, b: int, kind: str, layer: int) -> None:
        seg = flow.giver_segment
        is_idea = layer == _IDEA
        question = (  # a ticket, or a post the classifier calls a question (an idea post is not one)
            seg == "customer" and kind in _OPENER_KINDS and not is_idea and (kind == "ticket" or _asks(flow.reason))
        )
        idea = is_idea and seg in ("customer", "partner") and kind != "mention"  # a post's mentions: the same idea
        answer = seg == "workforce" and kind in _ANSWER_KINDS
        if not (question or idea or answer):
            return
        key = flow.thread or flow.parent_id or flow.event_id
        self._thread_events([key], [ts], [question], [idea], [answer])
        self._threads_by_bucket.setdefault(b, []).append(key)

    def add_many(self, flows: list[Flow]) -> dict[str, int]:  # type: ignore[override]
        """``add`` per flow; the tally of the statuses."""
        tally = {"applied": 0, "duplicate": 0, "late": 0}
        for f in flows:
            s = self.add(f).value
            tally[s] = tally.get(s, 0) + 1
        return tally
