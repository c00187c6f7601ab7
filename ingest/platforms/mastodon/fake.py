"""The synthetic network's Mastodon statuses and accounts: real payload shapes, drawn from the scenario's ``random.Random``."""

from __future__ import annotations

from typing import Any

from valuenet.ingest.platforms._fake import FakerBase, Person, iso

__all__ = ["MastodonFaker"]


class MastodonFaker(FakerBase):
    """Builds Mastodon statuses and accounts payloads and pushes them onto the scenario's event heap."""

    def _masto_account(self, p: Person) -> dict[str, Any]:
        return {
            "id": p.accounts["mastodon"],
            "username": p.handles["mastodon"].split("@")[0],
            "acct": p.handles["mastodon"],
            "display_name": p.name,
            "followers_count": p.followers or 0,
            "following_count": 100,
            "statuses_count": 1000,
            "url": f"https://social.example/@{p.handles['mastodon'].split('@')[0]}",
            "created_at": "2022-11-01T00:00:00.000Z",
            "bot": False,
            "locked": False,
        }

    def _masto_mention(self, p: Person) -> dict[str, Any]:
        user = p.handles["mastodon"].split("@")[0]
        return {
            "id": p.accounts["mastodon"],
            "username": user,
            "acct": p.handles["mastodon"],
            "url": f"https://social.example/@{user}",
        }

    def _masto_status(
        self,
        t: int,
        author: Person,
        text: str,
        *,
        reblog: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        sid = str(113_000_000_000_000_000 + self._next_id())
        acct = author.handles["mastodon"].split("@")[0]
        return {
            "id": sid,
            "created_at": iso(t),
            "in_reply_to_id": reply_to["id"] if reply_to else None,
            "in_reply_to_account_id": reply_to["account"]["id"] if reply_to else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"https://social.example/users/{acct}/statuses/{sid}",
            "url": f"https://social.example/@{acct}/{sid}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": "" if reblog else f"<p>{text}</p>",
            "reblog": reblog,
            "account": self._masto_account(author),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
        }
