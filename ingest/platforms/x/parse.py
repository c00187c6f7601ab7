"""X / Twitter API v2 responses: ``{data: tweet | [tweets], includes: {users, tweets}}``.

Actors are ``x:<user id>`` (``username`` to ``actor_name``, ``followers_count`` to
``actor_followers`` from ``includes.users``). X returns only ``id`` and ``text`` unless asked:
a tweet without ``author_id`` or ``created_at`` is refused with the ``tweet.fields`` /
``expansions`` to request (the author cannot be inferred safely: ``includes.users`` also
holds mentioned and referenced users). Event id = tweet id; derived ``{id}#quote``
and ``{id}#mention:{actor}``. Primary kind: retweet → repost (no mentions: its text repeats
the original), reply → reply (target ``in_reply_to_user_id``), quote → quote, else post; a
reply that also quotes adds ``#quote``. Referenced tweets' authors come from
``includes.tweets`` or the parent index; unknown → no target.
"""

from __future__ import annotations

from typing import Any

from valuenet.ingest.platforms._common import Ctx, get, id_str, iso_ts, make, mentions_of, opt_id, opt_str
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse"]


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One API v2 response (single tweet or a page) → interactions."""
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    data = payload.get("data")
    if data is None:
        if "errors" in payload or "meta" in payload:
            return []
        raise ctx.error("data", "missing")
    users: dict[str, dict[str, Any]] = {}
    for u in _list(ctx, payload, "includes.users"):
        if isinstance(u, dict) and u.get("id") is not None:
            users[str(u["id"])] = u
    for t in _list(ctx, payload, "includes.tweets"):
        if isinstance(t, dict) and t.get("id") is not None and t.get("author_id") is not None:
            ctx.remember(str(t["id"]), "x:" + str(t["author_id"]))
    tweets = data if isinstance(data, list) else [data]
    out: list[Interaction] = []
    for i, tw in enumerate(tweets):
        ctx.prefix = f"data[{i}]." if isinstance(data, list) else "data."
        out += _tweet(ctx, tw, users)
    return out


def _automated(user: Any) -> bool:
    """True when an ``includes.users`` entry carries X's automation label (``automated: true``, or an
    ``affiliation`` / label naming an automated account), as some v2 payloads do."""
    if not isinstance(user, dict):
        return False
    if user.get("automated") is True:
        return True
    label = user.get("affiliation") or user.get("label")
    text = label.get("description") if isinstance(label, dict) else label
    return isinstance(text, str) and "automated" in text.lower()


def _list(ctx: Ctx, obj: Any, path: str) -> list[Any]:
    v = get(ctx, obj, path)
    if v is None:
        return []
    if not isinstance(v, list):
        raise ctx.error(path, "expected a list")
    return v


def _tweet(ctx: Ctx, tw: Any, users: dict[str, dict[str, Any]]) -> list[Interaction]:
    if not isinstance(tw, dict):
        raise ctx.error("", "expected a tweet object")
    tid = id_str(ctx, tw, "id")
    ctx.record = tid
    for f in ("author_id", "created_at"):
        if tw.get(f) is None:
            raise ctx.error(
                f,
                "missing: X API v2 returns only id and text by default; request "
                "tweet.fields=author_id,created_at,conversation_id,referenced_tweets,entities,in_reply_to_user_id "
                "(and expansions=author_id,referenced_tweets.id for includes)",
            )
    author = id_str(ctx, tw, "author_id")
    actor = "x:" + author
    ts = iso_ts(ctx, tw.get("created_at"), "created_at")
    ctx.remember(tid, actor)
    user = users.get(author, {})
    fc = get(ctx, user, "public_metrics.followers_count") if isinstance(user, dict) else None
    who: dict[str, Any] = {
        "actor_name": user.get("username") if isinstance(user.get("username"), str) else None,
        "actor_followers": fc if isinstance(fc, int) and not isinstance(fc, bool) else None,
    }
    conv = opt_id(ctx, tw, "conversation_id")
    lang = opt_str(ctx, tw, "lang")
    common: dict[str, Any] = {"thread": conv, "language": lang if lang and lang != "und" else None}
    refs: dict[str, str] = {}
    for j, ref in enumerate(_list(ctx, tw, "referenced_tweets")):
        if not isinstance(ref, dict):
            raise ctx.error(f"referenced_tweets[{j}]", "expected an object")
        rtype = ref.get("type")
        if isinstance(rtype, str):
            refs[rtype] = id_str(ctx, ref, "id")
    text = opt_str(ctx, tw, "text")
    meta: dict[str, Any] = (
        {
            f"{k}": v
            for k, v in (get(ctx, tw, "public_metrics") or {}).items()
            if isinstance(v, int) and not isinstance(v, bool)
        }
        if isinstance(tw.get("public_metrics"), dict)
        else {}
    )
    if _automated(user):
        meta["actor_kind"] = "bot"  # X's automated-account label (docs/actor-kinds.md)
    if "retweeted" in refs:
        rid = refs["retweeted"]
        return [
            make(ctx, tid, Kind.repost, ts, actor, ctx.author_of(rid), parent_id=rid, metadata=meta, **who, **common)
        ]
    out: list[Interaction] = []
    if "replied_to" in refs or tw.get("in_reply_to_user_id") is not None:
        parent = refs.get("replied_to")
        to = opt_id(ctx, tw, "in_reply_to_user_id")
        target = "x:" + to if to else ctx.author_of(parent)
        out.append(
            make(ctx, tid, Kind.reply, ts, actor, target, parent_id=parent, text=text, metadata=meta, **who, **common)
        )
    if "quoted" in refs:
        qid = refs["quoted"]
        eid = tid + "#quote" if out else tid
        out.append(
            make(
                ctx,
                eid,
                Kind.quote,
                ts,
                actor,
                ctx.author_of(qid),
                parent_id=qid,
                text=None if out else text,
                metadata={} if out else meta,
                **who,
                **common,
            )
        )
    if not out:
        out.append(make(ctx, tid, Kind.post, ts, actor, None, text=text, metadata=meta, **who, **common))
    targets = []
    for j, m in enumerate(_list(ctx, tw, "entities.mentions")):
        if not isinstance(m, dict):
            raise ctx.error(f"entities.mentions[{j}]", "expected an object")
        mid = opt_id(ctx, m, "id")
        if mid:
            targets.append("x:" + mid)
    out += mentions_of(ctx, out[0], targets)
    return out
