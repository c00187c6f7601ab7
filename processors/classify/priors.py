"""Layer 1: priors from the interaction kind (and trailer / reaction / review state metadata).

Kinds whose meaning does not depend on text decide here, in one dict lookup:
star, reaction, repost, follow, approve, apply, fork → reputation; help (Helped-by,
Mentored-by, Reported-by, Tested-by, …) and review → knowledge; suggestion
(Suggested-by, Based-on-patch-by, feature request) → idea; commit (a contributed
change, Co-authored-by) → knowledge; edit and delete → none.
Text-bearing kinds (post, reply, mention, quote, ticket) have no prior and go on to
the text rules and the model.
"""

from __future__ import annotations

import re

from valuenet.schemas.flow import FlowType
from valuenet.schemas.interaction import Kind

__all__ = [
    "KIND_PRIORS",
    "TEXT_KINDS",
    "NEGATIVE_REACTIONS",
    "BOT_NAMES",
    "prior_for",
    "prior_key",
    "is_bot",
    "is_bot_cached",
]

K, I, R, N = FlowType.knowledge, FlowType.idea, FlowType.reputation, FlowType.none

KIND_PRIORS: dict[Kind, tuple[FlowType, float, str]] = {
    Kind.star: (R, 0.97, "prior:star"),
    Kind.reaction: (R, 0.92, "prior:reaction"),
    Kind.repost: (R, 0.95, "prior:repost"),
    Kind.follow: (R, 0.90, "prior:follow"),
    Kind.approve: (R, 0.96, "prior:approve"),
    Kind.apply: (R, 0.90, "prior:apply"),
    Kind.fork: (R, 0.80, "prior:fork"),
    Kind.help: (K, 0.92, "prior:help"),
    Kind.review: (K, 0.88, "prior:review"),
    Kind.suggestion: (I, 0.92, "prior:suggestion"),
    Kind.commit: (K, 0.70, "prior:commit"),
    Kind.edit: (N, 0.85, "prior:edit"),
    Kind.delete: (N, 0.95, "prior:delete"),
}
"""Kind → (flow type, confidence, reason)."""

TEXT_KINDS: frozenset[Kind] = frozenset({Kind.post, Kind.reply, Kind.mention, Kind.quote, Kind.ticket})
"""Kinds decided by the text rules and the model."""

NEGATIVE_REACTIONS: frozenset[str] = frozenset(
    {
        "-1",
        "thumbsdown",
        "thumbs_down",
        "confused",
        "angry",
        "rage",
        "disappointed",
        "face_palm",
        "facepalm",
        "👎",
        "😕",
        "😠",
    }
)
"""Reactions that carry no recognition."""

BOT_NAMES: tuple[str, ...] = (
    "[bot]",
    "dependabot",
    "renovate",
    "github-actions",
    "mergify",
    "codecov",
    "slackbot",
    "automoderator",
)

_BOT_NAME = re.compile("|".join(map(re.escape, BOT_NAMES))).search  # one scan instead of a loop of `in`

_REVIEW_STATES = {
    "approved": (R, 0.95, "prior:review approved"),
    "changes_requested": (K, 0.9, "prior:review changes requested"),
}


def is_bot(actor: str, actor_name: str | None, metadata: dict) -> bool:
    """True for bot accounts (metadata flags bot, is_bot, bot_id, Bot user type, or a known bot name) and for
    interactions addressed to a bot (``to_bot``): neither carries value between people."""
    if metadata:
        if metadata.get("bot") or metadata.get("is_bot") or metadata.get("bot_id") or metadata.get("to_bot"):
            return True
        if metadata.get("subtype") == "bot_message" or metadata.get("user_type") == "Bot":
            return True
    if _BOT_NAME(actor.lower()):
        return True
    return actor_name is not None and actor_name.lower().endswith("[bot]")


_BOT_KEYS = frozenset(("bot", "is_bot", "bot_id", "to_bot", "subtype", "user_type"))  # what is_bot reads
_BOT_NAMED: dict[str, bool] = {}  # actor id → whether its id names a bot (the regex, once per actor)


def is_bot_cached(actor: str, actor_name: str | None, metadata: dict) -> bool:
    """:func:`is_bot` with the actor id's name scan remembered per actor (bounded)."""
    if metadata and not _BOT_KEYS.isdisjoint(metadata):
        if metadata.get("bot") or metadata.get("is_bot") or metadata.get("bot_id") or metadata.get("to_bot"):
            return True
        if metadata.get("subtype") == "bot_message" or metadata.get("user_type") == "Bot":
            return True
    named = _BOT_NAMED.get(actor)
    if named is None:
        if len(_BOT_NAMED) >= 1 << 17:
            _BOT_NAMED.clear()
        named = _BOT_NAMED[actor] = _BOT_NAME(actor.lower()) is not None
    if named:
        return True
    return actor_name is not None and actor_name.lower().endswith("[bot]")


def prior_key(kind: Kind, metadata: dict) -> object:
    """The one metadata value :func:`prior_for` reads for ``kind`` (reaction name, review state, trailer), or None."""
    if not metadata:
        return None
    if kind is Kind.reaction:
        value = metadata.get("reaction")
    elif kind is Kind.review:
        value = metadata.get("state")
    elif kind is Kind.help or kind is Kind.suggestion or kind is Kind.approve:
        value = metadata.get("trailer")
    else:
        return None
    return value if isinstance(value, str) else None


def prior_for(kind: Kind, metadata: dict) -> tuple[FlowType, float, str] | None:
    """The prior of ``kind`` refined by metadata (reaction name, review state); None for text kinds."""
    prior = KIND_PRIORS.get(kind)
    if prior is None or not metadata:
        return prior
    if kind is Kind.reaction:
        name = metadata.get("reaction")
        if isinstance(name, str) and name.strip(":").lower() in NEGATIVE_REACTIONS:
            return (N, 0.8, f"prior:reaction {name} carries no recognition")
    elif kind is Kind.review:
        state = metadata.get("state")
        if isinstance(state, str):
            return _REVIEW_STATES.get(state.lower(), prior)
    elif kind is Kind.help or kind is Kind.suggestion or kind is Kind.approve:
        trailer = metadata.get("trailer")
        if isinstance(trailer, str):
            t, c, _ = prior
            return (t, c, f"prior:{kind.value} ({trailer})")
    return prior
