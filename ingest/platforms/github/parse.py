"""GitHub: webhook bodies (event name in ``X-GitHub-Event``) and GH Archive / Events API NDJSON.

Actors are ``github:<login>`` (mentions name logins, so they resolve to the same actor; the
numeric id goes to ``metadata["user_id"]``). Event ids name the item, so a webhook delivery
and the GH Archive record of the same item dedupe: ``issue:{id}``, ``issue_comment:{id}``,
``review:{id}``, ``review_comment:{id}``, ``pull_request:{id}``, ``discussion:{id}``,
``discussion_comment:{id}``, ``commit_comment:{id}``, ``star:{repo id}:{login}``, ``fork:{forkee id}``; mentions
append ``#mention:{actor}``.

Kinds: issues/pull_request/discussion opened → post to the repository owner (organisation or
user: the same rule as stars and forks); issue_comment, discussion_comment → reply;
pull_request_review approved → approve, changes_requested/commented → review; review
comment → review (reply when ``in_reply_to_id``); commit_comment → review of the commit's
author (remembered from a ``push``; else unknown); discussion answered → approve; watch
(``started``) and star (``created``) → star, one id ``star:{repo id}:{login}`` so both
deliveries of one star dedupe; fork → fork; ``edited`` → edit ``{base}#edit@{updated_at}``;
``deleted`` → delete ``{base}#delete`` (never the receive time in an id: a redelivery dedupes).
Mentions (``@login`` in the text) carry the item's text and flow. Other events GitHub documents
(:data:`KNOWN_EVENTS`: releases, workflow runs, pushes, ...) and other actions give no
interactions. An event type this parser does not recognise — an ``X-GitHub-Event`` GitHub does not
document (or a newer one), no header and a body that matches no event, a GH Archive ``type`` it
does not know — raises a ParseError naming the header (``headers.x-github-event``) or ``type``
and its value, so the record is dead-lettered with its headers (replayable after a parser update),
never dropped in silence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from valuenet.ingest.platforms._common import (
    Ctx,
    as_id,
    get,
    iso_ts,
    make,
    mentions_at,
    mentions_of,
    opt_id,
    opt_str,
    req,
)
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse", "ARCHIVE_TYPES"]

ARCHIVE_TYPES: dict[str, str] = {
    "IssuesEvent": "issues",
    "IssueCommentEvent": "issue_comment",
    "PullRequestEvent": "pull_request",
    "PullRequestReviewEvent": "pull_request_review",
    "PullRequestReviewCommentEvent": "pull_request_review_comment",
    "DiscussionEvent": "discussion",
    "DiscussionCommentEvent": "discussion_comment",
    "WatchEvent": "watch",
    "ForkEvent": "fork",
    "CommitCommentEvent": "commit_comment",
}
_ACTION_KIND = {"edited": Kind.edit, "deleted": Kind.delete}

#: Every webhook event GitHub documents (docs.github.com "Webhook events and payloads"): the ones
#: without a handler carry no value flow and give no interactions; any other name is dead-lettered.
KNOWN_EVENTS: frozenset[str] = frozenset(
    """branch_protection_configuration branch_protection_rule check_run check_suite code_scanning_alert
    commit_comment create custom_property custom_property_values delete dependabot_alert deploy_key deployment
    deployment_protection_rule deployment_review deployment_status discussion discussion_comment fork
    github_app_authorization gollum installation installation_repositories installation_target issue_comment
    issue_dependencies issues label marketplace_purchase member membership merge_group meta milestone org_block
    organization package page_build personal_access_token_request ping project project_card project_column
    projects_v2 projects_v2_item projects_v2_status_update public pull_request pull_request_review
    pull_request_review_comment pull_request_review_thread push registry_package release repository
    repository_advisory repository_dispatch repository_import repository_ruleset repository_vulnerability_alert
    secret_scanning_alert secret_scanning_alert_location secret_scanning_scan security_advisory
    security_and_analysis sponsorship star status sub_issues team team_add watch workflow_dispatch workflow_job
    workflow_run""".split()
)
#: GH Archive / Events API types without a handler (they give no interactions); any other type is dead-lettered.
KNOWN_ARCHIVE_TYPES: frozenset[str] = frozenset(
    """CreateEvent DeleteEvent GollumEvent MemberEvent PublicEvent PullRequestReviewThreadEvent PushEvent
    ReleaseEvent SponsorshipEvent""".split()
)


class _Event:
    """One normalised GitHub event: body, name, action, sender login, repository, fallback time."""

    __slots__ = (
        "body",
        "name",
        "action",
        "sender",
        "repo",
        "repo_id",
        "owner",
        "fallback_ts",
        "archive_id",
        "sender_kind",
        "owner_kind",
    )

    def __init__(self, ctx: Ctx, payload: Any, headers: dict[str, str]) -> None:
        if not isinstance(payload, dict):
            raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
        self.archive_id: str | None = None
        if isinstance(payload.get("type"), str) and payload["type"].endswith("Event") and "payload" in payload:
            self._from_archive(ctx, payload)
            if payload["type"] not in ARCHIVE_TYPES and payload["type"] not in KNOWN_ARCHIVE_TYPES:
                ctx.prefix = ""
                raise ctx.error("type", f"unknown GitHub event type {payload['type'][:100]!r} (GH Archive type)")
        else:
            self._from_webhook(ctx, payload, headers)
            if self.name not in KNOWN_EVENTS:
                if "x-github-event" in headers:
                    reason = f"unknown GitHub event type: X-GitHub-Event {self.name[:100]!r}"
                else:
                    keys = ", ".join(sorted(str(k) for k in payload)[:12])
                    reason = f"unknown GitHub event type: no X-GitHub-Event header and the body matches no event (keys: {keys})"
                ctx.prefix = ""
                raise ctx.error("headers.x-github-event", reason)
        action = self.body.get("action")
        self.action = action if isinstance(action, str) else None

    def _from_archive(self, ctx: Ctx, rec: dict[str, Any]) -> None:
        self.archive_id = opt_id(ctx, rec, "id")
        ctx.record = self.archive_id
        body = rec.get("payload")
        if not isinstance(body, dict):
            raise ctx.error("payload", "expected an object")
        self.body = body
        self.name = ARCHIVE_TYPES.get(rec["type"], rec["type"])
        self.sender = _login(ctx, rec, "actor", required=True)
        self.repo = opt_str(ctx, rec, "repo.name")
        self.repo_id = opt_id(ctx, rec, "repo.id")
        self.owner = ("github:" + self.repo.split("/", 1)[0]) if self.repo and "/" in self.repo else None
        self.sender_kind = user_kind(rec.get("actor"))
        org = rec.get("org")  # GH Archive names the organisation owning the repository
        org_login = org.get("login") if isinstance(org, dict) else None
        self.owner_kind = "organisation" if isinstance(org_login, str) and self.owner == "github:" + org_login else None
        self.fallback_ts = (
            iso_ts(ctx, rec.get("created_at"), "created_at") if rec.get("created_at") is not None else ctx.received_at
        )
        ctx.prefix = "payload."

    def _from_webhook(self, ctx: Ctx, body: dict[str, Any], headers: dict[str, str]) -> None:
        ctx.record = headers.get("x-github-delivery")
        self.body = body
        self.name = headers.get("x-github-event") or _infer(body)
        self.sender = _login(ctx, body, "sender", required=False)
        self.repo = opt_str(ctx, body, "repository.full_name")
        self.repo_id = opt_id(ctx, body, "repository.id")
        self.owner = _login(ctx, body, "repository.owner", required=False)
        self.fallback_ts = ctx.received_at
        self.sender_kind = user_kind(body.get("sender"))
        repo = body.get("repository")
        self.owner_kind = user_kind(repo.get("owner")) if isinstance(repo, dict) else None


def _infer(body: dict[str, Any]) -> str:
    if "review" in body:
        return "pull_request_review"
    if "forkee" in body:
        return "fork"
    if "comment" in body:
        if "discussion" in body:
            return "discussion_comment"
        if "pull_request" in body:
            return "pull_request_review_comment"
        if "issue" not in body and isinstance(body["comment"], dict) and "commit_id" in body["comment"]:
            return "commit_comment"
        return "issue_comment"
    for name in ("discussion", "issue", "pull_request"):
        if name in body:
            return "issues" if name == "issue" else name
    if body.get("action") == "started":
        return "watch"
    if "starred_at" in body:
        return "star"
    return "unknown"


def user_kind(user: Any) -> str | None:
    """The actor kind a GitHub user object states: ``type`` Organization → organisation, Bot (or a ``[bot]``
    login) → bot; None for a user (a person) or no object (``docs/actor-kinds.md``)."""
    if not isinstance(user, dict):
        return None
    kind = user.get("type")
    if kind == "Organization":
        return "organisation"
    login = user.get("login")
    if kind == "Bot" or (isinstance(login, str) and login.endswith("[bot]")):
        return "bot"
    return None


def _kinds(meta: dict[str, Any], actor_kind: str | None, target_kind: str | None) -> dict[str, Any]:
    """``meta`` with the non-person kinds of the giver and the receiver (read by processors/kinds.py)."""
    if actor_kind is not None:
        meta["actor_kind"] = actor_kind
    if target_kind is not None:
        meta["target_kind"] = target_kind
    return meta


def _login(ctx: Ctx, obj: Any, path: str, *, required: bool) -> str | None:
    return _user_login(ctx, get(ctx, obj, path), path, required=required)


def _user_login(ctx: Ctx, user: Any, path: str, *, required: bool) -> str | None:
    """``github:<login>`` of the user object ``user`` found at ``path``."""
    if user is None:
        if required:
            raise ctx.error(path, "missing")
        return None
    if not isinstance(user, dict):
        raise ctx.error(path, f"expected a user object, got {type(user).__name__}")
    login = user.get("login")
    if not isinstance(login, str) or not login:
        if required:
            raise ctx.error(path + ".login", "missing or not a string")
        return None
    return "github:" + login


def _ts(ctx: Ctx, ev: _Event, obj: Any, path: str) -> datetime:
    v = get(ctx, obj, path)
    return iso_ts(ctx, v, path) if v is not None else ev.fallback_ts


def _text(*parts: Any) -> str | None:
    kept = [p for p in parts if isinstance(p, str) and p]
    return "\n\n".join(kept) if kept else None


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One webhook body or GH Archive record → interactions."""
    ev = _Event(ctx, payload, headers)
    handler = _HANDLERS.get(ev.name)
    if handler is None:
        return []
    return handler(ctx, ev)


