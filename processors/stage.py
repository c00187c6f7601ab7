"""The processors stage as plain code: raw bytes → Interactions → Flows, or dead letters.

parse → dedupe → identity + segment → classify. The faust agent in
``processors/agents.py`` only moves bytes between topics; everything it does
to a record happens here, so tests call it without Kafka.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from valuenet.ingest.dlq import DlqRecord, dlq_record
from valuenet.ingest.errors import ParseError
from valuenet.ingest.parents import ParentIndex
from valuenet.ingest.parsers import parse
from valuenet.schemas import Flow, Interaction, RawEnvelope
from valuenet.schemas.envelope import RawBatch, is_batch

__all__ = ["StageResult", "ProcessorStage", "dedupe_key"]


@dataclass(slots=True)
class StageResult:
    """What one batch produced."""

    interactions: list[Interaction] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    directory: list[dict] = field(default_factory=list)  # rows for the `directory` table (new or changed actors)
    dead: list[DlqRecord] = field(default_factory=list)
    duplicates: int = 0


def _validation_field(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
    msg = err.get("msg", str(exc))
    if err.get("type") != "missing" and isinstance(err.get("input"), (str, int, float, bool)):
        msg = f"{msg} (got {str(err['input'])[:80]!r})"
    return loc, msg


STAGE = "normalise"
KNOWN_ACTORS = 1_000_000  # bounded memory of actors already written to `directory`


def dedupe_key(network: str, event_id: str) -> str:
    """Event ids are unique within a network; the same id in two networks is two events."""
    return f"{network}\x1f{event_id}"


class ProcessorStage:
    """Stateful per-worker processor: parent index, deduper, identity directory, classifier."""

    def __init__(
        self, *, dedupe, identity, classify_flow, pseudonymiser=None, parents: ParentIndex | None = None
    ) -> None:
        self.parents = parents or ParentIndex()
        self.dedupe = dedupe
        self.identity = identity
        self.classify_flow = classify_flow
        self.pseudonymiser = pseudonymiser
        self._known: OrderedDict[tuple[str, str], tuple] = OrderedDict()  # (network, actor) → directory facts
        self._networks: dict[str, set[str]] = {}  # actor id (as in flows) → networks it appeared in

    def envelope(self, raw: bytes) -> RawEnvelope | DlqRecord:
        """Decode and validate one raw record, or explain why not."""
        try:
            return RawEnvelope.model_validate_json(raw)
        except ValidationError as exc:
            loc, msg = _validation_field(exc)
            source, network = "unknown", ""
            try:
                obj = json.loads(raw)
                if isinstance(obj, dict):
                    source, network = str(obj.get("source", "unknown"))[:64], str(obj.get("network", ""))[:128]
            except ValueError:
                return dlq_record(
                    stage=STAGE,
                    source=source,
                    network=network,
                    reason=f"malformed JSON: {msg}",
                    field="<root>",
                    record=raw,
                )
            return dlq_record(
                stage=STAGE,
                source=source,
                network=network,
                reason=f"invalid envelope field '{loc}': {msg}",
                field=loc,
                record=raw,
            )

    def envelopes(self, raw: bytes) -> list[tuple[RawEnvelope | DlqRecord, object]]:
        """(envelope or dead letter, its record) for each envelope of a raw value (one object or a batch array)."""
        if not is_batch(raw):
            return [(self.envelope(raw), raw)]
        try:
            return [(env, env) for env in RawBatch.validate_json(raw)]  # the common case: one pass
        except ValidationError:
            pass
        try:
            items = json.loads(raw)
        except ValueError as exc:
            return [
                (
                    dlq_record(
                        stage=STAGE,
                        source="unknown",
                        network="",
                        reason=f"malformed JSON batch: {exc}",
                        field="<root>",
                        record=raw,
                    ),
                    raw,
                )
            ]
        out: list[tuple[RawEnvelope | DlqRecord, object]] = []
        for i, item in enumerate(items):
            try:
                out.append((RawEnvelope.model_validate(item), item))
            except ValidationError as exc:
                loc, msg = _validation_field(exc)
                obj = item if isinstance(item, dict) else {}
                out.append(
                    (
                        dlq_record(
                            stage=STAGE,
                            source=str(obj.get("source", "unknown"))[:64],
                            network=str(obj.get("network", ""))[:128],
                            reason=f"invalid envelope field '[{i}].{loc}' of a batch: {msg}",
                            field=f"[{i}].{loc}",
                            record=item,
                        ),
                        item,
                    )
                )
        return out

    def process(self, records: list[bytes]) -> StageResult:
        """Turn a batch of raw records (single envelopes or envelope arrays) into interactions, flows and dead letters."""
        out = StageResult()
        for env, raw in (pair for record in records for pair in self.envelopes(record)):
            if isinstance(env, DlqRecord):
                out.dead.append(env)
                continue
            try:
                interactions = parse(env, self.parents)
            except ParseError as exc:
                out.dead.append(self._dead(env, str(exc), exc.field, raw))
                continue
            except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the partition
                out.dead.append(self._dead(env, f"parser error: {exc!r}", "payload", raw))
                continue
            for it in interactions:
                if self.dedupe.seen(dedupe_key(it.network, it.event_id), it.timestamp.timestamp()):
                    out.duplicates += 1
                    continue
                try:
                    flow = self.classify_flow(it, self.identity)
                except Exception as exc:  # noqa: BLE001 - one record, not the partition
                    out.dead.append(self._dead(env, f"cannot resolve or classify: {exc!r}", "interaction", it))
                    continue
                out.interactions.append(self.pseudonymiser.interaction(it) if self.pseudonymiser else it)
                out.flows.append(flow)
                self._note_actor(out, flow, it.actor_name)
        out.directory.extend(self.identity_updates())
        return out

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
            if after.actor != before.actor or (after.segment, after.team) == (before.segment, before.team):
                continue
            actor = self.pseudonymiser.pseudonym(after.actor) if self.pseudonymiser else after.actor
            for network in sorted(self._networks.get(actor, ())):
                known = self._known.get((network, actor))
                facts = (known[0] if known else "", after.segment.value, after.team)
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

        Display names live only in ``directory`` (never in flows), so pseudonymised ids stay
        apart from the names they hide; the table is ReplacingMergeTree, latest row wins.
        """
        self._seen_in(flow.network, flow.giver)
        self._seen_in(flow.network, flow.receiver)
        key = (flow.network, flow.giver)
        known = self._known.get(key)
        facts = (display_name or (known[0] if known else ""), flow.giver_segment.value, flow.giver_team)
        if self._known.get(key) == facts:
            self._known.move_to_end(key)
            return
        self._known[key] = facts
        if len(self._known) > KNOWN_ACTORS:
            self._known.popitem(last=False)
        out.directory.append(self._directory_row(flow.network, flow.giver, facts))

    @staticmethod
    def _dead(env: RawEnvelope, reason: str, field_path: str, record: object) -> DlqRecord:
        return dlq_record(
            stage=STAGE, source=env.source.value, network=env.network, reason=reason, field=field_path, record=record
        )
