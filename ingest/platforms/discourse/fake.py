"""The synthetic network's Discourse webhooks (posts and likes): real payload shapes, drawn from the scenario's ``random.Random``."""

from __future__ import annotations

from typing import Any

from valuenet.ingest.platforms._fake import FakerBase, Pending, Person, iso
from valuenet.schemas.interaction import Source

__all__ = ["DiscourseFaker", "DISCOURSE_URL"]

DISCOURSE_URL = "https://community.acme.example"


class DiscourseFaker(FakerBase):
    """Builds Discourse webhooks payloads and pushes them onto the scenario's event heap."""

    def _discourse_post(
        self,
        heap: list[Pending],
        t: int,
        author: Person,
        topic_id: int,
        title: str,
        raw: str,
        post_number: int,
        reply_to: tuple[Person, int] | None = None,
        tag: dict[str, Any] | None = None,
    ) -> int:
        post_id = 50_000 + self._next_id()
        post: dict[str, Any] = {
            "id": post_id,
            "name": author.name,
            "username": author.handles["discourse"],
            "user_id": int(author.accounts["discourse"]),
            "created_at": iso(t),
            "raw": raw,
            "cooked": f"<p>{raw}</p>",
            "post_number": post_number,
            "post_type": 1,
            "topic_id": topic_id,
            "topic_slug": title.lower().replace(" ", "-")[:40],
            "topic_title": title,
            "category_id": 4,
            "reply_to_post_number": None,
            "reply_count": 0,
            "updated_at": iso(t),
        }
        if reply_to is not None:
            to, number = reply_to
            post["reply_to_post_number"] = number
            post["reply_to_user"] = {
                "id": int(to.accounts["discourse"]),
                "username": to.handles["discourse"],
                "name": to.name,
                "avatar_template": "/letter_avatar/{size}.png",
            }
        headers = {
            "x-discourse-event-id": str(self._next_id()),
            "x-discourse-event": "post_created",
            "x-discourse-event-type": "post",
            "x-discourse-instance": DISCOURSE_URL,
        }
        self._push(heap, t, Source.discourse, {"post": post}, headers, tag)
        return post_id

    def _discourse_like(
        self, heap: list[Pending], t: int, who: Person, author: Person, post_id: int, topic_id: int
    ) -> None:
        body = {
            "like": {
                "post": {
                    "id": post_id,
                    "user_id": int(author.accounts["discourse"]),
                    "username": author.handles["discourse"],
                    "topic_id": topic_id,
                },
                "user": {"id": int(who.accounts["discourse"]), "username": who.handles["discourse"], "name": who.name},
            }
        }
        headers = {
            "x-discourse-event-id": str(self._next_id()),
            "x-discourse-event": "post_liked",
            "x-discourse-event-type": "like",
            "x-discourse-instance": DISCOURSE_URL,
        }
        self._push(heap, t, Source.discourse, body, headers)