def _item(
    ctx: Ctx,
    ev: _Event,
    *,
    obj_path: str,
    id_prefix: str,
    kind: Kind,
    target: str | None,
    thread_no: Any,
    text: str | None,
    ts_field: str = "created_at",
    parent_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    target_kind: str | None = None,
) -> list[Interaction]:
    obj = req(ctx, ev.body, obj_path)
    if not isinstance(obj, dict):
        raise ctx.error(obj_path, "expected an object")
    # obj is ev.body at obj_path (a plain key): its fields are read from it directly, paths only name errors
    item_id = obj.get("id")
    if item_id is not None:
        item_id = as_id(ctx, item_id, f"{obj_path}.id")
    user = obj.get("user")
    actor = _user_login(ctx, user, f"{obj_path}.user", required=False) or ev.sender
    if actor is None:
        raise ctx.error(obj_path + ".user.login", "missing (and no sender)")
    base = f"{id_prefix}:{item_id}" if item_id else f"gharchive:{ev.archive_id or ctx.record}"
    if base.endswith(":None"):
        raise ctx.error(obj_path + ".id", "missing")
    action_kind = _ACTION_KIND.get(ev.action or "")
    ts_raw = obj.get(ts_field)
    ts = iso_ts(ctx, ts_raw, f"{obj_path}.{ts_field}") if ts_raw is not None else ev.fallback_ts
    if action_kind is not None:
        # ids name the item and never the receive time, so a redelivery deduplicates: an item is
        # deleted once; an edit is named by the item's updated_at (else the delivery id, which a
        # redelivery keeps)
        if action_kind is Kind.delete:
            ts, eid = ev.fallback_ts, f"{base}#delete"
        else:
            updated = obj.get("updated_at")
            ts = iso_ts(ctx, updated, f"{obj_path}.updated_at") if updated is not None else ev.fallback_ts
            stamp = ts.isoformat() if updated is not None else (ev.archive_id or ctx.record)
            if stamp is None:
                raise ctx.error(f"{obj_path}.updated_at", "missing (and no delivery id to name the edit)")
            eid = f"{base}#edit@{stamp}"
        return [
            make(
                ctx,
                eid,
                action_kind,
                ts,
                ev.sender or actor,
                None,
                channel=ev.repo,
                parent_id=base,
                metadata=_kinds({}, ev.sender_kind if ev.sender else user_kind(user), None),
            )
        ]
    thread = f"{ev.repo}#{thread_no}" if ev.repo and thread_no is not None else None
    uid = user.get("id") if user is not None else None  # _user_login checked it is an object
    meta = {"user_id": uid} if isinstance(uid, int) and not isinstance(uid, bool) else {}
    if metadata:
        meta.update(metadata)
    _kinds(meta, user_kind(user) if user is not None else ev.sender_kind, target_kind)
    url = obj.get("html_url")
    if url is not None and type(url) is not str:
        url = opt_str(ctx, ev.body, f"{obj_path}.html_url")
    common: dict[str, Any] = dict(channel=ev.repo, thread=thread, url=url)
    ctx.remember(base, actor)
    out = [make(ctx, base, kind, ts, actor, target, parent_id=parent_id, text=text, metadata=meta, **common)]
    out += mentions_of(ctx, out[0], ["github:" + h for h in mentions_at(text)])
    return out


