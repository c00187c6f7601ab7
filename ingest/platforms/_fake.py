"""What every platform faker shares: the synthetic people, the pending-event heap item, time and id formats.

The scenario (:mod:`valuenet.ingest.synth`) decides who exists and who talks to whom; each platform's
``fake.py`` (a :class:`FakerBase` mixin of :class:`~valuenet.ingest.synth.SynthNetwork`) writes that
platform's payloads. Every draw comes from the scenario's one ``random.Random``.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.interaction import Source

__all__ = ["TEAM_NAMES", "TOPICS", "FakerBase", "Pending", "Person", "dt", "iso", "uuid"]

TEAM_NAMES = ("support", "platform", "mobile", "data", "design", "infra", "security", "billing", "growth", "sales")
TOPICS = (
    "the deploy pipeline",
    "the billing export",
    "SSO login",
    "rate limits",
    "the mobile sync",
    "webhook retries",
    "the search index",
    "dark mode",
    "CSV import",
    "the audit log",
)
_KEYED_BY_HANDLE = frozenset(("github", "discourse", "mastodon"))


@dataclass
class Person:
    """One synthetic actor with its accounts on each platform it uses."""

    person: str
    name: str
    segment: str
    organisation: str
    email: str
    team: str | None = None
    followers: int | None = None
    accounts: dict[str, str] = field(default_factory=dict)  # platform -> platform id
    handles: dict[str, str] = field(default_factory=dict)  # platform -> login / username / acct

    def uid(self, platform: str) -> str:
        """The actor id the parsers produce on ``platform``: ``<source>:<account key>``.

        The key is the login on GitHub, the username on Discourse and ``user@instance`` on
        Mastodon (what their payloads name consistently), the platform's user id elsewhere.
        """
        key = self.handles[platform] if platform in _KEYED_BY_HANDLE else self.accounts[platform]
        return f"{platform}:{key}"


@dataclass(order=True)
class Pending:
    """One event waiting on the scenario's heap, in event-time order."""

    at_ms: int
    seq: int
    envelope: RawEnvelope = field(compare=False)
    tag: dict[str, Any] = field(compare=False, default_factory=dict)


def iso(ms: int, *, millis: bool = True) -> str:
    """ISO 8601 UTC of ``ms``, with milliseconds unless ``millis`` is False."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def dt(ms: int) -> datetime:
    """The UTC datetime of ``ms``."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def uuid(rng: random.Random) -> str:
    """A version-4-shaped UUID drawn from ``rng``."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


class FakerBase:
    """The scenario state a platform faker uses: the generator, the network and the event heap."""

    rng: random.Random
    network: str
    _seq: int
    _ids: int

    def _push(
        self,
        heap: list[Pending],
        at_ms: int,
        source: Source,
        payload: Any,
        headers: dict[str, str] | None = None,
        tag: dict[str, Any] | None = None,
    ) -> None:
        self._seq += 1
        env = RawEnvelope(
            source=source, network=self.network, received_at=dt(at_ms), headers=headers or {}, payload=payload
        )
        heapq.heappush(heap, Pending(at_ms, self._seq, env, tag or {}))

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids
