"""The synthetic network's Zendesk ticket events (created, assigned, comments): real payload shapes, drawn from the scenario's ``random.Random``."""

from __future__ import annotations

from typing import Any

from valuenet.ingest.platforms._fake import FakerBase, Pending, Person, iso, uuid
from valuenet.schemas.interaction import Source

__all__ = ["ZendeskFaker"]


class ZendeskFaker(FakerBase):
    """Builds Zendesk ticket events payloads and pushes them onto the scenario's event heap."""

    def _zendesk(
        self,
        heap: list[Pending],
        t: int,
        kind: str,
        ticket: int,
        requester: Person,
        agent: Person | None,
        text: str,
        tag: dict[str, Any] | None = None,
    ) -> None:
        detail: dict[str, Any] = {
            "id": str(ticket),
            "requester_id": requester.accounts["zendesk"],
            "assignee_id": agent.accounts["zendesk"] if agent else None,
            "actor_id": (agent or requester).accounts["zendesk"],
            "subject": text[:60],
            "description": text,
            "status": "OPEN" if agent else "NEW",
            "type": "QUESTION",
            "priority": "NORMAL",
            "created_at": iso(t, millis=False),
            "updated_at": iso(t, millis=False),
            "brand_id": "1001",
            "group_id": "2002",
            "organization_id": None,
            "tags": [],
        }
        event: dict[str, Any] = {}
        if kind == "ticket.comment_added" and agent is not None:
            event = {
                "comment": {
                    "id": str(10_000_000 + self._next_id()),
                    "body": text,
                    "is_public": True,
                    "author": {"id": agent.accounts["zendesk"], "is_staff": True, "name": agent.name},
                }
            }
        body = {
            "type": f"zen:event-type:{kind}",
            "id": uuid(self.rng),
            "time": iso(t),
            "account_id": 9_876_543,
            "zendesk_event_version": "2022-11-06",
            "subject": f"zen:ticket:{ticket}",
            "detail": detail,
            "event": event,
        }
        self._push(heap, t, Source.zendesk, body, {"x-zendesk-webhook-id": "01SYNTH"}, tag)