def _opened(obj: str, actions: tuple[str, ...]) -> Callable[[Ctx, _Event], list[Interaction]]:
    """Handler of an issue or pull request event: the item opened (or edited, deleted) goes to the repository owner."""

    def handle(ctx: Ctx, ev: _Event) -> list[Interaction]:
        if ev.action not in actions:
            return []
        item = req(ctx, ev.body, obj)
        return _item(
            ctx,
            ev,
            obj_path=obj,
            id_prefix=obj,
            kind=Kind.post,
            target=ev.owner,
            thread_no=get(ctx, item, "number"),
            text=_text(get(ctx, item, "title"), get(ctx, item, "body")),
            target_kind=ev.owner_kind,
        )

    return handle


_issues = _opened("issue", ("opened", "edited", "deleted"))
_pull_request = _opened("pull_request", ("opened", "edited"))


def _issue_comment(ctx: Ctx, ev: _Event) -> list[Interaction]:
    if ev.action not in ("created", "edited", "deleted", None):
        return []
    issue = get(ctx, ev.body, "issue") or {}
    target = _login(ctx, ev.body, "issue.user", required=False)
    issue_id = opt_id(ctx, issue, "id")
    return _item(
        ctx,
        ev,
        obj_path="comment",
        id_prefix="issue_comment",
        kind=Kind.reply,
        target=target,
        thread_no=get(ctx, issue, "number"),
        text=opt_str(ctx, ev.body, "comment.body"),
        parent_id=f"issue:{issue_id}" if issue_id else None,
        metadata={"is_pull_request": isinstance(issue, dict) and issue.get("pull_request") is not None},
        target_kind=user_kind(issue.get("user")) if isinstance(issue, dict) else None,
    )


