"""The processors stage as plain code: raw bytes → Interactions → Flows, or dead letters.

parse → dedupe → identity + segment → classify. The faust agent in
``processors/agents.py`` only moves bytes between topics; everything it does
to a record happens here, so tests call it without Kafka.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse
from valuenet.processors.classify import Classification, classify, classify_many, flow_of, to_flow
from valuenet.processors.identity import ActorIdentity
from valuenet.processors.kinds import KindResolver
from valuenet.schemas import Flow, Interaction, RawEnvelope
from valuenet.schemas.dlq import DlqRecord, dlq_record
from valuenet.schemas.envelope import RawBatch, fast_envelopes, is_batch
from valuenet.schemas.flow import ActorKind, Segment
from valuenet.schemas.flow_wire import FlowsFormat, encode_flows_value
from valuenet.schemas.gcpause import paused_gc
from valuenet.schemas.interaction import Kind
from valuenet.schemas.limits import bound_flow
from valuenet.schemas.text import TextError, loads, needs_repair

if TYPE_CHECKING:
    from valuenet.processors.privacy import Pseudonymiser

__all__ = ["FLOWS_RECORD_BYTES", "StageResult", "ProcessorStage", "dedupe_key", "encode_flows"]

log = logging.getLogger(__name__)

#: An interaction through the time guard, dedupe and identity: (envelope position, index in its
#: envelope, envelope, record, lane, interaction, giver, receiver, giver's and receiver's display name).
_Admitted = tuple[
    int, int, RawEnvelope, object, "int | None", Interaction, ActorIdentity, "ActorIdentity | None", Any, Any
]
_SEGMENT_VALUE = {s: s.value for s in Segment}
_PERSON = ActorKind.person
_ORGANISATION = ActorKind.organisation
_POST = Kind.post
_LAST = 1 << 30  # an envelope's unexpected-error letter sorts after its interactions' letters
_PER_FLOW: Any = object()  # a classify_flow the batch path cannot stand in for


def _position(item: tuple[int, int, DlqRecord]) -> tuple[int, int]:
    return item[0], item[1]


def _batch_pseudonymiser(classify_flow: object) -> Any:
    """The pseudonymiser of a default ``classify_flow`` (``to_flow``, maybe with one), else ``_PER_FLOW``."""
    if classify_flow is to_flow:
        return None
    if isinstance(classify_flow, partial) and classify_flow.func is to_flow and not classify_flow.args:
        if set(classify_flow.keywords) <= {"pseudonymiser"}:
            return classify_flow.keywords.get("pseudonymiser")
    return _PER_FLOW


@dataclass(slots=True)
class StageResult:
    """What one batch produced."""

    interactions: list[Interaction] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    directory: list[dict] = field(default_factory=list)  # rows for the `directory` table (new or changed actors)
    dead: list[DlqRecord] = field(default_factory=list)
    duplicates: int = 0


#: Default byte cap of one ``valuenet.flows`` record (``Settings.flows_record_bytes``).
FLOWS_RECORD_BYTES = 512 * 1024


def encode_flows(
    flows: list[Flow], per_record: int, max_bytes: int = FLOWS_RECORD_BYTES, fmt: FlowsFormat = "json"
) -> tuple[list[tuple[str, bytes]], list[DlqRecord]]:
    """``flows`` as (network, record) Kafka records of at most ``per_record`` flows and ``max_bytes`` bytes.

    ``fmt``: ``json`` (a JSON array) or ``arrow`` (columnar Arrow IPC, schemas/flow_wire.py); the byte cap
    holds for both.
    One network per record. Identifiers are bounded first (``schemas.limits.bound_flow``: a thread,
    channel or parent id over 512 characters becomes its head + a hash). Fields at their default are
    left out (a third fewer bytes for the broker and both clients; the graph agent's decoders fill them
    in). A chunk over ``max_bytes`` is cut into smaller records; a single flow still over it, or one
    that cannot be encoded, is dead-lettered with the reason naming its event.
    """
    by_network: dict[str, list[Flow]] = {}
    for flow in flows:
        by_network.setdefault(flow.network, []).append(flow)
    records: list[tuple[str, bytes]] = []
    dead: list[DlqRecord] = []
    for network, mine in by_network.items():
        for i in range(0, len(mine), per_record):
            _encode_chunk(network, [bound_flow(f) for f in mine[i : i + per_record]], max_bytes, records, dead, fmt)
    return records, dead


def _encode_chunk(
    network: str,
    chunk: list[Flow],
    max_bytes: int,
    records: list[tuple[str, bytes]],
    dead: list[DlqRecord],
    fmt: FlowsFormat = "json",
) -> None:
    """Append ``chunk`` as one record when it encodes within ``max_bytes``; else cut it, or dead-letter a flow."""
    try:
        value: bytes | None = encode_flows_value(chunk, fmt)
    except Exception:  # noqa: BLE001 - find the flow at fault below
        value = None
    if value is not None and len(value) <= max_bytes:
        records.append((network, value))
        return
    if value is None:
        good = []
        for flow in chunk:
            try:
                encode_flows_value([flow], fmt)
                good.append(flow)
            except Exception as exc:  # noqa: BLE001 - one flow, not the batch
                dead.append(_flow_letter(network, flow, f"cannot encode the flow: {exc!r}"))
        if good:
            _encode_chunk(network, good, max_bytes, records, dead, fmt)
        return
    if len(chunk) == 1:
        flow = chunk[0]
        reason = (
            f"flow of event {flow.event_id[:200]!r} (network {network!r}) encodes to {len(value)} bytes, over the "
            f"{max_bytes}-byte limit of a valuenet.flows record (flows_record_bytes); not sent"
        )
        dead.append(_flow_letter(network, flow, reason))
        return
    parts = max(2, -(-len(value) * 11 // (max_bytes * 10)))  # ceil(size × 1.1 / cap): most parts fit at once
    step = -(-len(chunk) // parts)
    for i in range(0, len(chunk), step):
        _encode_chunk(network, chunk[i : i + step], max_bytes, records, dead, fmt)


def _flow_letter(network: str, flow: Flow, reason: str) -> DlqRecord:
    """The dead letter of one flow the processors stage could not put on ``valuenet.flows``."""
    return dlq_record(stage=STAGE, source=flow.source.value, network=network, reason=reason, field="flow", record=flow)


def _unexpected(field_path: str, exc: Exception, record: object) -> DlqRecord:
    """The dead letter of a record whose handling raised something no stage step expected."""
    return dlq_record(
        stage=STAGE, source="unknown", network="", reason=f"unexpected error: {exc!r}", field=field_path, record=record
    )


def _validation_field(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
    msg = err.get("msg", str(exc))
    if err.get("type") != "missing" and isinstance(err.get("input"), (str, int, float, bool)):
        msg = f"{msg} (got {str(err['input'])[:80]!r})"
    return loc, msg


STAGE = "normalise"
FUTURE_TOLERANCE_S = 300.0  # default of Settings.future_tolerance_seconds
KNOWN_ACTORS = 1_000_000  # bounded memory of actors already written to `directory`


def dedupe_key(network: str, event_id: str) -> str:
    """Event ids are unique within a network; the same id in two networks is two events."""
    return f"{network}\x1f{event_id}"


class ProcessorStage:
    """Stateful per-worker processor: parent index, deduper, identity directory, classifier.

    State per raw partition (lane): one network's threads spread over the partitions and a
    worker holds some of them, so the parent index is kept per lane — a reply finds its parent
    in its own partition (``ingest/routing.py`` keeps them together), and what one worker
    resolves never depends on which other partitions it happens to hold. The deduper is one per
    worker: an event id always lands on one partition, so its memory never mixes lanes' answers.
    Identity (the directory and its rules) is shared configuration, the same on every worker.
    """

    def __init__(
        self,
        *,
        dedupe,
        identity,
        classify_flow,
        pseudonymiser=None,
        parents: ParentIndex | None = None,
        future_tolerance_s: float = FUTURE_TOLERANCE_S,
        pause_gc: bool = True,
    ) -> None:
        self.future_tolerance_s = future_tolerance_s
        self.pause_gc = pause_gc
        self._now = time.time()
        self.future_events: Counter[str] = Counter()  # network → events dead-lettered as dated in the future
        self.ancient_events: Counter[str] = Counter()  # network → events dated before 1970 (no DateTime holds them)
        self.parents = parents or ParentIndex()
        self._lane_parents: dict[int, ParentIndex] = {}  # raw partition → its parent index
        self.dedupe = dedupe
        self.identity = identity
        self.classify_flow = classify_flow
        self.pseudonymiser = pseudonymiser
        self.kinds = KindResolver(identity)  # each flow's giver / receiver kind (processors/kinds.py)
        self._known: OrderedDict[tuple[str, str], tuple] = OrderedDict()  # (network, actor) → directory facts
        self._networks: dict[str, set[str]] = {}  # actor id (as in flows) → networks it appeared in

    def envelope(self, raw: bytes) -> RawEnvelope | DlqRecord:
        """Decode and validate one raw record (text repaired, see ``schemas.text``), or explain why not."""
        if not needs_repair(raw):
            try:
                return RawEnvelope.model_validate_json(raw)  # the common case: one pass
            except ValidationError:
                pass  # explained below from the decoded document
        try:
            obj = loads(raw)
        except TextError as exc:
            return dlq_record(stage=STAGE, source="unknown", network="", reason=str(exc), field="<root>", record=raw)
        return self._validate(obj, raw, "")

    @staticmethod
    def _validate(obj: object, record: object, prefix: str) -> RawEnvelope | DlqRecord:
        """Validate one decoded (and cleaned) envelope; a dead letter names the field (``prefix``: its batch index)."""
        try:
            return RawEnvelope.model_validate(obj)
        except ValidationError as exc:
            loc, msg = _validation_field(exc)
            fields = obj if isinstance(obj, dict) else {}
            where = " of a batch" if prefix else ""
            return dlq_record(
                stage=STAGE,
                source=str(fields.get("source", "unknown"))[:64],
                network=str(fields.get("network", ""))[:128],
                reason=f"invalid envelope field '{prefix}{loc}'{where}: {msg}",
                field=f"{prefix}{loc}",
                record=record,
            )

    def envelopes(self, raw: bytes, *, fast: bool = True) -> list[tuple[RawEnvelope | DlqRecord, object]]:
        """(envelope or dead letter, its record) for each envelope of a raw value (one object or a batch array).

        ``fast``: try the typed one-call decoder first (``schemas.envelope.fast_envelopes``); whatever
        it refuses takes pydantic's path, which names the field of a dead letter.
        """
        if fast:
            decoded = fast_envelopes(raw)
            if decoded is not None:  # a dead letter shows a single envelope's bytes, a batch's item as decoded
                return [(env, env) for env in decoded] if is_batch(raw) else [(decoded[0], raw)]
        if not is_batch(raw):
            return [(self.envelope(raw), raw)]
        if not needs_repair(raw):
            try:
                return [(env, env) for env in RawBatch.validate_json(raw)]  # the common case: one pass
            except ValidationError:
                pass
        try:
            items = loads(raw)
        except TextError as exc:
            reason = str(exc).replace("JSON", "JSON batch", 1)
            return [
                (dlq_record(stage=STAGE, source="unknown", network="", reason=reason, field="<root>", record=raw), raw)
            ]
        if not isinstance(items, list):
            items = [items]
        return [(self._validate(item, item, f"[{i}]."), item) for i, item in enumerate(items)]

    def parents_of(self, lane: int | None) -> ParentIndex:
        """The parent index of raw partition ``lane`` (``None``: the stage's single index)."""
        if lane is None:
            return self.parents
        index = self._lane_parents.get(lane)
        if index is None:
            index = self._lane_parents[lane] = ParentIndex(self.parents.capacity)
        return index

    def process(self, records: list[bytes], lanes: list[int] | None = None) -> StageResult:
        """Turn a batch of raw records (single envelopes or envelope arrays) into interactions, flows and dead letters.

        ``lanes``: each record's raw partition; its flows carry it (``Flow.lane``) and it picks the
        parent index.

        The error boundary: whatever one record raises (decode, parse, validate, classify) dead-letters
        that record with the reason and the field; the rest of the batch goes on.

        Batch-first: decode every record (one typed call each), parse every envelope, then the
        time guard, dedupe and identity per interaction in order, one ``classify_many`` over the
        batch, and the flows built without re-validation. The result is exactly
        :meth:`process_each`'s (``tests/test_stage_batch.py``), which a stage with its own
        ``classify_flow`` runs instead.

        ``pause_gc``: Python's cyclic garbage collector is paused for the call (restored after): a
        batch allocates tens of thousands of containers, each 700 of them triggered a collection,
        and the older generations' passes rescanned the whole heap. The stage's objects hold no
        reference cycles (reference counting frees them); the collector runs after the batch.
        """
        pseudonymiser = _batch_pseudonymiser(self.classify_flow)
        if pseudonymiser is _PER_FLOW:
            return self.process_each(records, lanes)
        with paused_gc(self.pause_gc):
            return self._process(records, lanes, pseudonymiser)

    def _process(
        self, records: list[bytes], lanes: list[int] | None, pseudonymiser: Pseudonymiser | None
    ) -> StageResult:
        out = StageResult()
        self._now = time.time()
        dead: list[tuple[int, int, DlqRecord]] = []  # (envelope position, interaction index, letter)
        admitted = self._admit(self._decode(records, lanes, dead), dead, out)
        self._build(admitted, dead, out, pseudonymiser)
        if dead:
            dead.sort(key=_position)
            out.dead = [d for _, _, d in dead]
        try:
            out.directory.extend(self.identity_updates())
        except Exception:
            log.exception("identity directory check failed; actors keep their segments")
        return out

    def _decode(
        self, records: list[bytes], lanes: list[int] | None, dead: list[tuple[int, int, DlqRecord]]
    ) -> list[tuple[int, RawEnvelope, object, int | None]]:
        """(position, envelope, its record, lane) of every envelope of ``records``; the rest into ``dead``."""
        envs: list[tuple[int, RawEnvelope, object, int | None]] = []
        pos = 0
        for i, record in enumerate(records):
            lane = lanes[i] if lanes is not None else None
            try:
                pairs = self.envelopes(record)
            except Exception as exc:  # noqa: BLE001 - one record, not the partition
                dead.append((pos, -1, _unexpected("<root>", exc, record)))
                pos += 1
                continue
            for env, raw in pairs:
                if isinstance(env, DlqRecord):
                    dead.append((pos, -1, env))
                else:
                    envs.append((pos, env, raw, lane))
                pos += 1
        return envs

    def _admit(
        self,
        envs: list[tuple[int, RawEnvelope, object, int | None]],
        dead: list[tuple[int, int, DlqRecord]],
        out: StageResult,
    ) -> list[_Admitted]:
        """Parse each envelope, then per interaction in order: time guard, dedupe, identity (and display names)."""
        admitted: list[_Admitted] = []
        add = admitted.append
        now, tolerance = self._now, self.future_tolerance_s
        seen = self.dedupe.seen
        identity = self.identity
        resolve = identity.resolve_named
        for pos, env, raw, lane in envs:
            try:
                interactions = parse(env, self.parents_of(lane))
            except ParseError as exc:
                dead.append((pos, -1, self._dead(env, str(exc), exc.field, raw)))
                continue
            except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the partition
                dead.append((pos, -1, self._dead(env, f"parser error: {exc!r}", "payload", raw)))
                continue
            try:
                limit = min(env.received_at.timestamp(), now) + tolerance
                for j, it in enumerate(interactions):
                    ts = it.timestamp.timestamp()
                    if ts > limit or ts < 0:
                        dead.append((pos, j, self._out_of_time(env, it, ts > limit, raw)))
                        continue
                    if seen(f"{it.network}\x1f{it.event_id}", ts):  # dedupe_key, inlined
                        out.duplicates += 1
                        continue
                    try:
                        giver, receiver, giver_name, receiver_name = resolve(it)
                    except Exception as exc:  # noqa: BLE001 - one record, not the partition
                        dead.append(
                            (pos, j, self._dead(env, f"cannot resolve or classify: {exc!r}", "interaction", it))
                        )
                        continue
                    add((pos, j, env, raw, lane, it, giver, receiver, giver_name, receiver_name))
            except Exception as exc:  # noqa: BLE001 - one record, not the partition
                dead.append((pos, _LAST, self._dead(env, f"unexpected error: {exc!r}", "<record>", raw)))
        return admitted

    def _build(
        self,
        admitted: list[_Admitted],
        dead: list[tuple[int, int, DlqRecord]],
        out: StageResult,
        pseudonymiser: Pseudonymiser | None,
    ) -> None:
        """Classify the admitted interactions at once, build their flows and queue the directory rows."""
        try:
            decisions: list[Classification] | None = classify_many([a[5] for a in admitted])
        except Exception:  # noqa: BLE001 - find the interaction at fault one by one below
            decisions = None
        interactions, flows = out.interactions, out.flows
        networks, known = self._networks, self._known
        hide = self.pseudonymiser.interaction if self.pseudonymiser else None
        for n, (pos, j, env, raw, lane, it, giver, receiver, giver_name, receiver_name) in enumerate(admitted):
            try:
                if decisions is not None:
                    decision = decisions[n]
                else:
                    decision = classify(it, giver.segment, receiver.segment if receiver else Segment.unknown)
                flow = flow_of(it, giver, receiver, decision, pseudonymiser, lane)
                self._set_kinds(flow, it)
            except Exception as exc:  # noqa: BLE001 - one record, not the partition
                dead.append((pos, j, self._dead(env, f"cannot resolve or classify: {exc!r}", "interaction", it)))
                continue
            try:
                interactions.append(hide(it) if hide else it)
                flows.append(flow)
                # _note_actor and _note_receiver, inlined: the common case is an actor already known as is
                network, actor, target = flow.network, flow.giver, flow.receiver
                nets = networks.get(actor)
                if nets is None:
                    self._seen_in(network, actor)
                else:
                    nets.add(network)
                if target is not None:
                    nets = networks.get(target)
                    if nets is None:
                        self._seen_in(network, target)
                    else:
                        nets.add(network)
                key = (network, actor)
                was = known.get(key)
                segment, team = _SEGMENT_VALUE[flow.giver_segment], flow.giver_team
                if was is not None and was == (giver_name or was[0], segment, team):
                    known.move_to_end(key)
                else:
                    self._note(out, network, actor, giver_name, segment, team)
                if receiver_name and target is not None and it.target is not None:
                    self._note(
                        out, network, target, receiver_name, _SEGMENT_VALUE[flow.receiver_segment], flow.receiver_team
                    )
            except Exception as exc:  # noqa: BLE001 - one record, not the partition
                dead.append((pos, _LAST, self._dead(env, f"unexpected error: {exc!r}", "<record>", raw)))

    def process_each(self, records: list[bytes], lanes: list[int] | None = None) -> StageResult:
        """:meth:`process` one envelope at a time (pydantic decoding, one ``classify_flow`` call per interaction).

        The reference the batch path is tested against, and the path of a stage whose
        ``classify_flow`` is not the default ``to_flow``.
        """
        out = StageResult()
        self._now = time.time()
        for i, record in enumerate(records):
            lane = lanes[i] if lanes is not None else None
            try:
                pairs = self.envelopes(record, fast=False)
            except Exception as exc:  # noqa: BLE001 - one record, not the partition
                out.dead.append(_unexpected("<root>", exc, record))
                continue
            for env, raw in pairs:
                if isinstance(env, DlqRecord):
                    out.dead.append(env)
                    continue
                try:
                    self._one(env, raw, out, lane)
                except Exception as exc:  # noqa: BLE001 - one record, not the partition
                    out.dead.append(self._dead(env, f"unexpected error: {exc!r}", "<record>", raw))
        try:
            out.directory.extend(self.identity_updates())
        except Exception:
            log.exception("identity directory check failed; actors keep their segments")
        return out

    def _one(self, env: RawEnvelope, raw: object, out: StageResult, lane: int | None = None) -> None:
        """Parse → dedupe → classify one envelope into ``out`` (failures become its dead letters)."""
        try:
            interactions = parse(env, self.parents_of(lane))
        except ParseError as exc:
            out.dead.append(self._dead(env, str(exc), exc.field, raw))
            return
        except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the partition
            out.dead.append(self._dead(env, f"parser error: {exc!r}", "payload", raw))
            return
        limit = min(env.received_at.timestamp(), self._now) + self.future_tolerance_s
        for it in interactions:
            ts = it.timestamp.timestamp()
            if ts > limit or ts < 0:
                out.dead.append(self._out_of_time(env, it, ts > limit, raw))
                continue
            if self.dedupe.seen(dedupe_key(it.network, it.event_id), ts):
                out.duplicates += 1
                continue
            try:
                flow = self.classify_flow(it, self.identity)
            except Exception as exc:  # noqa: BLE001 - one record, not the partition
                out.dead.append(self._dead(env, f"cannot resolve or classify: {exc!r}", "interaction", it))
                continue
            if lane is not None:
                flow.lane = lane
            self._set_kinds(flow, it)
            out.interactions.append(self.pseudonymiser.interaction(it) if self.pseudonymiser else it)
            out.flows.append(flow)
            self._note_actor(out, flow, self.identity.display_name(it.actor, it.actor_name))
            if it.target is not None and flow.receiver is not None:
                self._note_receiver(out, flow, self.identity.display_name(it.target))

    def _set_kinds(self, flow: Flow, it: Interaction) -> None:
        """Give ``flow`` its giver's and receiver's kinds (``processors/kinds.py``); persons keep the default.

        A post addressed to an organisation (an issue, pull request or discussion opened into an
        organisation's repository) opens a thread and gives the organisation nothing: no receiver,
        like a question; the people who answer in the thread give and receive the flows.
        """
        kinds = self.kinds
        gk = kinds.giver(it)
        rk = kinds.receiver(it) if flow.receiver is not None else _PERSON
        if gk is not _PERSON or rk is not _PERSON:
            values = flow.__dict__  # built without validation (schemas.trusted): set the fields the same way
            values["giver_kind"] = gk
            if rk is _ORGANISATION and it.kind is _POST:
                values["receiver"] = None
                values["receiver_segment"] = Segment.unknown
                values["receiver_team"] = None
                return
            values["receiver_kind"] = rk

    def identity_updates(self) -> list[dict]:
        """``directory`` rows for actors whose segment or team changed (directory reload, learned rule).

        One row per network the actor appeared in; analytics applies them to its graphs, so an
        actor is re-segmented without waiting for its next flow. A change of canonical id (two
        accounts merged into one person) is not replayed: new flows carry the new id.
        """
        self.identity.maybe_reload_due()
        rows = []
        for change in self.identity.changed_actors():
            before, after = change.before, change.after
            name = self.identity.person_name(after.person)  # a renamed directory person is a change too
            renamed = name is not None and name != before.name
            if after.actor != before.actor or (
                (after.segment, after.team) == (before.segment, before.team) and not renamed
            ):
                continue
            actor = self.pseudonymiser.pseudonym(after.actor) if self.pseudonymiser else after.actor
            for network in sorted(self._networks.get(actor, ())):
                known = self._known.get((network, actor))
                facts = (name or (known[0] if known else ""), after.segment.value, after.team)
                self._known[(network, actor)] = facts
                rows.append(self._directory_row(network, actor, facts))
        return rows

    def _seen_in(self, network: str, actor: str | None) -> None:
        if actor is None:
            return
        nets = self._networks.get(actor)
        if nets is None:
            if len(self._networks) >= KNOWN_ACTORS:
                self._networks.clear()  # bounded; forgotten actors are re-segmented from their next flow
            nets = self._networks[actor] = set()
        nets.add(network)

    @staticmethod
    def _directory_row(network: str, actor: str, facts: tuple) -> dict:
        return {
            "network": network,
            "actor": actor,
            "display_name": facts[0],
            "segment": facts[1],
            "team": facts[2],
            "organisation": None,
            "updated_at": datetime.now(UTC),
        }

    def _note_actor(self, out: StageResult, flow: Flow, display_name: str | None) -> None:
        """Queue a ``directory`` row when the giver is new to this worker or its facts changed.

        ``display_name``: the directory person's name when the identity directory has one, else
        the platform's (``IdentityResolver.display_name``). Display names live only in
        ``directory`` (never in flows), so pseudonymised ids stay apart from the names they hide;
        the table is ReplacingMergeTree, latest row wins.
        """
        self._seen_in(flow.network, flow.giver)
        self._seen_in(flow.network, flow.receiver)
        self._note(out, flow.network, flow.giver, display_name, flow.giver_segment.value, flow.giver_team)

    def _note_receiver(self, out: StageResult, flow: Flow, display_name: str | None) -> None:
        """Queue a ``directory`` row for a receiver the identity directory names (others get theirs as givers)."""
        if display_name and flow.receiver is not None:
            segment = flow.receiver_segment.value
            self._note(out, flow.network, flow.receiver, display_name, segment, flow.receiver_team)

    def _note(
        self, out: StageResult, network: str, actor: str, display_name: str | None, segment: str, team: str | None
    ) -> None:
        key = (network, actor)
        known = self._known.get(key)
        facts = (display_name or (known[0] if known else ""), segment, team)
        if known == facts:
            self._known.move_to_end(key)
            return
        self._known[key] = facts
        if len(self._known) > KNOWN_ACTORS:
            self._known.popitem(last=False)
        out.directory.append(self._directory_row(network, actor, facts))

    def _out_of_time(self, env: RawEnvelope, it: Interaction, future: bool, raw: object) -> DlqRecord:
        """The dead letter of an event dated in the future (past received_at + tolerance) or before 1970; counted."""
        when = it.timestamp.isoformat()
        if future:
            self.future_events[it.network] += 1
            received = env.received_at.isoformat()
            reason = (
                f"future event: event time {when} is later than received_at {received} (or now) "
                f"+ {self.future_tolerance_s:g} s; dead-lettered so it cannot move the watermark"
            )
        else:
            self.ancient_events[it.network] += 1
            reason = f"event time {when} is before 1970-01-01, outside what the store holds"
        return self._dead(env, f"{reason} (event {it.event_id})", "timestamp", raw)

    @staticmethod
    def _dead(env: RawEnvelope, reason: str, field_path: str, record: object) -> DlqRecord:
        return dlq_record(
            stage=STAGE, source=env.source.value, network=env.network, reason=reason, field=field_path, record=record
        )
