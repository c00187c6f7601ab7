"""The synthetic network's GitHub webhooks (issues, issue comments, pull request reviews): real payload shapes, drawn from the scenario's ``random.Random``."""

from __future__ import annotations

import hashlib
from typing import Any

from valuenet.ingest.platforms._fake import TEAM_NAMES, TOPICS, FakerBase, Pending, Person, iso, uuid
from valuenet.schemas.interaction import Source

__all__ = ["GitHubFaker"]


class GitHubFaker(FakerBase):
    """Builds GitHub webhooks payloads and pushes them onto the scenario's event heap."""

    def _gh_user(self, p: Person) -> dict[str, Any]:
        login = p.handles["github"]
        return {
            "login": login,
            "id": int(p.accounts["github"]),
            "node_id": f"U_{p.accounts['github']}",
            "type": "User",
            "site_admin": False,
            "html_url": f"https://github.com/{login}",
        }

    def _gh_repo(self, team: str) -> dict[str, Any]:
        owner = {"login": "acme", "id": 4_000_000, "type": "Organization", "site_admin": False}
        return {
            "id": 7_000_000 + TEAM_NAMES.index(team) if team in TEAM_NAMES else 7_000_000,
            "name": team,
            "full_name": f"acme/{team}",
            "private": False,
            "owner": owner,
            "html_url": f"https://github.com/acme/{team}",
        }

    def _gh(
        self, heap: list[Pending], t: int, event: str, body: dict[str, Any], tag: dict[str, Any] | None = None
    ) -> None:
        headers = {"x-github-event": event, "x-github-delivery": uuid(self.rng)}
        self._push(heap, t, Source.github, body, headers, tag)

    def _gh_issue(
        self,
        heap: list[Pending],
        t: int,
        author: Person,
        team: str,
        title: str,
        body: str,
        tag: dict[str, Any] | None = None,
        pr: bool = False,
    ) -> dict[str, Any]:
        number = self._next_id()
        issue = {
            "id": 900_000_000 + number,
            "number": number,
            "title": title,
            "body": body,
            "user": self._gh_user(author),
            "state": "open",
            "comments": 0,
            "created_at": iso(t, millis=False),
            "updated_at": iso(t, millis=False),
            "html_url": f"https://github.com/acme/{team}/issues/{number}",
            "labels": [],
            "assignees": [],
        }
        if pr:
            issue["pull_request"] = {"url": f"https://api.github.com/repos/acme/{team}/pulls/{number}"}
        self._gh(
            heap,
            t,
            "issues",
            {"action": "opened", "issue": issue, "repository": self._gh_repo(team), "sender": self._gh_user(author)},
            tag,
        )
        return issue

    def _gh_comment(
        self,
        heap: list[Pending],
        t: int,
        who: Person,
        issue: dict[str, Any],
        team: str,
        text: str,
        tag: dict[str, Any] | None = None,
    ) -> None:
        cid = 1_200_000_000 + self._next_id()
        comment = {
            "id": cid,
            "body": text,
            "user": self._gh_user(who),
            "created_at": iso(t, millis=False),
            "updated_at": iso(t, millis=False),
            "author_association": "MEMBER",
            "html_url": f"{issue['html_url']}#issuecomment-{cid}",
        }
        self._gh(
            heap,
            t,
            "issue_comment",
            {
                "action": "created",
                "issue": issue,
                "comment": comment,
                "repository": self._gh_repo(team),
                "sender": self._gh_user(who),
            },
            tag,
        )

    def _gh_review(
        self, heap: list[Pending], t: int, reviewer: Person, author: Person, team: str, state: str, text: str | None
    ) -> None:
        number = self._next_id()
        pr = {
            "id": 800_000_000 + number,
            "number": number,
            "title": f"Improve {self.rng.choice(TOPICS)}",
            "user": self._gh_user(author),
            "state": "open",
            "created_at": iso(t - 3_600_000, millis=False),
            "html_url": f"https://github.com/acme/{team}/pull/{number}",
        }
        review = {
            "id": 1_500_000_000 + number,
            "user": self._gh_user(reviewer),
            "body": text,
            "state": state,
            "submitted_at": iso(t, millis=False),
            "commit_id": hashlib.sha1(str(number).encode()).hexdigest(),
            "html_url": f"{pr['html_url']}#pullrequestreview-{number}",
        }
        self._gh(
            heap,
            t,
            "pull_request_review",
            {
                "action": "submitted",
                "review": review,
                "pull_request": pr,
                "repository": self._gh_repo(team),
                "sender": self._gh_user(reviewer),
            },
        )
