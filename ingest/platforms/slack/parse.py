"""Slack: Events API callbacks (message, thread reply, edit, delete, reaction_added, app_mention)
and export-file messages (a bare message object with ``channel`` set by the reader).

Actors are ``slack:<user id>`` (bots ``slack:<bot_id>``). A message with ``bot_id``, ``app_id``,
subtype ``bot_message`` or a ``bot_profile`` is a bot's (``metadata["bot_id"]``: no flow),
and a reply to a remembered bot's message is marked ``metadata["to_bot"]`` (no flow either). A message is identified by its
channel and ``ts``: event id ``msg:{channel}:{ts}``; mentions append ``#mention:{actor}``,
reactions ``#reaction:{name}:{user}``, edits ``#edit@{edit ts}``, deletes ``#delete``.
Thread is ``{channel}:{thread_ts}`` (a root's own ``ts``). Replies are detected by
``thread_ts`` ≠ ``ts``; their target is ``parent_user_id`` else the remembered root author.
"""

from __future__ import annotations

import re
from typing import Any

from valuenet.ingest.platforms._common import Ctx, get, make, mentions_of, opt_str, req, req_str, unix_ts
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse"]

_USER_MENTION = re.compile(r"<@([UWB][A-Z0-9]+)(?:\|[^>]*)?>")
_PLAIN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message", "bot_message", "message_replied"})


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One Events API body (or bare event / export message) → interactions."""
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    kind = payload.get("type")
    if kind == "url_verification":
        return []
    if kind == "event_callback":
        record = payload.get("event_id")
        ctx.record = record if record is None or type(record) is str else opt_str(ctx, payload, "event_id")
        event = payload.get("event")
        if event is None:
            event = req(ctx, payload, "event")  # raises: missing
        if not isinstance(event, dict):
            raise ctx.error("event", "expected an object")
        team = payload.get("team_id")
        if team is not None and type(team) is not str:
            team = opt_str(ctx, payload, "team_id")
        ctx.prefix = "event."
    else:
        event, team = payload, None
    etype = event.get("type", "message")
    if not isinstance(etype, str):
        raise ctx.error("type", f"expected a string, got {type(etype).__name__}")
    if etype in ("message", "app_mention"):
        return _message(ctx, event, team)
    if etype == "reaction_added":
        return _reaction(ctx, event)
    return []


def _mentioned(ctx: Ctx, text: str | None, blocks: Any) -> list[str]:
    found: dict[str, None] = {}
    if text and "<@" in text:
        for m in _USER_MENTION.finditer(text):
            found.setdefault(m.group(1), None)
    if isinstance(blocks, list):
        stack: list[Any] = list(blocks)
        budget = 10_000
        while stack and budget:
            budget -= 1
            node = stack.pop()
            if isinstance(node, dict):
                if node.get("type") == "user" and isinstance(node.get("user_id"), str) and node["user_id"]:
                    found.setdefault(node["user_id"], None)
                el = node.get("elements")
                if isinstance(el, list):
                    stack.extend(reversed(el))
            elif isinstance(node, list):
                stack.extend(reversed(node))
    return ["slack:" + u for u in found]


def _is_bot_profile(ev: dict[str, Any]) -> bool:
    """Export messages of apps carry ``bot_profile`` (or ``user_profile.is_bot``) instead of a bot_id."""
    if isinstance(ev.get("bot_profile"), dict):
        return True
    prof = ev.get("user_profile")
    return isinstance(prof, dict) and prof.get("is_bot") is True


def _author(ctx: Ctx, msg: dict[str, Any], path: str = "") -> str:
    user = msg.get("user") or msg.get("bot_id")
    if not isinstance(user, str) or not user:
        raise ctx.error(path + "user", "missing or not a string")
    return "slack:" + user


def _message(ctx: Ctx, ev: dict[str, Any], team: str | None) -> list[Interaction]:
    subtype = ev.get("subtype")
    if subtype is not None and not isinstance(subtype, str):
        raise ctx.error("subtype", f"expected a string, got {type(subtype).__name__}")
    channel = ev.get("channel")
    if type(channel) is not str or not channel:
        channel = req_str(ctx, ev, "channel")
    if subtype == "message_changed":
        msg = req(ctx, ev, "message")
        if not isinstance(msg, dict):
            raise ctx.error("message", "expected an object")
        ts = unix_ts(ctx, req(ctx, ev, "ts"), "ts")
        mts = req_str(ctx, ev, "message.ts")
        base = f"msg:{channel}:{mts}"
        return [
            make(
                ctx,
                f"{base}#edit@{ev['ts']}",
                Kind.edit,
                ts,
                _author(ctx, msg, "message."),
                None,
                channel=channel,
                parent_id=base,
                text=opt_str(ctx, ev, "message.text"),
            )
        ]
    if subtype == "message_deleted":
        ts = unix_ts(ctx, req(ctx, ev, "ts"), "ts")
        dts = req_str(ctx, ev, "deleted_ts")
        prev = get(ctx, ev, "previous_message")
        if not isinstance(prev, dict):
            raise ctx.error("previous_message.user", "missing")
        actor = _author(ctx, prev, "previous_message.")
        base = f"msg:{channel}:{dts}"
        return [make(ctx, f"{base}#delete", Kind.delete, ts, actor, None, channel=channel, parent_id=base)]
    if subtype not in _PLAIN_SUBTYPES:
        return []  # joins, topic changes, …: no interaction
    raw_ts = ev.get("ts")
    if type(raw_ts) is not str:
        raw_ts = req(ctx, ev, "ts")
        if not isinstance(raw_ts, str):
            raise ctx.error("ts", "expected a 'seconds.micro' string")
    ts = unix_ts(ctx, raw_ts, "ts")
    actor = _author(ctx, ev)
    base = f"msg:{channel}:{raw_ts}"
    thread_ts = ev.get("thread_ts")
    if thread_ts is not None and type(thread_ts) is not str:
        thread_ts = opt_str(ctx, ev, "thread_ts")
    text = ev.get("text")
    if text is not None and type(text) is not str:
        text = opt_str(ctx, ev, "text")
    thread = f"{channel}:{thread_ts or raw_ts}"
    common: dict[str, Any] = {"channel": channel, "thread": thread}
    meta: dict[str, Any] = {"team": team} if team else {}
    if ev.get("type") == "app_mention":
        meta["app_mention"] = True
    bot_id = ev.get("bot_id")
    app_id = ev.get("app_id")
    if (
        (isinstance(bot_id, str) and bot_id)
        or subtype == "bot_message"
        or _is_bot_profile(ev)
        or (isinstance(app_id, str) and app_id)
    ):
        meta["bot_id"] = bot_id if isinstance(bot_id, str) and bot_id else True  # a bot: guard:bot, no flow
        ctx.remember(f"bot:{actor}", actor)
    ctx.remember(base, actor)
    if thread_ts and thread_ts != raw_ts:
        root = f"msg:{channel}:{thread_ts}"
        parent_user = opt_str(ctx, ev, "parent_user_id")
        target = "slack:" + parent_user if parent_user else ctx.author_of(root)
        if target is not None and ctx.author_of(f"bot:{target}"):
            meta["to_bot"] = True  # a reply to a bot's message gives the bot nothing
        out = [make(ctx, base, Kind.reply, ts, actor, target, parent_id=root, text=text, metadata=meta, **common)]
    else:
        out = [make(ctx, base, Kind.post, ts, actor, None, text=text, metadata=meta, **common)]
    out += mentions_of(ctx, out[0], _mentioned(ctx, text, ev.get("blocks")))
    reactions = ev.get("reactions")
    if reactions is not None:
        out += _export_reactions(ctx, reactions, base, ts, actor, common)
    return out


def _export_reactions(
    ctx: Ctx, reactions: Any, base: str, ts: Any, author: str, common: dict[str, Any]
) -> list[Interaction]:
    if not isinstance(reactions, list):
        raise ctx.error("reactions", "expected a list")
    out = []
    for i, r in enumerate(reactions):
        path = f"reactions[{i}]"
        if not isinstance(r, dict):
            raise ctx.error(path, "expected an object")
        name = r.get("name")
        users = r.get("users")
        if not isinstance(name, str) or not name:
            raise ctx.error(path + ".name", "missing or not a string")
        if not isinstance(users, list):
            raise ctx.error(path + ".users", "expected a list")
        for u in users:
            if isinstance(u, str) and u:
                out.append(
                    make(
                        ctx,
                        f"{base}#reaction:{name}:{u}",
                        Kind.reaction,
                        ts,
                        "slack:" + u,
                        author,
                        parent_id=base,
                        metadata={"reaction": name},
                        **common,
                    )
                )
    return out


def _reaction(ctx: Ctx, ev: dict[str, Any]) -> list[Interaction]:
    user = req_str(ctx, ev, "user")
    name = req_str(ctx, ev, "reaction")
    ts = unix_ts(ctx, req(ctx, ev, "event_ts"), "event_ts")
    item = req(ctx, ev, "item")
    if not isinstance(item, dict):
        raise ctx.error("item", "expected an object")
    if item.get("type", "message") == "message":
        channel = req_str(ctx, ev, "item.channel")
        base = f"msg:{channel}:{req_str(ctx, ev, 'item.ts')}"
    else:
        channel = None
        base = f"file:{item.get('file') or item.get('file_comment')}"
    item_user = opt_str(ctx, ev, "item_user")
    target = "slack:" + item_user if item_user else ctx.author_of(base)
    return [
        make(
            ctx,
            f"{base}#reaction:{name}:{user}",
            Kind.reaction,
            ts,
            "slack:" + user,
            target,
            channel=channel,
            parent_id=base,
            metadata={"reaction": name},
        )
    ]
