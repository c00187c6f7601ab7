"""Zendesk event webhooks: ``{type: "zen:event-type:ticket.…", id, time, subject: "zen:ticket:N", detail, event}``.

Actors are ``zendesk:<user id>``; ``metadata["role"]`` is ``customer`` for the requester and
``agent`` for staff (the identity stage maps them to segments). Event ids:
``ticket:{N}`` for ``ticket.created`` (kind ``ticket``: requester → assignee),
``ticket:{N}#comment:{comment id}`` for ``ticket.comment_added`` (kind ``reply``: the
requester's comment → assignee; anyone else's → requester), and
``ticket:{N}#{event id}`` (kind ``ticket``: assignee set, requester → new assignee).
Other ticket events yield nothing.
"""

from __future__ import annotations

from typing import Any

from valuenet.ingest.platforms._common import Ctx, get, id_str, iso_ts, make, opt_id, opt_str, req_str
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse"]


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One Zendesk event webhook body → interactions."""
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    etype = req_str(ctx, payload, "type")
    eid = id_str(ctx, payload, "id")
    ctx.record = eid
    if not etype.startswith("zen:event-type:ticket."):
        return []
    subject = req_str(ctx, payload, "subject")
    ticket = subject.rsplit(":", 1)[-1] if subject.startswith("zen:ticket:") else None
    if not ticket:
        raise ctx.error("subject", f"expected 'zen:ticket:N', got {subject[:40]!r}")
    ts = iso_ts(ctx, payload.get("time"), "time")
    requester = _user(ctx, payload, "detail.requester_id")
    assignee = _user(ctx, payload, "detail.assignee_id")
    base = f"ticket:{ticket}"
    common: dict[str, Any] = {"channel": opt_id(ctx, payload, "detail.group_id"), "thread": base}
    action = etype[len("zen:event-type:ticket.") :]
    if action == "created":
        if requester is None:
            raise ctx.error("detail.requester_id", "missing")
        text = "\n\n".join(
            p for p in (opt_str(ctx, payload, "detail.subject"), opt_str(ctx, payload, "detail.description")) if p
        )
        return [
            make(
                ctx,
                base,
                Kind.ticket,
                ts,
                requester,
                assignee,
                text=text or None,
                metadata={"role": "customer", "event": action},
                **common,
            )
        ]
    if action == "comment_added":
        cid = id_str(ctx, payload, "event.comment.id")
        author = _user(ctx, payload, "event.comment.author.id")
        if author is None:
            raise ctx.error("event.comment.author.id", "missing")
        staff = get(ctx, payload, "event.comment.author.is_staff")
        is_requester = author == requester
        role = "customer" if is_requester else ("agent" if staff is True or staff is None else "customer")
        target = assignee if is_requester else requester
        public = get(ctx, payload, "event.comment.is_public")
        return [
            make(
                ctx,
                f"{base}#comment:{cid}",
                Kind.reply,
                ts,
                author,
                target,
                parent_id=base,
                text=opt_str(ctx, payload, "event.comment.body"),
                actor_name=opt_str(ctx, payload, "event.comment.author.name"),
                metadata={"role": role, "public": public if isinstance(public, bool) else None, "event": action},
                **common,
            )
        ]
    if action == "agent_assignment_changed":
        new = _user(ctx, payload, "event.current")
        if requester is None or new is None:
            return []
        return [
            make(
                ctx,
                f"{base}#{eid}",
                Kind.ticket,
                ts,
                requester,
                new,
                parent_id=base,
                metadata={"role": "customer", "event": action},
                **common,
            )
        ]
    return []


def _user(ctx: Ctx, obj: Any, path: str) -> str | None:
    v = opt_id(ctx, obj, path)
    return "zendesk:" + v if v else None
