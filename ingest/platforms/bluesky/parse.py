"""Bluesky Jetstream: ``{did, time_us, kind, commit: {operation, collection, rkey, record}}`` events.

Actors are ``bluesky:<did>``. Event id ``at://{did}/{collection}/{rkey}``; a post's derived
events append ``#quote`` and ``#mention:{actor}``; updates ``#edit@{time_us}``, deletes
``#delete``. Time is ``time_us`` (the relay's clock, also the resume cursor). Posts: reply
(target = DID in ``record.reply.parent.uri``, thread ``record.reply.root.uri``) or post;
quotes via ``record.embed.record.uri``; mention facets. Likes → reaction, reposts → repost,
follows → follow. ``identity``/``account`` events and other collections yield nothing. An account whose
records (a post, or its ``app.bsky.actor.profile``) carry an automation self-label (``bot``) is a bot
(``metadata["actor_kind"]``).
"""

from __future__ import annotations

from typing import Any

from valuenet.ingest.platforms._common import Ctx, get, make, mentions_of, opt_str, req, req_str, unix_ts
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse", "did_of"]

_SIMPLE = {
    "app.bsky.feed.like": Kind.reaction,
    "app.bsky.feed.repost": Kind.repost,
}


def did_of(uri: str | None) -> str | None:
    """The repository DID of an ``at://did/collection/rkey`` uri (None when not one)."""
    if not uri or not uri.startswith("at://did:"):
        return None
    return uri[5:].split("/", 1)[0]


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One Jetstream event → interactions."""
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    if payload.get("kind") != "commit":
        if payload.get("kind") in ("identity", "account"):
            return []
        raise ctx.error("kind", f"expected commit, identity or account, got {str(payload.get('kind'))[:40]!r}")
    did = payload.get("did")
    if type(did) is not str or not did:
        did = req_str(ctx, payload, "did")
    time_us = payload.get("time_us")
    if time_us is None:
        time_us = req(ctx, payload, "time_us")
    ts = unix_ts(ctx, time_us, "time_us", scale=1e6)
    commit = payload.get("commit")
    if type(commit) is dict:  # the usual shape: one lookup each; anything else names its path below
        op, coll, rkey = commit.get("operation"), commit.get("collection"), commit.get("rkey")
    else:
        op = coll = rkey = None
    if type(op) is not str or not op:
        op = req_str(ctx, payload, "commit.operation")
    if type(coll) is not str or not coll:
        coll = req_str(ctx, payload, "commit.collection")
    if type(rkey) is not str or not rkey:
        rkey = req_str(ctx, payload, "commit.rkey")
    actor = "bluesky:" + did
    uri = f"at://{did}/{coll}/{rkey}"
    ctx.record = uri
    if op == "delete":
        return [make(ctx, uri + "#delete", Kind.delete, ts, actor, None, parent_id=uri)]
    record = commit.get("record") if type(commit) is dict else None
    if record is None:
        record = req(ctx, payload, "commit.record")
    if not isinstance(record, dict):
        raise ctx.error("commit.record", "expected an object")
    if coll == "app.bsky.actor.profile" and _self_labelled_bot(record):
        ctx.remember(f"kind:{actor}", "bot")  # the account's own automation label: its later records are a bot's
    if op == "update":
        return [make(ctx, f"{uri}#edit@{time_us}", Kind.edit, ts, actor, None, parent_id=uri)]
    if op != "create":
        raise ctx.error("commit.operation", f"unknown operation {op[:40]!r}")
    if coll == "app.bsky.feed.post":
        return _post(ctx, payload, record, uri, ts, actor)
    kind = _SIMPLE.get(coll)
    if kind is not None:
        subject = req_str(ctx, payload, "commit.record.subject.uri")
        return [make(ctx, uri, kind, ts, actor, _bsky(did_of(subject)), parent_id=subject)]
    if coll == "app.bsky.graph.follow":
        subject = req_str(ctx, payload, "commit.record.subject")
        return [make(ctx, uri, Kind.follow, ts, actor, "bluesky:" + subject)]
    return []


_BOT_LABELS = frozenset({"bot", "automated"})


def _self_labelled_bot(record: dict[str, Any]) -> bool:
    """True when a record carries an automation self-label (``labels: {$type:
    com.atproto.label.defs#selfLabels, values: [{val: "bot"}]}``)."""
    labels = record.get("labels")
    values = labels.get("values") if isinstance(labels, dict) else None
    if not isinstance(values, list):
        return False
    return any(isinstance(v, dict) and str(v.get("val", "")).lower() in _BOT_LABELS for v in values)


def _bsky(did: str | None) -> str | None:
    return "bluesky:" + did if did else None


def _post(ctx: Ctx, ev: dict[str, Any], record: dict[str, Any], uri: str, ts: Any, actor: str) -> list[Interaction]:
    """A post (``record`` = ``ev["commit"]["record"]``, an object): post or reply, quote, mentions."""
    if record.get("reply") is None:
        parent = root = None
    else:
        parent = opt_str(ctx, ev, "commit.record.reply.parent.uri")
        root = opt_str(ctx, ev, "commit.record.reply.root.uri")
    text = record.get("text")
    if text is not None and type(text) is not str:
        text = opt_str(ctx, ev, "commit.record.text")
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    common: dict[str, Any] = {"thread": root or parent or uri, "language": lang}
    meta = {"actor_kind": "bot"} if _self_labelled_bot(record) or ctx.author_of(f"kind:{actor}") else None
    if parent:
        out = [
            make(
                ctx,
                uri,
                Kind.reply,
                ts,
                actor,
                _bsky(did_of(parent)),
                parent_id=parent,
                text=text,
                metadata=meta,
                **common,
            )
        ]
    else:
        out = [make(ctx, uri, Kind.post, ts, actor, None, text=text, metadata=meta, **common)]
    embed = record.get("embed")
    if isinstance(embed, dict):
        quoted = get(ctx, embed, "record.uri")
        if not isinstance(quoted, str):
            quoted = get(ctx, embed, "record.record.uri")  # recordWithMedia
        if isinstance(quoted, str) and did_of(quoted):
            out.append(
                make(ctx, uri + "#quote", Kind.quote, ts, actor, _bsky(did_of(quoted)), parent_id=quoted, **common)
            )
    facets = record.get("facets")
    if isinstance(facets, list):
        targets = []
        for facet in facets:
            features = facet.get("features") if isinstance(facet, dict) else None
            for f in features if isinstance(features, list) else ():
                if (
                    isinstance(f, dict)
                    and f.get("$type") == "app.bsky.richtext.facet#mention"
                    and isinstance(f.get("did"), str)
                    and f["did"]
                ):
                    targets.append("bluesky:" + f["did"])
        out += mentions_of(ctx, out[0], targets)
    return out