def _review(ctx: Ctx, ev: _Event) -> list[Interaction]:
    if ev.action not in ("submitted", "created", None):
        return []
    state = opt_str(ctx, ev.body, "review.state")
    state_l = (state or "").lower()
    if state_l == "approved":
        kind = Kind.approve
    elif state_l in ("changes_requested", "commented", ""):
        kind = Kind.review
    else:
        return []  # dismissed, pending
    pr_id = opt_id(ctx, ev.body, "pull_request.id")
    return _item(
        ctx,
        ev,
        obj_path="review",
        id_prefix="review",
        kind=kind,
        target=_login(ctx, ev.body, "pull_request.user", required=False),
        thread_no=get(ctx, ev.body, "pull_request.number"),
        text=opt_str(ctx, ev.body, "review.body"),
        ts_field="submitted_at",
        parent_id=f"pull_request:{pr_id}" if pr_id else None,
        metadata={"state": state_l or None},
        target_kind=_pr_user_kind(ev),
    )


def _review_comment(ctx: Ctx, ev: _Event) -> list[Interaction]:
    if ev.action not in ("created", "edited", "deleted", None):
        return []
    reply_to = opt_id(ctx, ev.body, "comment.in_reply_to_id")
    pr_id = opt_id(ctx, ev.body, "pull_request.id")
    parent: str | None
    if reply_to is not None:
        parent = f"review_comment:{reply_to}"
        target, kind = ctx.author_of(parent), Kind.reply
    else:
        parent = f"pull_request:{pr_id}" if pr_id else None
        target, kind = _login(ctx, ev.body, "pull_request.user", required=False), Kind.review
    return _item(
        ctx,
        ev,
        obj_path="comment",
        id_prefix="review_comment",
        kind=kind,
        target=target,
        thread_no=get(ctx, ev.body, "pull_request.number"),
        text=opt_str(ctx, ev.body, "comment.body"),
        parent_id=parent,
        metadata={"path": opt_str(ctx, ev.body, "comment.path")},
        target_kind=_pr_user_kind(ev) if reply_to is None else None,
    )


