"""The rolling value-network graph of one network: cheap per-event updates, expensive metrics per tick.

Memory design: actors are interned to integer ids; every applied flow is appended to its
event-time bucket as five compact columns (``bytearray`` of native numbers: giver id, receiver
id or -1, flow-type code, kind code — 10 bytes per flow — plus its event id for dedupe). A tick copies the
retained buckets into numpy arrays under a lock (:meth:`GraphStore.snapshot`, milliseconds)
and computes every window from that copy with no lock held (:func:`compute_tick`), so the
store keeps accepting flows while a worker thread or process computes. ``StoreSnapshot``
pickles, so the compute can also run in a process pool. There is one add path: ``add_many``
applies a batch column-wise with numpy into plain ``bytearray``/``array``/``dict``/``list`` state
(benchmarks/bench_graph_add.py), and ``add`` is a batch of one of it (a fixed cost per call: feed
flows in batches). Threads are plain tuples and bucket columns hold no references, so the cyclic
GC has little long-lived state to walk.

Cheap metrics are exact after every event, with no tick: each window keeps running counters
of flows by (giver segment, receiver segment, flow type) plus its late events; a flow adds 1
to every window it falls in, and a bucket's counts are subtracted as it slides out of a
window (:meth:`GraphStore.live_window`, :meth:`GraphStore.live_flow_rates`). Per-actor
strength (:meth:`GraphStore.live_strength`) counts the bucket columns with numpy when asked.

Louvain staleness (:meth:`GraphStore.snapshot` plans it, :meth:`GraphStore.record` learns the
partitions; :meth:`GraphStore.tick` does both): a window whose previous partition had at least
``community_reuse_min_actors`` (default 20 000) actors recomputes Louvain only every
``community_every``-th tick (default 5; large windows take turns, so one tick recomputes at
most one of them once the cycle runs); in between its partition is carried over
(actors keep their community, newcomers join their heaviest tie's, ``modularity`` and
``communities`` are recomputed on the current graph) and ``WindowResult.community_fresh`` is
False. Burt's constraint / effective size and the Gould–Fernandez roles follow the same plan
(carried over per actor with the partition; a newcomer has none until the next recompute).
Smaller windows recompute every tick. Every other metric is recomputed every tick.
After a restart (or a rebuild) the first tick recomputes every window.

Policies (see ``valuenet.analytics.window`` for the window arithmetic):

- **dedupe**: an event id already seen within the retained horizon is ignored (counted in
  ``duplicates``), so replays never double count;
- **late events**: a flow older than ``watermark(lane) − allowed_lateness`` is not applied; it is
  counted in ``late_events`` (per watermark bucket, reported per window) and its id remembered.
- **jumps**: a flow more than ``max_jump_seconds`` (J) ahead of its lane's watermark is **held**, not
  applied (``held_events``; :class:`~valuenet.analytics.window.JumpHold`): one record cannot move the
  watermark. Held flows are applied in event-time order once the lane catches up within J, or when
  the flows of ``jump_confirmations`` events in a row arrived ahead in the lane (the stream moved on);
- **future events**: events the processors stage dead-lettered as dated in the future never reach
  the store as flows; :meth:`GraphStore.add_future` counts them in ``future_events`` at the current
  watermark bucket (reported per window like late events) and never moves the watermark.
  ``watermark(lane)`` is the largest event time seen in the flow's **lane** (``Flow.lane``: the
  raw partition its event came through; one lane when unset). One network's threads spread over
  the raw partitions and the workers consume them at their own pace, so the lanes interleave
  differently on every run; within a lane the order is the connector's. Judging lateness per
  lane makes the late decisions — and so every metric — independent of that interleaving. The
  windows slide with the network's watermark, the largest event time seen in any lane;
- **no receiver / no type**: a flow with ``receiver`` None, ``receiver == giver`` or flow type
  ``none`` adds no edge; it still counts toward flows/s of its type (``none`` has no rate
  column), the posts of its giver and thread tracking (questions, ideas, answers);
- **segment / team / followers** of an actor: those of its latest flow by event time, or of a
  directory change (:meth:`GraphStore.set_identity`) until a flow newer than the watermark at
  the time of the change arrives;
- **rebuild**: :meth:`GraphStore.rebuild` resets and replays flows in the order given; fed
  in the order the live run consumed them (Kafka offset order of the network's partition),
  it reproduces the live state exactly — late and duplicate decisions included.
"""

from __future__ import annotations

import bisect
import struct
import threading
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from itertools import chain, compress, repeat
from operator import attrgetter, eq, is_
from typing import TYPE_CHECKING, cast

import numpy as np

from valuenet.analytics.kinds import note_kinds
from valuenet.analytics.metrics.engine import AMPLIFY_KINDS, EDGE_LAYERS, KIND_CODE, LAYERS, SEGMENTS, check_engine
from valuenet.analytics.outcomes import NAN, NEW_THREAD, OutcomeRows, Thread
from valuenet.analytics.tick import StoreSnapshot, TickResult, WindowResult, compute_tick, future_in_window
from valuenet.analytics.window import JumpHold, WindowSpec, bucket_of, retained_buckets
from valuenet.schemas import Flow
from valuenet.schemas.timeunits import to_epoch

if TYPE_CHECKING:
    from valuenet.config import Settings

__all__ = ["AddStatus", "GraphStore", "LiveWindow", "StoreSnapshot", "TickResult", "WindowResult", "compute_tick"]

_LAYER_CODE = {name: i for i, name in enumerate(LAYERS)}
_SEG_CODE = {name: i for i, name in enumerate(SEGMENTS)}
_WF, _CUSTOMER, _PARTNER = _SEG_CODE["workforce"], _SEG_CODE["customer"], _SEG_CODE["partner"]
_OPENER_KINDS = frozenset({"post", "ticket"})
_ANSWER_KINDS = frozenset({"reply", "review", "approve", "help", "apply"})
_POST = KIND_CODE["post"]
_AMPLIFY = AMPLIFY_KINDS
_IDEA = _LAYER_CODE["idea"]
_NSEG, _NLAYER = len(SEGMENTS), len(LAYERS)
_NO_RECEIVER = _NSEG  # receiver-segment slot of a flow without receiver
_LATE_SLOT = _NSEG * (_NSEG + 1) * _NLAYER  # counter slots: (giver seg, receiver seg or none, layer), then late
_ZERO_SLOTS = bytes(8 * (_LATE_SLOT + 1))
_NEG_INF = float("-inf")
_I32, _I64 = struct.Struct("=i").pack, struct.Struct("=q").pack  # one bucket column entry (native order)
_EVENT_ID, _TIMESTAMP, _LANE = map(attrgetter, ("event_id", "timestamp", "lane"))
_GIVER, _GIVER_TEAM, _GIVER_FOLLOWERS = map(attrgetter, ("giver", "giver_team", "giver_followers"))
_TZINFO, _PARENT_ID = attrgetter("tzinfo"), attrgetter("parent_id")
_CONFIDENCE = attrgetter("confidence")
_SEGMENTS_TYPE_KIND = attrgetter("giver_segment", "receiver_segment", "flow_type", "kind")
_NKIND = len(KIND_CODE)
_SLOT_KIND_OF = {  # (giver segment, receiver segment, flow type, kind) → live counter slot × _NKIND + kind code
    (g, r, t, k): ((_SEG_CODE[g] * (_NSEG + 1) + _SEG_CODE[r]) * _NLAYER + _LAYER_CODE[t]) * _NKIND + KIND_CODE[k]
    for g in SEGMENTS
    for r in SEGMENTS
    for t in LAYERS
    for k in KIND_CODE
}
_RECEIVER, _RECEIVER_TEAM = map(attrgetter, ("receiver", "receiver_team"))
_IS_OPENER, _IS_ANSWER, _IS_AMPLIFY = (  # kind code → member of the set (a table lookup, not np.isin)
    np.array([k in kinds for k in sorted(KIND_CODE, key=KIND_CODE.__getitem__)], dtype=bool)
    for kinds in (_OPENER_KINDS, _ANSWER_KINDS, AMPLIFY_KINDS)
)
_QUOTE, _TICKET, _MENTION = KIND_CODE["quote"], KIND_CODE["ticket"], KIND_CODE["mention"]
MAX_JUMP_SECONDS = 30 * 86400  # default jump bound J of the watermark guard (analytics/window.py, Jumps)


