"""Discourse webhooks: ``{post: …}``, ``{topic: …}``, ``{like: …}`` bodies (event name in ``X-Discourse-Event``).

Actors are ``discourse:<username>`` (mentions name usernames). Event ids: ``post:{id}``,
``post:{id}#like:{username}``, mentions ``post:{id}#mention:{actor}``.
A topic's first post (``post_number`` 1) is the topic: a ``post`` with the topic title and the
body (``raw``, else the ``cooked`` HTML that API responses carry), so the question or idea that
opens a topic is classified; ``topic_created`` only remembers the topic's author (its content
arrives as that first post). A reply targets ``reply_to_user.username`` when
``reply_to_post_number`` is set, else the topic author (remembered from earlier topic/first-post
events; unknown → no target). Likes carry no timestamp: the receive time is used.
"""

from __future__ import annotations

from typing import Any

from valuenet.ingest.errors import ParseError
from valuenet.ingest.platforms._common import (
    Ctx,
    get,
    id_str,
    iso_ts,
    make,
    mentions_at,
    mentions_of,
    opt_id,
    opt_str,
    req,
    req_str,
)
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse"]


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One Discourse webhook body, or API response with posts (``/posts.json``, ``/t/{id}.json``, one post) → interactions."""
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    ctx.record = headers.get("x-discourse-event-id")
    event = headers.get("x-discourse-event", "")
    if "like" in payload:
        return _like(ctx, payload)
    if "post" in payload:
        return _post(ctx, payload, event or "post_created")
    if "topic" in payload:
        return _topic(ctx, payload, event or "topic_created")
    if "ping" in payload:
        return []
    posts, path = _api_posts(payload)
    if posts is not None:
        out: list[Interaction] = []
        for i in sorted(range(len(posts)), key=lambda i: _created(posts[i])):  # oldest first: parents before replies
            try:
                out += _post(ctx, {"post": posts[i]}, "post_created")
            except ParseError as e:  # name the field as it is in the response, not in the wrapper
                field = e.field.replace("post.", f"{path}[{i}].", 1) if path != "<post>" else e.field[5:]
                raise ParseError(e.source, field, e.reason, e.record) from None
        return out
    raise ctx.error("<payload>", "expected a post, topic or like webhook body, or API posts")


def _api_posts(payload: dict[str, Any]) -> tuple[list[Any] | None, str]:
    """Posts of an API response: ``/posts.json`` (``latest_posts``), ``/t/{id}.json``
    (``post_stream.posts``) or one post (``/posts/{id}.json``)."""
    if isinstance(payload.get("latest_posts"), list):
        return payload["latest_posts"], "latest_posts"
    stream = payload.get("post_stream")
    if isinstance(stream, dict) and isinstance(stream.get("posts"), list):
        return stream["posts"], "post_stream.posts"
    if "post_number" in payload and "username" in payload:
        return [payload], "<post>"
    return None, ""


def _created(post: Any) -> str:
    v = post.get("created_at") if isinstance(post, dict) else None
    return v if isinstance(v, str) else ""


def _user(ctx: Ctx, obj: Any, path: str) -> str:
    return "discourse:" + req_str(ctx, obj, path)


def _topic(ctx: Ctx, body: dict[str, Any], event: str) -> list[Interaction]:
    topic = req(ctx, body, "topic")
    tid = id_str(ctx, body, "topic.id")
    author = opt_str(ctx, body, "topic.created_by.username") or opt_str(ctx, body, "topic.details.created_by.username")
    if author is None:
        raise ctx.error("topic.created_by.username", "missing")
    actor = "discourse:" + author
    ctx.remember(f"topic:{tid}", actor)
    iso_ts(ctx, get(ctx, topic, "created_at"), "topic.created_at")  # validated: a bad topic is dead-lettered
    common: dict[str, Any] = {"channel": opt_id(ctx, body, "topic.category_id"), "thread": f"topic:{tid}"}
    if event == "topic_created":
        return []  # the topic's content and flow arrive as its first post (post_number 1)
    if event == "topic_destroyed":
        return [
            make(
                ctx,
                f"topic:{tid}#delete",
                Kind.delete,
                ctx.received_at,
                actor,
                None,
                parent_id=f"topic:{tid}",
                **common,
            )
        ]
    return []


def _post(ctx: Ctx, body: dict[str, Any], event: str) -> list[Interaction]:
    post = req(ctx, body, "post")
    if not isinstance(post, dict):
        raise ctx.error("post", "expected an object")
    pid = id_str(ctx, body, "post.id")
    actor = _user(ctx, body, "post.username")
    tid = opt_id(ctx, body, "post.topic_id")
    base = f"post:{pid}"
    common: dict[str, Any] = {
        "channel": opt_id(ctx, body, "post.category_id"),
        "thread": f"topic:{tid}" if tid else None,
    }
    uid = post.get("user_id")
    meta: dict[str, Any] = {"user_id": uid} if isinstance(uid, int) and not isinstance(uid, bool) else {}
    if isinstance(uid, int) and uid <= 0:
        meta["bot"] = True  # Discourse's own accounts (system -1, discobot -2): no flow
    if event == "post_edited":
        ts = iso_ts(ctx, post.get("updated_at") or post.get("created_at"), "post.updated_at")
        return [make(ctx, f"{base}#edit@{ts.isoformat()}", Kind.edit, ts, actor, None, parent_id=base, **common)]
    if event == "post_destroyed":
        return [make(ctx, f"{base}#delete", Kind.delete, ctx.received_at, actor, None, parent_id=base, **common)]
    if event not in ("post_created", "post_recovered"):
        return []
    ts = iso_ts(ctx, post.get("created_at"), "post.created_at")
    raw = opt_str(ctx, body, "post.raw") or opt_str(ctx, body, "post.cooked")  # API posts may carry only HTML
    number = post.get("post_number")
    ctx.remember(base, actor)
    who: dict[str, Any] = {"url": _url(post), "actor_name": opt_str(ctx, body, "post.name"), "metadata": meta}
    if number == 1:
        if tid:
            ctx.remember(f"topic:{tid}", actor)
        title = opt_str(ctx, body, "post.topic_title")
        text = "\n\n".join(p for p in (title, raw) if p) or None
        out = [make(ctx, base, Kind.post, ts, actor, None, text=text, **who, **common)]
    else:
        if post.get("reply_to_post_number") is not None:
            reply_user = opt_str(ctx, body, "post.reply_to_user.username")
            target = "discourse:" + reply_user if reply_user else None
        else:
            target = ctx.author_of(f"topic:{tid}") if tid else None
        out = [
            make(
                ctx,
                base,
                Kind.reply,
                ts,
                actor,
                target,
                parent_id=f"topic:{tid}" if tid else None,
                text=raw,
                **who,
                **common,
            )
        ]
    out += mentions_of(ctx, out[0], ["discourse:" + u for u in mentions_at(raw)])
    return out


def _url(post: dict[str, Any]) -> str | None:
    slug, tid, n = post.get("topic_slug"), post.get("topic_id"), post.get("post_number")
    if isinstance(slug, str) and tid is not None and n is not None:
        return f"/t/{slug}/{tid}/{n}"
    return None


def _like(ctx: Ctx, body: dict[str, Any]) -> list[Interaction]:
    actor = _user(ctx, body, "like.user.username")
    pid = id_str(ctx, body, "like.post.id")
    owner = opt_str(ctx, body, "like.post.username")
    target = "discourse:" + owner if owner else ctx.author_of(f"post:{pid}")
    tid = opt_id(ctx, body, "like.post.topic_id")
    return [
        make(
            ctx,
            f"post:{pid}#like:{actor[10:]}",
            Kind.reaction,
            ctx.received_at,
            actor,
            target,
            thread=f"topic:{tid}" if tid else None,
            parent_id=f"post:{pid}",
            metadata={"reaction": "like"},
        )
    ]
