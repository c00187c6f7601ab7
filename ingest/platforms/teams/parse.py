"""Microsoft Teams: Graph ``chatMessage`` resources, Graph list pages and change notifications.

Actors are ``teams:<AAD user id>`` (apps ``teams:<application id>``, flagged ``metadata["bot"]``; ``displayName`` to
``actor_name``). Event id ``msg:{id}``; derived ``#mention:{actor}``,
``#reaction:{type}:{user}``, ``#edit@{lastModifiedDateTime}``, ``#delete``. A reply
(``replyToId``) targets the remembered author of the parent message (unknown → no target).
Channel is ``chatId`` or ``{teamId}/{channelId}``. Change notifications
``{"value": [{changeType, resourceData}]}`` are parsed when ``resourceData`` carries the
message (rich notifications); bare id-only notifications yield nothing.
"""

from __future__ import annotations

from typing import Any

from valuenet.ingest.platforms._common import Ctx, get, id_str, iso_ts, make, mentions_of, opt_id, opt_str
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse"]


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One chatMessage, list page or change notification → interactions."""
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    if "value" in payload and isinstance(payload["value"], list):
        out: list[Interaction] = []
        for i, item in enumerate(payload["value"]):
            if not isinstance(item, dict):
                raise ctx.error(f"value[{i}]", "expected an object")
            if "changeType" in item:
                data = item.get("resourceData")
                ctx.prefix = f"value[{i}].resourceData."
                if isinstance(data, dict) and "from" in data:
                    out += _message(ctx, data, item.get("changeType"))
            else:
                ctx.prefix = f"value[{i}]."
                out += _message(ctx, item, None)
        return out
    return _message(ctx, payload, None)


def _from(ctx: Ctx, obj: dict[str, Any], path: str) -> tuple[str | None, str | None]:
    sender = get(ctx, obj, path)
    if not isinstance(sender, dict):
        return None, None
    for who in ("user", "application", "device"):
        ident = sender.get(who)
        if isinstance(ident, dict) and ident.get("id"):
            name = ident.get("displayName")
            return "teams:" + str(ident["id"]), name if isinstance(name, str) else None
    return None, None


def _message(ctx: Ctx, msg: dict[str, Any], change: Any) -> list[Interaction]:
    mid = id_str(ctx, msg, "id")
    ctx.record = mid
    base = f"msg:{mid}"
    actor, name = _from(ctx, msg, "from")
    bot = isinstance(get(ctx, msg, "from.application"), dict) and not isinstance(get(ctx, msg, "from.user"), dict)
    if actor is None:
        if msg.get("messageType") not in (None, "message"):
            return []  # system event messages have no sender
        raise ctx.error("from.user.id", "missing")
    chat = opt_str(ctx, msg, "chatId")
    team, chan = opt_str(ctx, msg, "channelIdentity.teamId"), opt_str(ctx, msg, "channelIdentity.channelId")
    channel = chat or (f"{team}/{chan}" if team and chan else chan)
    reply_to = opt_id(ctx, msg, "replyToId")
    parent = f"msg:{reply_to}" if reply_to else None
    common: dict[str, Any] = {"channel": channel, "thread": parent or base}
    if change == "deleted" or msg.get("deletedDateTime"):
        ts = iso_ts(ctx, msg.get("deletedDateTime") or msg.get("lastModifiedDateTime"), "deletedDateTime")
        return [make(ctx, base + "#delete", Kind.delete, ts, actor, None, parent_id=base, **common)]
    ts = iso_ts(ctx, msg.get("createdDateTime"), "createdDateTime")
    ctx.remember(base, actor)
    text = opt_str(ctx, msg, "body.content")
    if change == "updated":
        mts = iso_ts(ctx, msg.get("lastModifiedDateTime") or msg.get("createdDateTime"), "lastModifiedDateTime")
        out = [make(ctx, f"{base}#edit@{mts.isoformat()}", Kind.edit, mts, actor, None, parent_id=base, **common)]
    elif reply_to:
        out = [
            make(
                ctx,
                base,
                Kind.reply,
                ts,
                actor,
                ctx.author_of(parent),
                parent_id=parent,
                text=text,
                actor_name=name,
                metadata={"bot": True} if bot else None,
                **common,
            )
        ]
    else:
        meta = {"bot": True} if bot else None  # an app (bot) posting: no flow
        out = [make(ctx, base, Kind.post, ts, actor, None, text=text, actor_name=name, metadata=meta, **common)]
    if change != "updated":
        targets = []
        for m in _list(ctx, msg, "mentions"):
            uid = (
                opt_id(ctx, m, "mentioned.user.id") or opt_id(ctx, m, "mentioned.application.id")
                if isinstance(m, dict)
                else None
            )
            if uid:
                targets.append("teams:" + uid)
        out += mentions_of(ctx, out[0], targets)
    for i, r in enumerate(_list(ctx, msg, "reactions")):
        if not isinstance(r, dict):
            raise ctx.error(f"reactions[{i}]", "expected an object")
        uid = opt_id(ctx, r, "user.user.id")
        rtype = r.get("reactionType") if isinstance(r.get("reactionType"), str) else "reaction"
        if not uid:
            continue
        rts = (
            iso_ts(ctx, r.get("createdDateTime"), f"reactions[{i}].createdDateTime") if r.get("createdDateTime") else ts
        )
        out.append(
            make(
                ctx,
                f"{base}#reaction:{rtype}:{uid}",
                Kind.reaction,
                rts,
                "teams:" + uid,
                actor,
                parent_id=base,
                metadata={"reaction": rtype},
                **common,
            )
        )
    return out


def _list(ctx: Ctx, obj: dict[str, Any], key: str) -> list[Any]:
    v = obj.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise ctx.error(key, "expected a list")
    return v
