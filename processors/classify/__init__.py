"""Flow classification: an Interaction → knowledge, idea, reputation or none, with confidence and reason.

Layers, cheapest first (each returns as soon as it decides):

1. **guards** — bots and self-interactions → ``none`` (``guard:bot``, ``guard:self``);
2. **kind priors** (:mod:`.priors`) — star, reaction, repost, follow, approve, apply, fork →
   reputation; help, review, commit → knowledge; suggestion → idea; edit, delete → none;
3. **text rules** (:mod:`.rules`) — the text is read first (:mod:`.reading`: quoted parent text,
   signatures and code left out, for classification only), then typed by the speech acts of its
   sentences (proposals, answers, questions, thanks/praise/agreement, chit-chat, noise);
4. **the trained model** (:mod:`.model`) — for text-bearing kinds the rules leave open.

``reason`` starts with the layer (``guard:``, ``prior:``, ``rule:``, ``model:``).

**Mentions carry their post's flow.** A ``mention`` interaction holds the text of the post or
reply it sits in and ``metadata["in"]`` = that item's kind; it is classified as that item
(same text, kind and source, so the decision is the post's, usually from the cache), giving
the mentioned person the post's flow type.

**Questions are requests, not knowledge.** A question that the rules or the model would call
knowledge is ``none`` (reason ``rule:question …``, or the model's reason ending in
``[question]``): the asker gives nothing. The thread it opens still counts for
responsiveness (analytics keys that on kind and segment), and the answer — a reply to the
asker — is the knowledge flow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from valuenet.processors.classify.model import TextModel, default_model
from valuenet.processors.classify.priors import TEXT_KINDS, is_bot, is_bot_cached, prior_for, prior_key
from valuenet.processors.classify.reading import for_typing
from valuenet.processors.classify.rules import RuleHit, apply_rules
from valuenet.processors.classify.text import is_question, normalise
from valuenet.schemas.flow import ActorKind, Flow, FlowType, Segment
from valuenet.schemas.interaction import Interaction, Kind, Source
from valuenet.schemas.trusted import builder

if TYPE_CHECKING:
    from valuenet.processors.identity import ActorIdentity, IdentityResolver
    from valuenet.processors.privacy import Pseudonymiser

__all__ = [
    "Classification",
    "classify",
    "classify_many",
    "classify_text",
    "flow_of",
    "to_flow",
    "to_flows",
    "is_question",
]

_FT = {t.value: t for t in FlowType}
_VALUE: dict[Kind | Source, str] = {**{k: k.value for k in Kind}, **{x: x.value for x in Source}}
_TEXT_CACHE_SIZE = 1 << 16


class Classification(NamedTuple):
    """The decision: flow type, confidence in [0, 1], and the rule or features that decided."""

    flow_type: FlowType
    confidence: float
    reason: str


_BOT = Classification(FlowType.none, 0.95, "guard:bot")
_SELF = Classification(FlowType.none, 0.95, "guard:self")
_EMPTY = Classification(FlowType.none, 0.7, "rule:no text")
_QUOTE_EMPTY = Classification(FlowType.reputation, 0.75, "prior:quote without comment")
_QUOTED_ONLY = RuleHit(FlowType.none, 0.7, "rule:only quoted text")
_QUOTED_ONLY_QUOTE = RuleHit(FlowType.reputation, 0.75, "prior:quote without comment")
_prior_cache: dict[tuple, Classification] = {}
_new_flow = builder(Flow)
_KIND_BY_VALUE = {k.value: k for k in Kind}


def classify(
    interaction: Interaction,
    giver_segment: Segment = Segment.unknown,
    receiver_segment: Segment = Segment.unknown,
    *,
    model: TextModel | None = None,
) -> Classification:
    """Classify one interaction (segments are accepted for segment-aware rules; none use them yet)."""
    meta = interaction.metadata
    actor = interaction.actor
    if is_bot(actor, interaction.actor_name, meta):
        return _BOT
    if interaction.target == actor:
        return _SELF
    kind = interaction.kind
    if kind is Kind.mention:
        kind = _container(meta)
    if kind not in TEXT_KINDS:
        return _prior(kind, meta)
    text = interaction.text
    if not text or not text.strip():
        return _QUOTE_EMPTY if kind is Kind.quote else _EMPTY
    if model is None:
        return _classify_text(text, kind.value, interaction.source.value)
    return classify_text(text, kind.value, interaction.source.value, model)


def _container(meta: dict) -> Kind:
    """The kind a mention is classified as: the kind of the post or reply it sits in (``metadata["in"]``)."""
    container = meta.get("in") if meta else None
    return _KIND_BY_VALUE.get(container, Kind.mention) if isinstance(container, str) else Kind.mention


def classify_many(
    interactions: Iterable[Interaction],
    giver_segments: Sequence[Segment] | None = None,
    receiver_segments: Sequence[Segment] | None = None,
    *,
    model: TextModel | None = None,
) -> list[Classification]:
    """Classify a micro-batch: same results as :func:`classify` one by one; the model runs once per batch."""
    out: list[Classification | None] = []
    append = out.append
    pending: list[tuple[int, str, str, str, str]] = []  # (slot, plain, kind, source, text)
    cache = _text_cache
    for it in interactions:
        meta = it.metadata
        actor = it.actor
        if is_bot_cached(actor, it.actor_name, meta):
            append(_BOT)
        elif it.target == actor:
            append(_SELF)
        else:
            kind = it.kind if it.kind is not Kind.mention else _container(meta)
            if kind not in TEXT_KINDS:
                append(_prior(kind, meta))
                continue
            text = it.text
            if not text or not text.strip():
                append(_QUOTE_EMPTY if kind is Kind.quote else _EMPTY)
                continue
            key = (text, _VALUE[kind], _VALUE[it.source])  # dict look-up: enum .value is a slow descriptor
            hit = cache.get(key) if model is None else None
            if hit is not None:
                append(hit)
                continue
            plain = normalise(for_typing(text, key[2]))
            rule = apply_rules(plain) if plain else _quoted_only(key[1])
            if rule is not None:
                c = Classification(rule.flow_type, rule.confidence, rule.reason)
                if model is None:
                    _remember(key, c)
                append(c)
            else:
                pending.append((len(out), plain, key[1], key[2], text))
                append(None)
    if pending:
        m = model or default_model()
        preds = m.predict_many([(p, k, s) for _, p, k, s, _ in pending])
        for (slot, plain, kind_value, source, text), (label, prob, why) in zip(pending, preds):
            c = _model_decision(plain, label, prob, why)
            if model is None:
                _remember((text, kind_value, source), c)
            out[slot] = c
    return out  # type: ignore[return-value]


def classify_text(text: str, kind: str, source: str, model: TextModel | None = None) -> Classification:
    """Text layers only (the text read for typing, rules, then the model) for a text of a kind and source."""
    plain = normalise(for_typing(text, source))
    hit = apply_rules(plain) if plain else _quoted_only(kind)
    if hit is not None:
        return Classification(hit.flow_type, hit.confidence, hit.reason)
    label, prob, why = (model or default_model()).predict(plain, kind, source)
    return _model_decision(plain, label, prob, why)


def _quoted_only(kind: str) -> RuleHit:
    """A text that is only quoted parent text (or a signature): a bare quote endorses; anything else gives nothing."""
    return _QUOTED_ONLY_QUOTE if kind == "quote" else _QUOTED_ONLY


def _model_decision(plain: str, label: str, prob: float, why: str) -> Classification:
    if is_question(plain):
        why += " [question]"
        if label == "knowledge":  # a question asks for knowledge; it gives none
            return Classification(FlowType.none, round(prob, 4), why)
    return Classification(_FT[label], round(prob, 4), why)


_text_cache: dict[tuple[str, str, str], Classification] = {}


def _remember(key: tuple[str, str, str], c: Classification) -> None:
    if len(_text_cache) >= _TEXT_CACHE_SIZE:
        _text_cache.clear()  # bounded: start over rather than track recency
    _text_cache[key] = c


def _classify_text(text: str, kind: str, source: str) -> Classification:
    key = (text, kind, source)
    c = _text_cache.get(key)
    if c is None:
        c = classify_text(text, kind, source)
        _remember(key, c)
    return c


def _prior(kind: Kind, meta: dict) -> Classification:
    key = (kind, prior_key(kind, meta))  # all prior_for reads: its result per key is remembered
    c = _prior_cache.get(key)
    if c is None:
        p = prior_for(kind, meta)
        c = Classification(*p) if p else _EMPTY
        if len(_prior_cache) < 1 << 12:
            _prior_cache[key] = c
    return c


def reset_caches() -> None:
    """Forget cached text decisions (call after the default model changes)."""
    _text_cache.clear()


def to_flow(
    interaction: Interaction,
    identity: IdentityResolver,
    *,
    classification: Classification | None = None,
    pseudonymiser: Pseudonymiser | None = None,
) -> Flow:
    """Resolve giver and receiver, classify, and build the Flow (pseudonymised when asked)."""
    giver, receiver = identity.resolve_interaction(interaction)
    r_segment = receiver.segment if receiver is not None else Segment.unknown
    c = classification or classify(interaction, giver.segment, r_segment)
    return flow_of(interaction, giver, receiver, c, pseudonymiser)


def to_flows(
    interactions: Sequence[Interaction],
    identity: IdentityResolver,
    pseudonymiser: Pseudonymiser | None = None,
) -> list[Flow]:
    """:func:`to_flow` for a micro-batch (same flows, in order): one :func:`classify_many` call for all texts.

    An error (e.g. an actor that cannot be resolved) propagates; the caller can then retry the
    batch item by item with :func:`to_flow` to send only the bad record to the DLQ.
    """
    people = [identity.resolve_interaction(it) for it in interactions]
    unknown = Segment.unknown
    cs = classify_many(
        interactions,
        [g.segment for g, _ in people],
        [r.segment if r is not None else unknown for _, r in people],
    )
    return [flow_of(it, g, r, c, pseudonymiser) for it, (g, r), c in zip(interactions, people, cs)]


def flow_of(
    interaction: Interaction,
    giver: ActorIdentity,
    receiver: ActorIdentity | None,
    c: Classification,
    pseudonymiser: Pseudonymiser | None = None,
    lane: int | None = None,
) -> Flow:
    """The Flow of a resolved and classified interaction (built without re-validation; pseudonymised when asked)."""
    r_segment = receiver.segment if receiver is not None else Segment.unknown
    if receiver is not None and receiver.actor == giver.actor and c.flow_type is not FlowType.none:
        c = _SELF  # two accounts of one person
    giver_id = giver.actor
    receiver_id = receiver.actor if receiver is not None else None
    if pseudonymiser is not None:
        giver_id = pseudonymiser.pseudonym(giver_id)
        receiver_id = pseudonymiser.pseudonym(receiver_id) if receiver_id is not None else None
    return _new_flow(
        {  # every field named, in order: model_construct without its per-field cost
            "schema_version": 1,
            "event_id": interaction.event_id,
            "network": interaction.network,
            "source": interaction.source,
            "kind": interaction.kind,
            "timestamp": interaction.timestamp,
            "giver": giver_id,
            "receiver": receiver_id,
            "giver_segment": giver.segment,
            "receiver_segment": r_segment,
            "giver_team": giver.team,
            "receiver_team": receiver.team if receiver is not None else None,
            "flow_type": c.flow_type,
            "confidence": c.confidence,
            "reason": c.reason,
            "channel": interaction.channel,
            "thread": interaction.thread,
            "parent_id": interaction.parent_id,
            "giver_followers": interaction.actor_followers,
            "seq": None,
            "lane": lane,
            "giver_kind": ActorKind.person,  # the processors stage decides kinds (processors/kinds.py)
            "receiver_kind": ActorKind.person,
        },
    )
