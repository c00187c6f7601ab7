"""The canonical Interaction: who did what to whom, when and where."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Source(str, Enum):
    """Platforms valuenet ingests."""

    slack = "slack"
    github = "github"
    discourse = "discourse"
    mastodon = "mastodon"
    bluesky = "bluesky"
    reddit = "reddit"
    x = "x"
    teams = "teams"
    jira = "jira"
    confluence = "confluence"
    zendesk = "zendesk"
    git = "git"
    generic = "generic"
    synth = "synth"


class Kind(str, Enum):
    """What the actor did. One interaction has at most one target actor."""

    post = "post"  # a new top-level item (message, issue, topic, status, tweet)
    reply = "reply"  # an answer/comment in a thread, target = parent's author
    mention = "mention"  # @-mention inside a post or reply, target = mentioned actor
    reaction = "reaction"  # like, favourite, emoji reaction, kudos
    repost = "repost"  # boost, retweet, share, crosspost
    quote = "quote"  # quote post
    review = "review"  # code review comment / changes requested / Reviewed-by
    approve = "approve"  # approving review, Acked-by, accepted answer
    suggestion = "suggestion"  # Suggested-by, feature request, proposal
    help = "help"  # Helped-by, Mentored-by, Tested-by, Reported-by, ...
    commit = "commit"  # authored a change (git), target = committer when different
    apply = "apply"  # committer applied someone's patch
    follow = "follow"
    star = "star"
    fork = "fork"
    edit = "edit"
    delete = "delete"
    ticket = "ticket"  # support ticket event (Zendesk)


MetaValue = str | int | float | bool | None


class Interaction(BaseModel):
    """One canonical event. ``actor`` gives, ``target`` receives (may be unknown)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    event_id: str = Field(min_length=1, max_length=512)
    network: str = Field(min_length=1, max_length=128)
    source: Source
    kind: Kind
    timestamp: datetime
    actor: str = Field(min_length=1, max_length=256)
    target: str | None = None
    channel: str | None = None
    thread: str | None = None
    parent_id: str | None = None
    text: str | None = None
    url: str | None = None
    language: str | None = None
    actor_name: str | None = None
    actor_domain: str | None = None
    actor_followers: int | None = Field(default=None, ge=0)
    metadata: dict[str, MetaValue] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("timestamp must carry a timezone")
        return v