def _pr_user_kind(ev: _Event) -> str | None:
    pr = ev.body.get("pull_request")
    return user_kind(pr.get("user")) if isinstance(pr, dict) else None


def _discussion(ctx: Ctx, ev: _Event) -> list[Interaction]:
    disc = req(ctx, ev.body, "discussion")
    if ev.action == "answered":
        chooser = _login(ctx, disc, "answer_chosen_by", required=False) or ev.sender
        if chooser is None:
            raise ctx.error("discussion.answer_chosen_by.login", "missing (and no sender)")
        answer_id = opt_id(ctx, ev.body, "answer.id")
        target = _login(ctx, ev.body, "answer.user", required=False) or ctx.author_of(f"discussion_comment:{answer_id}")
        ts = _ts(ctx, ev, ev.body, "discussion.answer_chosen_at")
        did = opt_id(ctx, ev.body, "discussion.id")
        return [
            make(
                ctx,
                f"discussion:{did}#answer",
                Kind.approve,
                ts,
                chooser,
                target,
                channel=ev.repo,
                thread=f"{ev.repo}#{get(ctx, disc, 'number')}" if ev.repo else None,
                parent_id=f"discussion_comment:{answer_id}" if answer_id else None,
            )
        ]
    if ev.action not in ("created", "edited", "deleted"):
        return []
    return _item(
        ctx,
        ev,
        obj_path="discussion",
        id_prefix="discussion",
        kind=Kind.post,
        target=ev.owner,
        thread_no=get(ctx, disc, "number"),
        text=_text(get(ctx, disc, "title"), get(ctx, disc, "body")),
        metadata={"category": opt_str(ctx, disc, "category.name")},
        target_kind=ev.owner_kind,
    )


def _discussion_comment(ctx: Ctx, ev: _Event) -> list[Interaction]:
    if ev.action not in ("created", "edited", "deleted"):
        return []
    parent_cid = opt_id(ctx, ev.body, "comment.parent_id")
    did = opt_id(ctx, ev.body, "discussion.id")
    parent: str | None
    if parent_cid is not None:
        parent = f"discussion_comment:{parent_cid}"
        target = ctx.author_of(parent)  # the parent comment's author, if seen
    else:
        parent = f"discussion:{did}" if did else None
        target = _login(ctx, ev.body, "discussion.user", required=False)
    disc = ev.body.get("discussion")
    return _item(
        ctx,
        ev,
        obj_path="comment",
        id_prefix="discussion_comment",
        kind=Kind.reply,
        target=target,
        thread_no=get(ctx, ev.body, "discussion.number"),
        text=opt_str(ctx, ev.body, "comment.body"),
        parent_id=parent,
        target_kind=user_kind(disc.get("user")) if parent_cid is None and isinstance(disc, dict) else None,
    )


