"""One package per platform: everything valuenet knows about it in one place.

``<platform>/parse.py`` turns one raw payload into Interactions (dispatched by
:mod:`valuenet.ingest.parsers`); ``verify.py`` checks a webhook's signature (served by
:mod:`valuenet.ingest.webhook`); ``read.py`` reads the platform's export or history files (chosen by
:mod:`valuenet.ingest.readers`); ``fake.py`` writes the platform's payloads for the synthetic
network (:mod:`valuenet.ingest.synth`). Conventions shared by every parser (actor and event ids,
the parse context) are in :mod:`valuenet.ingest.platforms._common`; the test payloads are in
``tests/payloads/<platform>/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from valuenet.schemas.interaction import Source

__all__ = ["PLATFORMS", "Platform"]


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform's record: its package under ``ingest/platforms/``, the sources it parses, and its parts."""

    name: str
    sources: tuple[Source, ...]
    verify: bool = False  # verify.py: its webhook signature check
    read: bool = False  # read.py: its export or history files
    fake: bool = False  # fake.py: its payloads in the synthetic network

    def module(self, part: str) -> str:
        """The import name of one part (``parse``, ``verify``, ``read``, ``fake``)."""
        return f"valuenet.ingest.platforms.{self.name}.{part}"


#: Every platform, one record each; the parser registry and the layout test read this table.
PLATFORMS: tuple[Platform, ...] = (
    Platform("slack", (Source.slack,), verify=True, read=True, fake=True),
    Platform("github", (Source.github,), verify=True, fake=True),
    Platform("discourse", (Source.discourse,), verify=True, fake=True),
    Platform("mastodon", (Source.mastodon,), fake=True),
    Platform("bluesky", (Source.bluesky,), fake=True),
    Platform("reddit", (Source.reddit,)),
    Platform("x", (Source.x,)),
    Platform("teams", (Source.teams,)),
    Platform("jira", (Source.jira, Source.confluence)),
    Platform("zendesk", (Source.zendesk,), verify=True, fake=True),
    Platform("git", (Source.git,), read=True),
    Platform("generic", (Source.generic, Source.synth), verify=True),
)
