"""The synthetic network's Slack Events API callbacks (messages, thread replies, reactions): real payload shapes, drawn from the scenario's ``random.Random``."""

from __future__ import annotations

from typing import Any

from valuenet.ingest.platforms._fake import FakerBase, Pending, Person, uuid
from valuenet.schemas.interaction import Source

__all__ = ["SlackFaker", "SLACK_TEAM"]

SLACK_TEAM = "T0SYNTH01"


class SlackFaker(FakerBase):
    """Builds Slack Events API callbacks payloads and pushes them onto the scenario's event heap."""

    def _slack_message(
        self,
        heap: list[Pending],
        t: int,
        user: Person,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        parent: Person | None = None,
        mentions: tuple[Person, ...] = (),
        tag: dict[str, Any] | None = None,
    ) -> str:
        ts = f"{t // 1000}.{(t % 1000) * 1000 + self._next_id() % 1000:06d}"
        if mentions:
            text = text + " " + " ".join(f"<@{m.accounts['slack']}>" for m in mentions)
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user.accounts["slack"],
            "text": text,
            "ts": ts,
            "client_msg_id": uuid(self.rng),
            "event_ts": ts,
            "channel_type": "channel",
            "team": SLACK_TEAM,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
            if parent is not None:
                event["parent_user_id"] = parent.accounts["slack"]
        payload = self._slack_callback(event, t)
        self._push(heap, t, Source.slack, payload, tag=tag)
        return ts

    def _slack_callback(self, event: dict[str, Any], t: int) -> dict[str, Any]:
        """The Events API envelope (``event_callback``) around ``event`` at ``t`` (ms)."""
        return {
            "token": "synthetic",
            "team_id": SLACK_TEAM,
            "api_app_id": "A0SYNTH01",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{self._next_id():010d}",
            "event_time": t // 1000,
        }

    def _slack_reaction(self, heap: list[Pending], t: int, user: Person, owner: Person, channel: str, ts: str) -> None:
        ets = f"{t // 1000}.{(t % 1000) * 1000:06d}"
        event = {
            "type": "reaction_added",
            "user": user.accounts["slack"],
            "reaction": self.rng.choice(("+1", "tada", "eyes", "pray")),
            "item_user": owner.accounts["slack"],
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": ets,
        }
        payload = self._slack_callback(event, t)
        self._push(heap, t, Source.slack, payload)