def _watch(ctx: Ctx, ev: _Event) -> list[Interaction]:
    if ev.action not in ("started", None):
        return []
    if ev.sender is None:
        raise ctx.error("sender.login", "missing")
    repo_key = ev.repo_id or ev.repo
    if repo_key is None:
        raise ctx.error("repository.id", "missing")
    meta = _kinds({}, ev.sender_kind, ev.owner_kind)
    return [
        make(
            ctx,
            f"star:{repo_key}:{ev.sender[7:]}",
            Kind.star,
            ev.fallback_ts,
            ev.sender,
            ev.owner,
            channel=ev.repo,
            metadata=meta,
        )
    ]


def _star(ctx: Ctx, ev: _Event) -> list[Interaction]:
    """The ``star`` webhook (``created``; ``deleted`` takes nothing back): the same id as ``watch``, so both dedupe."""
    if ev.action != "created":
        return []
    if ev.sender is None:
        raise ctx.error("sender.login", "missing")
    repo_key = ev.repo_id or ev.repo
    if repo_key is None:
        raise ctx.error("repository.id", "missing")
    starred = get(ctx, ev.body, "starred_at")
    ts = iso_ts(ctx, starred, "starred_at") if starred is not None else ev.fallback_ts
    meta = _kinds({}, ev.sender_kind, ev.owner_kind)
    return [
        make(
            ctx, f"star:{repo_key}:{ev.sender[7:]}", Kind.star, ts, ev.sender, ev.owner, channel=ev.repo, metadata=meta
        )
    ]


def _commit_comment(ctx: Ctx, ev: _Event) -> list[Interaction]:
    """A comment on a commit: a review of the commit's author (remembered from a push; else unknown)."""
    if ev.action not in ("created", None):
        return []
    sha = opt_str(ctx, ev.body, "comment.commit_id")
    return _item(
        ctx,
        ev,
        obj_path="comment",
        id_prefix="commit_comment",
        kind=Kind.review,
        target=ctx.author_of(f"commit:{sha}") if sha else None,
        thread_no=f"commit:{sha[:12]}" if sha else None,
        text=opt_str(ctx, ev.body, "comment.body"),
        parent_id=f"commit:{sha}" if sha else None,
        metadata={"path": opt_str(ctx, ev.body, "comment.path")},
    )


def _push(ctx: Ctx, ev: _Event) -> list[Interaction]:
    """A push only teaches the parent index who authored each commit (for commit comments)."""
    commits = get(ctx, ev.body, "commits")
    if isinstance(commits, list):
        for c in commits:
            if isinstance(c, dict) and isinstance(c.get("id"), str):
                login = get(ctx, c, "author.username")
                if isinstance(login, str) and login:
                    ctx.remember(f"commit:{c['id']}", "github:" + login)
    return []


def _fork(ctx: Ctx, ev: _Event) -> list[Interaction]:
    forkee = get(ctx, ev.body, "forkee")
    actor = (_login(ctx, forkee, "owner", required=False) if isinstance(forkee, dict) else None) or ev.sender
    if actor is None:
        raise ctx.error("forkee.owner.login", "missing (and no sender)")
    fid = opt_id(ctx, forkee, "id") if isinstance(forkee, dict) else None
    base = f"fork:{fid}" if fid else f"gharchive:{ev.archive_id}" if ev.archive_id else None
    if base is None:
        raise ctx.error("forkee.id", "missing")
    ts = _ts(ctx, ev, ev.body, "forkee.created_at") if isinstance(forkee, dict) else ev.fallback_ts
    return [
        make(
            ctx,
            base,
            Kind.fork,
            ts,
            actor,
            ev.owner,
            channel=ev.repo,
            url=opt_str(ctx, forkee, "html_url") if isinstance(forkee, dict) else None,
            metadata=_kinds(
                {"forkee": opt_str(ctx, forkee, "full_name") if isinstance(forkee, dict) else None},
                user_kind(forkee.get("owner")) if isinstance(forkee, dict) else ev.sender_kind,
                ev.owner_kind,
            ),
        )
    ]


_HANDLERS = {
    "issues": _issues,
    "pull_request": _pull_request,
    "issue_comment": _issue_comment,
    "pull_request_review": _review,
    "pull_request_review_comment": _review_comment,
    "discussion": _discussion,
    "discussion_comment": _discussion_comment,
    "watch": _watch,
    "star": _star,
    "fork": _fork,
    "commit_comment": _commit_comment,
    "push": _push,
}
