"""Privacy: optional pseudonymisation of actor ids with a keyed HMAC, applied before anything is stored.

``pseudonym(id) = "p:" + hex(HMAC-SHA256(key, id))[:32]`` — 128 bits of the MAC, stable for a
key, not reversible without it, and different under another key. The key comes from the
environment (``VALUENET_PSEUDONYM_KEY``, read through ``Settings.pseudonym_key``) and is
switched on by ``VALUENET_PSEUDONYMISE=true``.

What is replaced: ``Flow.giver`` / ``Flow.receiver`` and ``Interaction.actor`` / ``target``;
``Interaction.actor_name`` is dropped. Display names live only in the separate ``directory``
table (:func:`directory_row`), keyed by the same pseudonym, so one ``DELETE`` there forgets a
person's name while the metrics stay consistent.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from valuenet.schemas.flow import Flow
from valuenet.schemas.interaction import Interaction

if TYPE_CHECKING:
    from valuenet.config import Settings
    from valuenet.processors.identity import ActorIdentity

__all__ = ["PrivacyError", "Pseudonymiser", "from_settings", "directory_row", "PSEUDONYM_PREFIX"]

PSEUDONYM_PREFIX = "p:"
_MIN_KEY_BYTES = 16


class PrivacyError(ValueError):
    """Pseudonymisation is misconfigured (switched on without a usable key)."""


class Pseudonymiser:
    """Keyed HMAC-SHA256 pseudonyms of actor ids; ``repr`` never shows the key."""

    __slots__ = ("_key", "pseudonym")

    def __init__(self, key: str | bytes, *, cache_size: int = 1 << 16) -> None:
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw) < _MIN_KEY_BYTES:
            raise PrivacyError(f"VALUENET_PSEUDONYM_KEY: key must be at least {_MIN_KEY_BYTES} bytes, got {len(raw)}")
        self._key = raw
        self.pseudonym = lru_cache(maxsize=cache_size)(self._pseudonym)

    def __repr__(self) -> str:
        return "Pseudonymiser(key=***)"

    def _pseudonym(self, actor: str) -> str:
        """``"p:" + hex(HMAC-SHA256(key, actor))[:32]``; ids already pseudonymised pass through."""
        if actor.startswith(PSEUDONYM_PREFIX):
            return actor
        mac = hmac.new(self._key, actor.encode("utf-8"), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + mac[:32]

    def flow(self, flow: Flow) -> Flow:
        """The flow with giver and receiver pseudonymised."""
        return flow.model_copy(
            update={
                "giver": self.pseudonym(flow.giver),
                "receiver": self.pseudonym(flow.receiver) if flow.receiver is not None else None,
            }
        )

    def interaction(self, interaction: Interaction) -> Interaction:
        """The interaction with actor and target pseudonymised, the display name and any e-mail address dropped."""
        update: dict[str, Any] = {
            "actor": self.pseudonym(interaction.actor),
            "target": self.pseudonym(interaction.target) if interaction.target is not None else None,
            "actor_name": None,
        }
        if "email" in interaction.metadata:
            update["metadata"] = {k: v for k, v in interaction.metadata.items() if k != "email"}
        return interaction.model_copy(update=update)


def from_settings(settings: Settings) -> Pseudonymiser | None:
    """A Pseudonymiser when ``settings.pseudonymise`` is on (key from VALUENET_PSEUDONYM_KEY), else None."""
    if not settings.pseudonymise:
        return None
    if settings.pseudonym_key is None:
        raise PrivacyError("VALUENET_PSEUDONYMISE is on but VALUENET_PSEUDONYM_KEY is not set")
    return Pseudonymiser(settings.pseudonym_key.get_secret_value())


def directory_row(
    network: str,
    identity: ActorIdentity,
    pseudonymiser: Pseudonymiser | None = None,
    *,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """One row of the ``directory`` table: the (pseudonymised) actor id with its display name and segment."""
    actor = pseudonymiser.pseudonym(identity.actor) if pseudonymiser else identity.actor
    now = updated_at or datetime.now(UTC)
    return {
        "network": network,
        "actor": actor,
        "display_name": identity.name or "",
        "segment": identity.segment.value,
        "team": identity.team,
        "organisation": identity.organisation,
        "updated_at": now.replace(microsecond=0),
        "updated_at_ms": int(now.timestamp() * 1000),
    }
