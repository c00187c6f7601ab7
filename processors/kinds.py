"""Actor kinds: is the giver / receiver of an interaction a person, an organisation, a bot or a platform account?

Decided per interaction, first rule that answers (``docs/actor-kinds.md``):

1. the identity directory: a person's ``kind:``, ``rules.account_kinds``, a brand account → organisation
   (:meth:`~valuenet.processors.identity.IdentityResolver.kind_of`);
2. the platform's fields, which the parsers put in ``metadata["actor_kind"]`` / ``metadata["target_kind"]``
   (GitHub ``type: Organization | Bot``, Slack ``bot_id`` / ``app_id`` / ``subtype: bot_message``,
   Mastodon ``bot`` / ``group``, Bluesky and X automation labels, git's web-flow committer);
3. the bot flags the classifier's bot guard reads (``metadata["bot"]``, ``is_bot``, ``bot_id``,
   ``user_type: Bot``, ``subtype: bot_message`` for the giver; ``to_bot`` for the receiver) → bot;
4. what an earlier interaction's platform fields said about the same account (remembered, bounded):
   a Slack reply to a bot names the bot without its flags;
5. the account's name: a ``[bot]`` suffix or a well-known automation (``dependabot``, ``renovate``,
   ``github-actions``, …) → bot;
6. otherwise a person.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from valuenet.processors.classify.priors import BOT_NAMES
from valuenet.schemas.flow import ActorKind
from valuenet.schemas.interaction import Interaction

__all__ = ["KindResolver", "kind_hint", "named_bot"]

_KINDS = {k.value: k for k in ActorKind}
_KINDS["organization"] = ActorKind.organisation
_BOT_NAMES = tuple(n.lower() for n in BOT_NAMES)
PERSON = ActorKind.person


def kind_hint(value: Any) -> ActorKind | None:
    """A kind from a metadata value (``"bot"``, ``"organisation"``, ``"organization"``, …); None for anything else."""
    if isinstance(value, ActorKind):
        return value
    if isinstance(value, str):
        return _KINDS.get(value.strip().lower())
    return None


def named_bot(actor: str) -> bool:
    """True when the account's name says automation: a ``[bot]`` suffix or a well-known bot name."""
    handle = actor.partition(":")[2].lower() or actor.lower()
    return handle.endswith("[bot]") or any(n in handle for n in _BOT_NAMES)


def _flags_bot(meta: dict[str, Any]) -> bool:
    """The giver-side bot flags of the classifier's bot guard (``to_bot`` is about the receiver)."""
    if meta.get("bot") or meta.get("is_bot") or meta.get("bot_id"):
        return True
    return meta.get("subtype") == "bot_message" or meta.get("user_type") == "Bot"


class KindResolver:
    """Decides the giver's and the receiver's kind of each interaction (module docstring); remembers platform hints."""

    def __init__(self, identity: Any = None, capacity: int = 1_000_000) -> None:
        self.identity = identity
        self.capacity = capacity
        self._learned: OrderedDict[str, ActorKind] = OrderedDict()  # raw account → kind its platform fields gave
        self._named: dict[str, ActorKind] = {}  # raw account → the kind its name says (rule 5), remembered

    def _directory(self, actor: str) -> ActorKind | None:
        kind_of = getattr(self.identity, "kind_of", None)
        return kind_of(actor) if kind_of is not None else None

    def _learn(self, actor: str, kind: ActorKind) -> None:
        learned = self._learned
        if learned.get(actor) is not kind:
            learned[actor] = kind
            if len(learned) > self.capacity:
                learned.popitem(last=False)

    def _decide(self, actor: str, hint: ActorKind | None, flagged: bool) -> ActorKind:
        if hint is None and flagged:
            hint = ActorKind.bot
        if hint is not None:
            self._learn(actor, hint)
        directory = self._directory(actor)
        if directory is not None:
            return directory
        if hint is not None:
            return hint
        learned = self._learned.get(actor)
        if learned is not None:
            return learned
        named = self._named.get(actor)
        if named is None:
            if len(self._named) >= self.capacity:
                self._named.clear()
            named = self._named[actor] = ActorKind.bot if named_bot(actor) else PERSON
        return named

    def giver(self, it: Interaction) -> ActorKind:
        """The kind of the interaction's actor (its giver)."""
        meta = it.metadata
        if not meta:
            return self._decide(it.actor, None, False)
        return self._decide(it.actor, kind_hint(meta.get("actor_kind")), _flags_bot(meta))

    def receiver(self, it: Interaction) -> ActorKind:
        """The kind of the interaction's target (its receiver); a person when there is none."""
        target = it.target
        if target is None:
            return PERSON
        meta = it.metadata
        if not meta:
            return self._decide(target, None, False)
        return self._decide(target, kind_hint(meta.get("target_kind")), bool(meta.get("to_bot")))