def _last_of_latest(who: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Per distinct ``who``: the index of its last entry (in array order) among those with its largest ``when``."""
    order = np.lexsort((when, who))  # stable: equal times keep array order, so the group's last is the latest one
    sorted_who = who[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = sorted_who[1:] != sorted_who[:-1]
    return order[last]


def _asks(reason: str) -> bool:
    """True when the classifier's reason marks the text as a question (``rule:question …`` or ``… [question]``)."""
    return reason.startswith("rule:question") or reason.endswith("[question]")


class AddStatus(str, Enum):
    """What :meth:`GraphStore.add` did with a flow."""

    applied = "applied"
    duplicate = "duplicate"
    late = "late"
    held = "held"  # ahead of its lane's watermark by more than the jump bound (analytics/window.py, Jumps)


class _Bucket:
    """One bucket's flows as compact columns of native-endian numbers: giver / receiver int32, layer / kind
    int8 (one byte per flow: ``len(layer)`` is the bucket's size), and for amplifications only amp_at int32,
    amp_item / amp_own int64. ``bytearray``s: they hold no references, so the cyclic GC never visits them."""

    __slots__ = ("giver", "receiver", "layer", "kind", "unsure", "amp_at", "amp_item", "amp_own")

    def __init__(self) -> None:
        self.giver = bytearray()
        self.receiver = bytearray()
        self.layer = bytearray()
        self.kind = bytearray()
        self.unsure = bytearray()  # 1 when the flow's typing confidence is below ``uncertain_below``
        # amplifications (repost / quote) only: position in the bucket, amplified item, own item (quotes)
        self.amp_at = bytearray()
        self.amp_item = bytearray()
        self.amp_own = bytearray()


@dataclass(frozen=True)
class LiveWindow:
    """Per-event counters of one window at the current watermark.

    ``flows[t]`` = N_t, the applied flows of type t with event time in the window;
    ``flows_per_s[t]`` = N_t / L (L = window length in seconds); ``tunnels[(g, r)][t]`` = flows of
    type t whose giver / receiver carried segments g / r *on the flow* (``r`` is ``None`` for flows
    without receiver); ``late_events`` = flows dropped as too late while the watermark was in the window;
    ``future_events`` = events dead-lettered as dated in the future while the watermark was in the window.
    """

    window: str
    seconds: int
    start: float
    end: float
    flows: dict[str, int]
    tunnels: dict[tuple[str, str | None], dict[str, int]]
    late_events: int
    future_events: int = 0
    held_events: int = 0  # flows of the network held ahead of their lane's watermark (the jump guard), right now

    @property
    def flows_per_s(self) -> dict[str, float]:
        """Flows per second by type: ``N_t / L``."""
        return {t: n / self.seconds for t, n in self.flows.items()}


class GraphStore:
    """Rolling graph of one network: ``add`` per flow, ``tick`` per period, ``expire`` on idle time."""

    def __init__(
        self,
        network: str,
        *,
        windows: Iterable[str] = ("1h", "24h", "7d"),
        bucket_seconds: int = 60,
        allowed_lateness_seconds: float = 300,
        engine: str = "fast",
        betweenness_pivots: int | None = 64,
        reach_hops: int = 3,
        seed: int = 0,
        community_every: int = 5,
        community_reuse_min_actors: int = 20_000,
        max_jump_seconds: float | None = MAX_JUMP_SECONDS,
        jump_confirmations: int = 3,
        uncertain_below: float = 0.5,
    ) -> None:
        """Empty store; ``windows`` such as ``"1h"``; ``engine`` ``"fast"`` or ``"networkx"``; staleness policy: module docstring."""
        if bucket_seconds <= 0:
            raise ValueError(f"bucket_seconds={bucket_seconds}: must be positive")
        self.network = network
        self.bucket_seconds = int(bucket_seconds)
        self.windows = [WindowSpec.parse(w, self.bucket_seconds) for w in windows]
        if not self.windows:
            raise ValueError("windows: at least one window is required")
        self.allowed_lateness_seconds = float(allowed_lateness_seconds)
        self.engine = check_engine(engine)
        self.betweenness_pivots = betweenness_pivots
        self.reach_hops = reach_hops
        self.seed = seed
        if community_every < 1:
            raise ValueError(f"community_every={community_every}: must be at least 1")
        self.community_every = int(community_every)
        self.community_reuse_min_actors = int(community_reuse_min_actors)
        self.uncertain_below = float(uncertain_below)  # a flow typed with less confidence counts in uncertain_flows
        self._community: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # window → global ids, labels
        self._brokerage: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}  # ids, C, ES, roles
        self._ticks = 0
        self._longest = max(range(len(self.windows)), key=lambda w: self.windows[w].buckets)
        self._retained = retained_buckets(self.windows, self.bucket_seconds, self.allowed_lateness_seconds)
        JumpHold(max_jump_seconds, jump_confirmations)  # refuses bad settings here
        self.max_jump_seconds, self.jump_confirmations = max_jump_seconds, jump_confirmations
        self._lock = threading.Lock()
        self._reset()

    @classmethod
    def from_settings(cls, settings: Settings, network: str | None = None, **overrides: object) -> GraphStore:
        """Store for ``network`` (default ``settings.network``) with windows, bucket and lateness from settings."""
        kwargs: dict[str, object] = {
            "windows": settings.windows,
            "bucket_seconds": settings.bucket_seconds,
            "allowed_lateness_seconds": settings.allowed_lateness_seconds,
            "max_jump_seconds": settings.watermark_max_jump_seconds,
            "jump_confirmations": settings.watermark_confirmations,
            "uncertain_below": settings.classify_uncertain_below,
        }
        kwargs.update(overrides)
        return cls(network or settings.network, **kwargs)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        self._watermark: float | None = None
        self._wm_bucket: int | None = None
        self._lane_wm: dict[int | None, float] = {}  # lane → largest event time seen in it
        self._lane_floor: float | None = None  # the watermark given to expire(): every lane's, seen or not
        self._hold = JumpHold(self.max_jump_seconds, self.jump_confirmations)  # flows held ahead of their lane
        self._buckets: dict[int, _Bucket] = {}
        self._keys: list[int] = []  # sorted bucket indices present in _buckets
        self._seen: set[str] = set()
        self._ids_by_bucket: dict[int, list[str]] = {}
        self._late: dict[int, int] = {}
        self._future: dict[int | None, int] = {}  # watermark bucket (None: before any) → future events
        self._aux_keys: list[int] = []
        self._aux_set: set[int] = set()
        self.late_events = 0
        self.future_events = 0
        self.duplicates = 0
        self.applied = 0
        self.sequential_flows = 0  # flows applied in batches of one after halving (edge cases, see _add_batch)
        self._actor: dict[str, int] = {}
        self._names: list[str] = []
        self._segment = array("b")
        self._team = array("i")
        self._attr_ts = array("d")
        self._followers = array("d")
        self._followers_ts = array("d")
        self._teams: dict[str, int] = {}
        self._team_names: list[str] = []
        self._kinds: dict[str, str] = {}  # non-person actors → kind (analytics/kinds.py)
        self._threads: dict[str, Thread] = {}
        self._questions, self._ideas = OutcomeRows(), OutcomeRows()
        self._threads_by_bucket: dict[int, list[str]] = {}
        # running per-window counters (module docstring) and each bucket's share of them
        self._counts: dict[int, array] = {}
        self._count_keys: list[int] = []
        self._window_totals = [array("q", _ZERO_SLOTS) for _ in self.windows]
        self._window_first: list[int | None] = [None] * len(self.windows)

    @property
    def watermark(self) -> float | None:
        """Largest event time seen or given to :meth:`expire` (epoch seconds)."""
        return self._watermark

    @property
    def held_events(self) -> int:
        """Flows held ahead of their lane's watermark right now (the jump guard, analytics/window.py)."""
        return self._hold.held

    def held_flows(self) -> list[Flow]:
        """The flows held right now, in event-time order."""
        with self._lock:
            return self._hold.held_flows()

    def _lane_watermark(self, lane: int | None) -> float | None:
        """The watermark the jump guard measures a lane's flows against: the lane's, else the network's."""
        wm = self._lane_wm.get(lane, self._lane_floor)
        return self._watermark if wm is None else wm

    def _admit(self, flows: list[Flow]) -> tuple[list[Flow], int, int]:
        """The jump guard (analytics/window.py): (flows to apply now, newly held, held duplicates)."""
        if self._hold.max_jump is None:
            return flows, 0, 0
        try:
            times = [
                s.timestamp() if isinstance(s, datetime) and s.tzinfo is not None else to_epoch(s)
                for s in map(_TIMESTAMP, flows)
            ]
        except (TypeError, ValueError):  # the store refuses it with its own error
            return flows, 0, 0
        return self._hold.admit(flows, times, self._lane_watermark)

    @property
    def actors(self) -> int:
        """Actors interned so far (ids are never reused while the process lives)."""
        return len(self._names)

    # ------------------------------------------------------------------ per event
    def add(self, flow: Flow) -> AddStatus:
        """Apply one flow: a batch of one through :meth:`add_many`'s path (jump guard, dedupe, lateness, columns)."""
        with self._lock:
            note_kinds(self._kinds, (flow,))
            admitted, held, dropped = self._admit([flow])
            self.duplicates += dropped
            status = AddStatus.held if held else AddStatus.duplicate
            at = next((i for i, f in enumerate(admitted) if f is flow), None)
            if at is None:  # held (or a held duplicate); anything it released is applied in event-time order
                self._add_batch(admitted)
                return status
            if at:  # held flows released before it in event time, it, those after
                self._add_batch(admitted[:at])
            tally = self._add_batch([flow])
            if at + 1 < len(admitted):
                self._add_batch(admitted[at + 1 :])
            return next(AddStatus(k) for k, v in tally.items() if v)

    def add_future(self, count: int) -> None:
        """Count ``count`` events dead-lettered upstream as dated in the future, at the current watermark bucket.

        They are reported per window in ``future_events`` (like late events) and never move the watermark.
        """
        if count <= 0:
            return
        with self._lock:
            wb = self._wm_bucket
            self._future[wb] = self._future.get(wb, 0) + count
            self.future_events += count
            if wb is not None:
                self._aux(wb)

    def add_many(self, flows: Iterable[Flow]) -> dict[str, int]:
        """Apply flows in order; returns ``{"applied": a, "duplicate": d, "late": l}`` (and ``"held": h`` when the
        jump guard held some; held flows it releases count where the store puts them).

        One path for every batch (``add`` is a batch of one): the batch is applied column-wise with numpy
        (:meth:`_add_batch_vectorised`); the windows' counters slide once per batch and the batch's counts are
        then added (a window's total is the sum of the counts of the buckets inside it, so sliding and adding
        once per batch gives the totals of sliding and adding per flow). A batch the column-wise plan cannot
        prove equal to the per-flow rule (it touches state that expires part-way through it, or brings a new
        team name) is halved, down to batches of one for the piece that holds the edge (``sequential_flows``);
        a batch of one is always proven. tests/test_graph_batch.py checks the state against a per-flow reference.
        """
        batch = flows if isinstance(flows, list) else list(flows)
        with self._lock:
            note_kinds(self._kinds, batch)
            admitted, held, dropped = self._admit(batch)
            tally = self._add_batch(admitted)
            if held or dropped:
                self.duplicates += dropped
                tally[AddStatus.duplicate.value] += dropped
                tally[AddStatus.held.value] = held
            return tally

    def _add_batch(self, flows: list[Flow], *, piece: bool = False) -> dict[str, int]:
        tally = self._add_batch_vectorised(flows)
        if tally is not None:
            if piece and len(flows) == 1:
                self.sequential_flows += 1
            return tally
        if len(flows) < 2:  # the plan proves every batch of one (see there): a refusal is a bug
            raise RuntimeError("GraphStore: the column-wise plan refused a batch of one flow")
        # an edge the column-wise plan cannot prove equal (see there): halves (each is a batch like any
        # other: applying A then B is applying A + B), down to batches of one (always proven)
        half = len(flows) // 2
        first, second = self._add_batch(flows[:half], piece=True), self._add_batch(flows[half:], piece=True)
        return {k: first[k] + second[k] for k in first}

    def _add_batch_vectorised(self, flows: list[Flow]) -> dict[str, int] | None:
        """Apply a batch column-wise (numpy); ``None`` (nothing changed) when it cannot prove the per-flow result.

        Per flow only the columns are read (one list comprehension per attribute) and the thread
        outcomes and amplification hashes of the flows that have them are kept. Everything else is
        decided for the whole batch: duplicates against ``seen`` and earlier in the batch; lateness
        per lane against the lane watermark before each flow (a running maximum: a late flow never
        raises it); the watermark moves once, to the batch's largest applied event time, before
        anything is stored; actors are interned in order of first appearance and take the segment /
        team (followers) of their last appearance with the largest event time, if at least their
        ``attr_ts`` (``followers_ts``), which is what the per-flow rule leaves; columns are appended
        per bucket in batch order.

        Moving the watermark once, first, drops the expired state that the per-flow loop drops bit by
        bit during the batch. That is the same unless the batch touches what is dropped: a flow whose
        bucket (a late one's: its lane watermark's) is older than the final horizon, an event id
        remembered in a bucket that expires, a thread that expires; new team names are interned in
        the per-flow order only for a batch of one. For those (rare) batches it returns ``None``, and
        never for a batch of one: its watermark moves before it is stored, as the per-flow rule does.
        """
        n = len(flows)
        if not n:
            return {AddStatus.applied.value: 0, AddStatus.duplicate.value: 0, AddStatus.late.value: 0}
        one = n == 1
        if not one and (None in self._future or self.allowed_lateness_seconds < 0):
            return None  # future events waiting for the first watermark; a negative lateness: batches of one
        bucket_seconds, seen = self.bucket_seconds, self._seen
        eids = list(map(_EVENT_ID, flows))
        stamps = list(map(_TIMESTAMP, flows))
        try:
            if None in map(_TZINFO, stamps):
                raise TypeError
            ts = np.array(list(map(datetime.timestamp, stamps)), dtype=np.float64)
        except (AttributeError, TypeError):  # a naive datetime or a number: to_epoch converts (or refuses) it
            ts = np.array([to_epoch(s) for s in stamps], dtype=np.float64)

        # duplicates: an id seen before (and not expiring during the batch, checked below) or earlier in the batch
        batch_ids = set(eids)
        hits: set[str] = set()
        dup: np.ndarray | None = None
        if len(batch_ids) != n or not seen.isdisjoint(batch_ids):
            hits = seen.intersection(batch_ids)
            first: set[str] = set()
            flags = []
            for e in eids:
                flags.append(e in hits or e in first)
                first.add(e)
            dup = np.array(flags, dtype=bool)

        # lateness per lane: the lane watermark before each flow is the running maximum of the lane's earlier
        # non-duplicate event times (a late flow is below it, so including it changes nothing)
        lanes = list(map(_LANE, flows))
        lane_wms, floor, lateness = self._lane_wm, self._lane_floor, self.allowed_lateness_seconds
        valid_ts = ts if dup is None else np.where(dup, _NEG_INF, ts)
        prev = np.empty(n)
        lane_max: list[tuple[int | None, float | None, np.ndarray | slice]] = []
        distinct = set(lanes)
        if len(distinct) == 1:
            groups: list[tuple[int | None, np.ndarray | slice]] = [(lanes[0], slice(None))]
        else:
            code = {lane: i for i, lane in enumerate(distinct)}
            lane_arr = np.fromiter(map(code.__getitem__, lanes), np.int64, n)
            groups = [(lane, np.flatnonzero(lane_arr == i)) for lane, i in code.items()]
        for lane, idx in groups:
            init = lane_wms.get(lane, floor)
            run = np.maximum.accumulate(valid_ts[idx])
            p = np.empty(len(run))
            p[0] = _NEG_INF if init is None else init
            p[1:] = run[:-1]
            if init is not None:
                np.maximum(p, init, out=p)
            prev[idx] = p
            lane_max.append((lane, init, idx))
        late = ts < prev - lateness
        if dup is not None:
            late &= ~dup
        n_late = int(late.sum())
        applied_mask = ~late if dup is None else ~(late | dup)
        n_applied = int(applied_mask.sum())
        n_dup = n - n_applied - n_late
        if n_dup == n:
            self.duplicates += n
            return {AddStatus.applied.value: 0, AddStatus.duplicate.value: n, AddStatus.late.value: 0}

        wm = self._watermark
        top = float(ts[applied_mask].max()) if n_applied else None
        new_wm = top if top is not None and (wm is None or top > wm) else None
        b = np.floor_divide(ts, bucket_seconds).astype(np.int64)
        late_idx = np.flatnonzero(late)
        late_b = np.floor_divide(prev[late_idx], bucket_seconds).astype(np.int64)
        advances = new_wm is not None and int(new_wm // bucket_seconds) != self._wm_bucket
        expiring: set[str] = set()  # threads the loop would expire part-way through the batch
        if advances and not one:  # a batch of one: the watermark moves before it is stored, as per flow
            horizon = int(new_wm // bucket_seconds) - self._retained + 1  # type: ignore[operator]
            if (n_applied and int(b[applied_mask].min()) < horizon) or (n_late and int(late_b.min()) < horizon):
                return None  # the batch adds to a bucket that expires during it
            # what the loop would drop part-way through the batch: the ids and the threads (a thread whose last
            # event left the horizon is listed under that event's bucket) of the buckets leaving the horizon
            horizon_ts = horizon * bucket_seconds
            for key in self._aux_keys[: bisect.bisect_left(self._aux_keys, horizon)]:
                if hits and not hits.isdisjoint(self._ids_by_bucket.get(key, ())):
                    return None  # an id the loop would forget part-way through the batch
                for thread_key in self._threads_by_bucket.get(key, ()):
                    th = self._threads.get(thread_key)
                    if th is not None and th[3] < horizon_ts:
                        expiring.add(thread_key)

        # the applied flows' columns
        if n_applied == n:
            fl, ts_a, b_a, eids_a = flows, ts, b, eids
        else:
            a_idx = np.flatnonzero(applied_mask)
            fl = [flows[i] for i in a_idx.tolist()]
            ts_a, b_a = ts[a_idx], b[a_idx]
            eids_a = [eids[i] for i in a_idx.tolist()]
        m = len(fl)
        givers = list(map(_GIVER, fl))
        receivers = list(map(_RECEIVER, fl))
        teams = self._teams
        slot, kind = np.divmod(
            np.fromiter(map(_SLOT_KIND_OF.__getitem__, map(_SEGMENTS_TYPE_KIND, fl)), np.int64, m), _NKIND
        )
        layer = slot % _NLAYER
        gs, rs = np.divmod(slot // _NLAYER, _NSEG + 1)
        gteams = list(map(_GIVER_TEAM, fl))
        rteams = list(map(_RECEIVER_TEAM, fl))
        team_code = cast(Callable[[str | None, int], int], teams.get)  # None (never a key) → the default
        gt = np.fromiter(map(team_code, gteams, repeat(-1)), np.int32, m)  # None → -1
        rt = np.fromiter(map(team_code, rteams, repeat(-1)), np.int32, m)
        if int((gt < 0).sum()) != gteams.count(None) or int((rt < 0).sum()) != rteams.count(None):
            if not one:
                return None  # a new team name: interned in the per-flow order, batches of one
            self._intern_teams(fl[0], float(ts_a[0]))
            gt = np.fromiter(map(team_code, gteams, repeat(-1)), np.int32, m)
            rt = np.fromiter(map(team_code, rteams, repeat(-1)), np.int32, m)
        # threads: the rule of _track_thread, per column
        opener = (gs == _CUSTOMER) & _IS_OPENER[kind] & (layer != _IDEA)
        question = opener & (kind == _TICKET)
        posts = np.flatnonzero(opener & (kind != _TICKET))
        if len(posts):  # a post is a question when the classifier's reason says so
            question[posts] = np.fromiter((_asks(fl[i].reason) for i in posts.tolist()), bool, len(posts))
        idea = (layer == _IDEA) & ((gs == _CUSTOMER) | (gs == _PARTNER)) & (kind != _MENTION)
        answer = (gs == _WF) & _IS_ANSWER[kind]
        tracked = np.flatnonzero(question | idea | answer)
        thread_keys = [f.thread or f.parent_id or f.event_id for f in map(fl.__getitem__, tracked.tolist())]
        if expiring and not expiring.isdisjoint(thread_keys):
            return None  # a thread the loop may expire before or after the batch touches it

        # ---- from here on the batch is applied
        if new_wm is not None:
            if advances:
                self._advance(new_wm, slide=False)
            else:
                self._watermark = new_wm
        applied_ts = np.where(applied_mask, ts, _NEG_INF)
        for lane, init, idx in lane_max:
            top_lane = float(applied_ts[idx].max())
            if top_lane != _NEG_INF and (init is None or top_lane > init):
                lane_wms[lane] = top_lane
        actor = self._actor
        actor_id = cast(Callable[[str | None, int], int], actor.get)
        gids = list(map(actor.get, givers))  # None: a new giver
        rids = list(map(actor_id, receivers, repeat(-1)))  # -1: no receiver, or a new one
        if None in gids or rids.count(-1) != receivers.count(None):  # new actors: interned in order of first
            fresh = set(compress(givers, map(is_, gids, repeat(None))))  # appearance (giver, then receiver)
            fresh.update(compress(receivers, map(eq, rids, repeat(-1))))
            fresh.discard(None)
            both = list(chain.from_iterable(zip(givers, receivers, strict=True)))
            self._intern_new(list(dict.fromkeys(compress(both, map(fresh.__contains__, both)))))
            gids = list(map(actor.__getitem__, givers))
            rids = list(map(actor_id, receivers, repeat(-1)))
        gid = np.array(gids, dtype=np.int64)
        rid = np.array(rids, dtype=np.int64)
        self._latest_attributes(gid, rid, ts_a, gs, rs, gt, rt)
        followers = np.array(list(map(_GIVER_FOLLOWERS, fl)), dtype=np.float64)  # None → NaN
        has = ~np.isnan(followers)
        if has.any():
            self._latest_followers(gid[has], ts_a[has], followers[has])

        # remembered ids (applied and late) per bucket, batch order within each
        late_eids = [eids[i] for i in late_idx.tolist()]
        seen.update(eids_a)
        seen.update(late_eids)
        if n_late:
            late_by_bucket = self._late
            for wb in late_b.tolist():
                late_by_bucket[wb] = late_by_bucket.get(wb, 0) + 1
            id_b = np.concatenate([b_a, late_b])
            id_pos = np.concatenate([np.flatnonzero(applied_mask), late_idx])
            in_batch_order = np.argsort(id_pos).tolist()
            id_list = eids_a + late_eids
            self._extend_by_bucket(self._ids_by_bucket, id_b[in_batch_order], [id_list[i] for i in in_batch_order])
        else:
            self._extend_by_bucket(self._ids_by_bucket, b_a, eids_a)

        if not m:  # late events only
            self._slide_counters_and_count(np.empty(0, np.int64), np.empty(0, np.int64), late_b)
            self.duplicates += n_dup
            self.late_events += n_late
            return {AddStatus.applied.value: 0, AddStatus.duplicate.value: n_dup, AddStatus.late.value: n_late}

        # bucket columns, batch order within each bucket
        order: np.ndarray | None = None
        sb = b_a
        if m > 1 and bool((b_a[1:] < b_a[:-1]).any()):
            order = np.argsort(b_a, kind="stable")
            sb = b_a[order]
        cols = (gid, rid, layer, kind)
        if order is not None:
            cols = tuple(c[order] for c in cols)
        g32, r32 = cols[0].astype(np.int32), cols[1].astype(np.int32)
        l8, k8 = cols[2].astype(np.int8), cols[3].astype(np.int8)
        unsure = np.fromiter(map(_CONFIDENCE, fl), np.float64, m) < self.uncertain_below
        u8 = (unsure if order is None else unsure[order]).astype(np.int8)
        cuts = (np.flatnonzero(sb[1:] != sb[:-1]) + 1).tolist() if m > 1 else []
        starts, ends = [0, *cuts], [*cuts, m]
        buckets, keys = self._buckets, self._keys
        base = np.empty(len(starts), dtype=np.int64)
        for j, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
            k = int(sb[lo])
            bucket = buckets.get(k)
            if bucket is None:
                bucket = buckets[k] = _Bucket()
                bisect.insort(keys, k)
            base[j] = len(bucket.layer)
            bucket.giver += g32[lo:hi].tobytes()
            bucket.receiver += r32[lo:hi].tobytes()
            bucket.layer += l8[lo:hi].tobytes()
            bucket.kind += k8[lo:hi].tobytes()
            bucket.unsure += u8[lo:hi].tobytes()
        amp = np.flatnonzero(_IS_AMPLIFY[kind])
        if len(amp):
            # position in its bucket = the bucket's length before + rank within the batch's rows of that bucket
            group = np.repeat(np.arange(len(starts)), np.diff([*starts, m]))
            within = np.arange(m) - np.repeat(starts, np.diff([*starts, m]))
            if order is None:
                rank = base[group] + within
            else:
                rank = np.empty(m, dtype=np.int64)
                rank[order] = base[group] + within
            rows = amp.tolist()
            items = np.array(
                [
                    hash(p if p else f"\0actor:{r}")
                    for p, r in zip(
                        map(_PARENT_ID, map(fl.__getitem__, rows)), map(receivers.__getitem__, rows), strict=True
                    )
                ],
                dtype=np.int64,
            )
            owns = np.array(
                [
                    hash(eids_a[i].removesuffix("#quote")) if q else 0
                    for i, q in zip(rows, (kind[amp] == _QUOTE).tolist(), strict=True)
                ],
                dtype=np.int64,
            )
            at = rank[amp].astype(np.int32)
            amp_b = b_a[amp]  # batch order within each bucket, as the loop appends them
            if len(amp) > 1 and bool((amp_b[1:] < amp_b[:-1]).any()):
                by = np.argsort(amp_b, kind="stable")
                amp_b, at, items, owns = amp_b[by], at[by], items[by], owns[by]
            cuts = (np.flatnonzero(amp_b[1:] != amp_b[:-1]) + 1).tolist()
            for lo, hi in zip([0, *cuts], [*cuts, len(amp_b)], strict=True):
                bucket = buckets[int(amp_b[lo])]
                bucket.amp_at += at[lo:hi].tobytes()
                bucket.amp_item += items[lo:hi].tobytes()
                bucket.amp_own += owns[lo:hi].tobytes()

        if len(tracked):
            self._track_threads(
                thread_keys, ts_a[tracked], b_a[tracked], question[tracked], idea[tracked], answer[tracked]
            )

        self._slide_counters_and_count(
            b_a, np.where(rid < 0, (gs * (_NSEG + 1) + _NO_RECEIVER) * _NLAYER + layer, slot), late_b
        )
        self.applied += n_applied
        self.duplicates += n_dup
        self.late_events += n_late
        return {AddStatus.applied.value: n_applied, AddStatus.duplicate.value: n_dup, AddStatus.late.value: n_late}

    def _track_threads(
        self, keys: list[str], ts: np.ndarray, b: np.ndarray, question: np.ndarray, idea: np.ndarray, answer: np.ndarray
    ) -> None:
        """:meth:`_track_thread` for a batch's thread flows (in batch order), their roles decided per column."""
        self._thread_events(keys, ts.tolist(), question.tolist(), idea.tolist(), answer.tolist())
        self._extend_by_bucket(self._threads_by_bucket, b, keys)

    def _slide_counters_and_count(self, b: np.ndarray, slots: np.ndarray, late_b: np.ndarray) -> None:
        """Live counters after a batch: one slide to the watermark, then the applied and late counts."""
        if self._wm_bucket is not None:
            self._slide_counters(self._wm_bucket)
        if len(late_b):
            self._count_batch(np.concatenate([b, late_b]), np.concatenate([slots, np.full(len(late_b), _LATE_SLOT)]))
        else:
            self._count_batch(b, slots)

    def _extend_by_bucket(self, ids_by_bucket: dict[int, list[str]], bucket_of_id: np.ndarray, ids: list[str]) -> None:
        """Append ``ids`` to their buckets' lists in ``ids_by_bucket``, in the order given (new buckets: aux)."""
        n = len(ids)
        if n > 1 and bool((bucket_of_id[1:] < bucket_of_id[:-1]).any()):
            order = np.argsort(bucket_of_id, kind="stable")
            bucket_of_id = bucket_of_id[order]
            ids = [ids[i] for i in order.tolist()]
        cuts = (np.flatnonzero(bucket_of_id[1:] != bucket_of_id[:-1]) + 1).tolist() if n > 1 else []
        for s, e in zip([0, *cuts], [*cuts, n], strict=True):
            k = int(bucket_of_id[s])
            lst = ids_by_bucket.get(k)
            if lst is None:
                lst = ids_by_bucket[k] = []
                self._aux(k)
            lst.extend(ids[s:e])

    def _intern_teams(self, flow: Flow, ts: float) -> None:
        """The team names of one applied flow, in the per-flow order: the giver's, then the receiver's, each
        when its actor takes the flow's attributes (new, or ``ts`` at least its ``attr_ts``)."""
        actor, attr_ts = self._actor, self._attr_ts
        for name, team in ((flow.giver, flow.giver_team), (flow.receiver, flow.receiver_team)):
            i = None if name is None else actor.get(name, -1)
            if i is not None and team is not None and (i < 0 or ts >= attr_ts[i]):
                self._team_code(team)

    def _intern_new(self, names: list[str]) -> None:
        """New actors (ids in this order) whose attributes the batch's latest appearances set (``attr_ts`` = −∞)."""
        start, k = len(self._names), len(names)
        self._actor.update(zip(names, range(start, start + k), strict=True))
        self._names.extend(names)
        self._segment.frombytes(bytes(k))
        self._team.frombytes(np.full(k, -1, np.int32).tobytes())
        self._attr_ts.frombytes(np.full(k, _NEG_INF).tobytes())
        self._followers.frombytes(np.full(k, NAN).tobytes())
        self._followers_ts.frombytes(np.full(k, _NEG_INF).tobytes())

    def _latest_attributes(
        self,
        gid: np.ndarray,
        rid: np.ndarray,
        ts: np.ndarray,
        gseg: np.ndarray,
        rseg: np.ndarray,
        gteam: np.ndarray,
        rteam: np.ndarray,
    ) -> None:
        """Segment and team of each actor from its last appearance (giver, then receiver) with the largest time.

        The per-flow rule (update when ``ts >= attr_ts``) leaves exactly that appearance's values,
        when its time is at least the actor's ``attr_ts`` before the batch.
        """
        m = len(gid)
        who = np.empty(2 * m, dtype=np.int64)
        who[0::2], who[1::2] = gid, rid
        when = np.repeat(ts, 2)
        seg = np.empty(2 * m, dtype=np.int8)
        seg[0::2], seg[1::2] = gseg, rseg
        team = np.empty(2 * m, dtype=np.int32)
        team[0::2], team[1::2] = gteam, rteam
        keep = who >= 0
        if not keep.all():
            who, when, seg, team = who[keep], when[keep], seg[keep], team[keep]
        w = _last_of_latest(who, when)
        ids, at = who[w], when[w]
        attr_ts = np.frombuffer(self._attr_ts, dtype=np.float64)
        upd = at >= attr_ts[ids]
        ids = ids[upd]
        np.frombuffer(self._segment, dtype=np.int8)[ids] = seg[w][upd]
        np.frombuffer(self._team, dtype=np.int32)[ids] = team[w][upd]
        attr_ts[ids] = at[upd]
        del attr_ts  # release the buffer: the arrays grow again

    def _latest_followers(self, gid: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        """Followers of each giver from its last appearance with the largest time, if at least ``followers_ts``."""
        w = _last_of_latest(gid, ts)
        ids, at = gid[w], ts[w]
        followers_ts = np.frombuffer(self._followers_ts, dtype=np.float64)
        upd = at >= followers_ts[ids]
        ids = ids[upd]
        np.frombuffer(self._followers, dtype=np.float64)[ids] = values[w][upd]
        followers_ts[ids] = at[upd]
        del followers_ts

    def _count_batch(self, count_b: list[int] | np.ndarray, count_slot: list[int] | np.ndarray) -> None:
        """Add one batch's (bucket, slot) counts to the buckets and to every window they are in (numpy)."""
        if not len(count_b):
            return
        first_longest = self._window_first[self._longest]
        b_arr = np.asarray(count_b, dtype=np.int64)
        slot_arr = np.asarray(count_slot, dtype=np.int64)
        if first_longest is not None:
            keep = b_arr >= first_longest  # older than every window: no window counts it (as in _count)
            if not keep.all():
                keep |= np.isin(b_arr, np.fromiter(self._counts, np.int64, len(self._counts)))
                b_arr, slot_arr = b_arr[keep], slot_arr[keep]
        if not len(b_arr):
            return
        nslots = _LATE_SLOT + 1
        distinct, inverse = np.unique(b_arr, return_inverse=True)
        per_bucket = np.bincount(inverse * nslots + slot_arr, minlength=len(distinct) * nslots).reshape(-1, nslots)
        all_counts = self._counts
        for k, row in zip(distinct.tolist(), per_bucket, strict=True):
            counts = all_counts.get(k)
            if counts is None:  # a new bucket's counts are its row
                all_counts[k] = array("q", row.tobytes())
                bisect.insort(self._count_keys, k)
            else:
                np.frombuffer(counts, dtype=np.int64)[:] += row
        for w, first in enumerate(self._window_first):
            if first is None:
                continue
            inside = distinct >= first
            if inside.any():
                np.frombuffer(self._window_totals[w], dtype=np.int64)[:] += per_bucket[inside].sum(axis=0)

    def _aux(self, b: int) -> None:
        """Register bucket ``b`` as holding ids, late counts or thread keys (expired together)."""
        if b not in self._aux_set:
            self._aux_set.add(b)
            bisect.insort(self._aux_keys, b)

    def set_identity(self, actor: str, segment: str, team: str | None) -> bool:
        """Re-segment ``actor`` (a directory change); True when it is known here and changed.

        Flows applied later override it only if their event time is past the current watermark.
        """
        with self._lock:
            i = self._actor.get(actor)
            if i is None:
                return False
            seg, tcode = _SEG_CODE[segment], self._team_code(team)
            changed = (self._segment[i], self._team[i]) != (seg, tcode)
            self._segment[i], self._team[i] = seg, tcode
            if self._watermark is not None:
                self._attr_ts[i] = max(self._attr_ts[i], self._watermark)
            return changed

    def _team_code(self, team: str | None) -> int:
        if team is None:
            return -1
        code = self._teams.get(team)
        if code is None:
            code = self._teams[team] = len(self._team_names)
            self._team_names.append(team)
        return code

    def _thread_events(
        self, keys: list[str], ts: list[float], question: list[bool], idea: list[bool], answer: list[bool]
    ) -> None:
        """Questions, ideas and/or answers at ``ts`` in threads ``keys``, in order: rows and answer times."""
        threads, questions, ideas = self._threads, self._questions, self._ideas
        started, answered, idea_answered = questions.start, questions.answered, ideas.answered
        for key, t, is_question, is_idea, is_answer in zip(keys, ts, question, idea, answer, strict=True):
            row_q, answers, idea_rows, last = threads.get(key, NEW_THREAD)
            if is_question:
                if row_q < 0:
                    row_q = questions.add(t, answers)
                elif t < started[row_q]:
                    questions.restart(row_q, t, answers)
            if is_idea:
                idea_rows = (*idea_rows, ideas.add(t, answers))
            if is_answer:
                at = bisect.bisect_right(answers, t)
                answers = (*answers[:at], t, *answers[at:])
                if row_q >= 0:
                    answered(row_q, t)
                for row in idea_rows:
                    idea_answered(row, t)
            threads[key] = (row_q, answers, idea_rows, t if t > last else last)

    # ------------------------------------------------------------------ time
    def expire(self, watermark: datetime | float) -> int:
        """Advance the watermark to ``watermark`` (if later) and drop expired buckets; returns buckets dropped."""
        with self._lock:
            ts = to_epoch(watermark)
            if self._watermark is not None and ts <= self._watermark:
                return 0
            self._lane_floor = ts
            for lane, lane_wm in self._lane_wm.items():
                self._lane_wm[lane] = max(lane_wm, ts)
            return self._advance(ts)

    def _advance(self, ts: float, *, slide: bool = True) -> int:
        """Move the watermark to ``ts``: slide windows (subtract leaving buckets), drop expired state.

        ``slide=False`` leaves the counters to the caller (a batch slides them once at its end).
        """
        self._watermark = ts
        wb = bucket_of(ts, self.bucket_seconds)
        if wb == self._wm_bucket:
            return 0
        self._wm_bucket = wb
        pending = self._future.pop(None, 0)  # future events counted before the first watermark
        if pending:
            self._future[wb] = self._future.get(wb, 0) + pending
            self._aux(wb)
        if slide:
            self._slide_counters(wb)
        horizon = wb - self._retained + 1
        dropped = 0
        cut = bisect.bisect_left(self._keys, horizon)
        for key in self._keys[:cut]:
            del self._buckets[key]
            dropped += 1
        del self._keys[:cut]
        cut = bisect.bisect_left(self._aux_keys, horizon)
        horizon_ts = horizon * self.bucket_seconds
        for key in self._aux_keys[:cut]:
            self._aux_set.discard(key)
            self._seen.difference_update(self._ids_by_bucket.pop(key, ()))
            self._late.pop(key, None)
            self._future.pop(key, None)
            for tkey in self._threads_by_bucket.pop(key, ()):
                th = self._threads.get(tkey)
                if th is not None and th[3] < horizon_ts:  # its last event left the horizon
                    del self._threads[tkey]
                    if th[0] >= 0:
                        self._questions.drop(th[0])
                    for row in th[2]:
                        self._ideas.drop(row)
        del self._aux_keys[:cut]
        self._compact_outcomes()
        return dropped

    def _compact_outcomes(self) -> None:
        """Compact the question and idea rows when mostly dead, renumbering the threads' rows."""
        questions, ideas = self._questions.compact(), self._ideas.compact()
        if questions is None and ideas is None:
            return
        threads = self._threads
        for key, (row_q, answers, idea_rows, last) in threads.items():
            if questions is not None and row_q >= 0:
                row_q = int(questions[row_q])
            if ideas is not None and idea_rows:
                idea_rows = tuple(int(ideas[r]) for r in idea_rows)
            threads[key] = (row_q, answers, idea_rows, last)

    # ------------------------------------------------------------------ cheap reads
    def _window_index(self, window: str) -> int:
        for i, spec in enumerate(self.windows):
            if spec.name == window:
                return i
        raise KeyError(f"window {window!r}: not one of {[w.name for w in self.windows]}")

    def _window_columns(self, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Giver, receiver and layer columns of the buckets now inside window ``w`` (lock held)."""
        if self._wm_bucket is None:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int8)
        first = self.windows[w].first_bucket(self._wm_bucket)
        buckets = [self._buckets[k] for k in self._keys[bisect.bisect_left(self._keys, first) :]]

        def cat(attr: str, dtype: type) -> np.ndarray:
            parts: list[np.ndarray] = [np.frombuffer(getattr(b, attr), dtype=dtype) for b in buckets]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        return cat("giver", np.int32), cat("receiver", np.int32), cat("layer", np.int8)

    def live_window(self, window: str) -> LiveWindow:
        """Per-event counters of ``window`` at the current watermark (O(counter slots), no scan)."""
        w = self._window_index(window)
        spec = self.windows[w]
        with self._lock:
            totals = list(self._window_totals[w])
            wb = self._wm_bucket
            future = future_in_window(self._future, spec.first_bucket(wb) if wb is not None else None)
        start, end = spec.bounds(wb, self.bucket_seconds) if wb is not None else (0.0, 0.0)
        flows = dict.fromkeys(LAYERS, 0)
        tunnels_: dict[tuple[str, str | None], dict[str, int]] = {}
        for slot in range(_LATE_SLOT):
            n = totals[slot]
            if not n:
                continue
            pair, layer = divmod(slot, _NLAYER)
            g, r = divmod(pair, _NSEG + 1)
            flows[LAYERS[layer]] += n
            key = (SEGMENTS[g], None if r == _NO_RECEIVER else SEGMENTS[r])
            tunnels_.setdefault(key, dict.fromkeys(LAYERS, 0))[LAYERS[layer]] += n
        return LiveWindow(
            spec.name, spec.seconds, start, end, flows, tunnels_, totals[_LATE_SLOT], future, self._hold.held
        )

    def live_flow_rates(self, window: str) -> dict[str, float]:
        """Flows per second by type in ``window`` right now (``N_t / L``), every applied flow included."""
        return self.live_window(window).flows_per_s

    def live_strength(self, actor: str, window: str) -> dict[str, float]:
        """``{"out_knowledge": …, "in_knowledge": …, …}`` of ``actor`` in ``window``, every applied flow included."""
        w = self._window_index(window)
        with self._lock:
            i = self._actor.get(actor)
            giver, receiver, layer = self._window_columns(w)
        out: dict[str, float] = {}
        edge = (receiver >= 0) & (receiver != giver) & (layer < 3)
        for li, name in enumerate(EDGE_LAYERS):
            on = edge & (layer == li)
            out[f"out_{name}"] = float(np.count_nonzero(on & (giver == i))) if i is not None else 0.0
            out[f"in_{name}"] = float(np.count_nonzero(on & (receiver == i))) if i is not None else 0.0
        return out

    # ------------------------------------------------------------------ ticks
    def snapshot(self) -> StoreSnapshot:
        """Copy the retained buckets and thread outcomes (cheap; holds the lock only for the copy)."""
        with self._lock:
            keys = list(self._keys)
            buckets = [self._buckets[k] for k in keys]
            sizes = np.array([len(b.layer) for b in buckets], dtype=np.int64)

            def cat(attr: str, dtype: type) -> np.ndarray:
                parts: list[np.ndarray] = [np.frombuffer(getattr(b, attr), dtype=dtype) for b in buckets]
                return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

            snap = StoreSnapshot(
                network=self.network,
                watermark=self._watermark,
                bucket_seconds=self.bucket_seconds,
                windows=list(self.windows),
                giver=cat("giver", np.int32),
                receiver=cat("receiver", np.int32),
                layer=cat("layer", np.int8),
                kind=cat("kind", np.int8),
                unsure=cat("unsure", np.bool_),
                bucket=np.repeat(np.array(keys, dtype=np.int64), sizes),
                amp_index=cat("amp_at", np.int32).astype(np.int64)
                + np.repeat(np.cumsum(sizes) - sizes, [len(b.amp_at) // 4 for b in buckets]).astype(np.int64),
                amp_item=cat("amp_item", np.int64),
                amp_own=cat("amp_own", np.int64),
                names=np.array(self._names, dtype=object),
                segment=np.frombuffer(self._segment, dtype=np.int8).copy(),
                team=np.frombuffer(self._team, dtype=np.int32).copy(),
                team_names=tuple(self._team_names),
                followers=np.frombuffer(self._followers, dtype=np.float64).copy(),
                questions=self._questions.rows(),
                ideas=self._ideas.rows(),
                late=dict(self._late),
                future=dict(self._future),
                kinds=dict(self._kinds),
                engine=self.engine,
                betweenness_pivots=self.betweenness_pivots,
                reach_hops=self.reach_hops,
                seed=self.seed,
            )
            snap.community_prev, snap.community_reuse = self._community_plan()
            snap.brokerage_prev = dict(self._brokerage)
        return snap

    def tick(self, now_wall: datetime | None = None) -> TickResult:
        """Snapshot, compute every window, :meth:`record` the result (the store stays usable meanwhile)."""
        result = compute_tick(self.snapshot(), now_wall)
        self.record(result)
        return result

    def _slide_counters(self, wb: int) -> None:
        """Subtract the buckets leaving each window; forget those that left the longest one."""
        keys = self._count_keys
        for w, spec in enumerate(self.windows):
            first, old = spec.first_bucket(wb), self._window_first[w]
            self._window_first[w] = first
            if old is None:
                continue
            leaving = keys[bisect.bisect_left(keys, old) : bisect.bisect_left(keys, first)]
            if leaving:  # their counts side by side, summed once
                gone = np.frombuffer(b"".join([self._counts[k] for k in leaving]), dtype=np.int64)
                np.frombuffer(self._window_totals[w], dtype=np.int64)[:] -= gone.reshape(len(leaving), -1).sum(axis=0)
        first_longest = self._window_first[self._longest]
        cut = bisect.bisect_left(keys, first_longest) if first_longest is not None else 0
        for k in keys[:cut]:
            del self._counts[k]
        del keys[:cut]

    def record(self, result: TickResult) -> None:
        """Remember ``result``'s partitions for the Louvain staleness policy (module docstring).

        Call it with every result computed from :meth:`snapshot` elsewhere (worker process):
        without it every tick recomputes Louvain on every window (correct, just slower).
        """
        with self._lock:
            for w in result.windows:
                self._community[w.window] = (w.actor_ids, w.community)
                self._brokerage[w.window] = (w.actor_ids, w.constraint, w.effective_size, w.broker_roles)
            self._ticks += 1

    def _community_plan(self) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], frozenset[str]]:
        """Previous partitions and the windows that carry theirs over this tick (lock held)."""
        due = {spec.name for i, spec in enumerate(self.windows) if (self._ticks + i) % self.community_every == 0}
        reuse = frozenset(
            w for w, (ids, _) in self._community.items() if len(ids) >= self.community_reuse_min_actors and w not in due
        )
        return dict(self._community), reuse

    def rebuild(self, flows: Iterable[Flow]) -> dict[str, int]:
        """Reset and replay ``flows`` in order (give the live consumption order for an identical state)."""
        with self._lock:
            self._reset()
            self._community = {}
            self._brokerage = {}
            self._ticks = 0
        return self.add_many(flows)
