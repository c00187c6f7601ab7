"""Mastodon: Status and Notification entities, WebSocket streaming frames and SSE ``event:/data:`` text.

Actors are ``mastodon:<user>@<instance>``, lower-case: the account's ``acct`` when it names a
domain (a remote account), else ``acct`` qualified with the host of the account's ``url`` (a
local account of the instance that served the payload; an account object without ``url`` falls
back to the ``x-mastodon-instance`` header the stream connector sets, else the host of the
status's ``uri``). Numeric account ids are per instance
(one person has a different id on every server), so they are never keys: a reply's
``in_reply_to_account_id`` is resolved through the status's ``mentions`` (Mastodon mentions the
replied-to account) or accounts seen before. ``display_name`` goes to ``actor_name``,
``followers_count`` to ``actor_followers``. Event ids: ``status:{id}`` (a boost is the boosting status's id),
``status:{id}#quote``, ``status:{id}#mention:{actor}``, ``status:{id}#edit@{edited_at}``,
``status:{id}#delete``, ``notification:{id}``. Streaming frames
``{"event", "payload": "<JSON string>"}`` are decoded twice. A ``follow`` notification
targets the authenticated account, named by the ``x-mastodon-account`` header (``user@instance``)
or by ``x-mastodon-account-id`` when that account was seen before. v1 notifications of Mastodon 4.3+
carry a ``group_key`` and parse like any v1 notification; v2 grouped notifications (recognised by
their shape: ``notification_groups``, ``accounts`` + ``statuses`` arrays, ``sample_account_ids``,
``most_recent_notification_id``) are refused with a reason: they keep only sample accounts per group.
Accounts with ``bot: true`` are bots (``metadata["bot"]``), with ``group: true`` organisations
(``metadata["actor_kind"]``); the target account's flags go to ``metadata["target_kind"]``. Deletes of never-seen statuses yield nothing (no actor).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from valuenet.ingest.platforms._common import (
    Ctx,
    get,
    hostname,
    id_str,
    iso_ts,
    make,
    mentions_of,
    opt_id,
    opt_str,
    req,
)
from valuenet.schemas.interaction import Interaction, Kind
from valuenet.schemas.text import loads

__all__ = ["parse", "ACCEPTS_TEXT"]

ACCEPTS_TEXT = True  # SSE text frames arrive as raw strings


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One entity, streaming frame or SSE block → interactions."""
    if isinstance(payload, str):
        payload = _sse(ctx, payload)
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected an object, got {type(payload).__name__}")
    grouped = _grouped(payload)
    if grouped is not None:
        raise ctx.error(
            grouped,
            "Mastodon v2 grouped notifications keep only up to 8 sample accounts per group, so most "
            "interactions are lost: fetch GET /api/v1/notifications (or use the streaming API) instead",
        )
    home = headers.get("x-mastodon-instance") or _home(payload)
    if "event" in payload and "payload" in payload:
        return _frame(ctx, home, payload, headers)
    if "type" in payload and "account" in payload and "content" not in payload:
        return _notification(ctx, home, payload, headers)
    return _status(ctx, home, payload)


_GROUP_FIELDS = ("notification_groups", "sample_account_ids", "most_recent_notification_id")


def _grouped(payload: dict[str, Any]) -> str | None:
    """The field that marks a v2 grouped-notifications payload (``/api/v2/notifications``), by its shape: the
    response's ``notification_groups`` (with ``accounts`` / ``statuses`` arrays) or a group's
    ``sample_account_ids`` / ``most_recent_notification_id``; None for anything else. A v1 notification
    from Mastodon 4.3+ carries ``group_key`` too and is parsed as v1."""
    for name in _GROUP_FIELDS:
        if name in payload:
            return name
    if isinstance(payload.get("accounts"), list) and isinstance(payload.get("statuses"), list):
        return "accounts"
    return None


def _home(payload: dict[str, Any]) -> str | None:
    """The instance that served a bare entity: the host of its status's ``uri``/``url`` (used only to
    qualify a local account that carries no ``url`` of its own; real account objects always do)."""
    st = payload.get("status") if isinstance(payload.get("status"), dict) else payload
    for key in ("uri", "url"):
        v = st.get(key) if isinstance(st, dict) else None
        if isinstance(v, str) and v.startswith("http"):
            return hostname(v)
    return None


def _sse(ctx: Ctx, text: str) -> dict[str, Any]:
    event, data = None, []
    for line in text.splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if event is None:
        raise ctx.error("<payload>", "not JSON and not an SSE block (no 'event:' line)")
    return {"event": event, "payload": "\n".join(data)}


def _frame(ctx: Ctx, home: str | None, frame: dict[str, Any], headers: dict[str, str]) -> list[Interaction]:
    event = frame.get("event")
    if not isinstance(event, str):
        raise ctx.error("event", f"expected a string, got {type(event).__name__}")
    raw = frame.get("payload")
    if event == "delete":
        sid = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
        if not sid:
            raise ctx.error("payload", "expected the deleted status id")
        actor = ctx.route_lookup(f"status:{sid}")
        if actor is None:
            return []
        return [make(ctx, f"status:{sid}#delete", Kind.delete, ctx.received_at, actor, None, parent_id=f"status:{sid}")]
    if event not in ("update", "notification", "status.update"):
        return []  # filters_changed, announcement, conversation, …
    if isinstance(raw, str):
        try:
            body = loads(raw)  # text repaired like at every entry point (schemas.text)
        except ValueError as e:  # a TextError: the JSON error itself when malformed, else too deep
            raise ctx.error("payload", f"not a JSON string: {e.__cause__ or e}") from None
    else:
        body = raw
    if not isinstance(body, dict):
        raise ctx.error("payload", "expected a JSON object")
    ctx.prefix = "payload."
    home = home or _home(body)
    if event == "notification":
        return _notification(ctx, home, body, headers)
    if event == "status.update":
        sid = id_str(ctx, body, "id")
        actor = _account(ctx, home, body, "account")
        ts = iso_ts(ctx, body.get("edited_at") or body.get("created_at"), "edited_at")
        return [
            make(
                ctx,
                f"status:{sid}#edit@{ts.isoformat()}",
                Kind.edit,
                ts,
                actor,
                None,
                parent_id=f"status:{sid}",
                text=opt_str(ctx, body, "content"),
            )
        ]
    return _status(ctx, home, body)


def _account(ctx: Ctx, home: str | None, obj: Any, path: str) -> str:
    """``mastodon:user@instance`` of the account object at ``path``; remembers its numeric id."""
    acc = get(ctx, obj, path)
    if not isinstance(acc, dict):
        raise ctx.error(path, "missing" if acc is None else "expected an account object")
    key = _acct(ctx, home, acc, path)
    aid = acc.get("id")
    if isinstance(aid, (str, int)) and not isinstance(aid, bool) and aid != "":
        ctx.remember(f"acct:{aid}", key)
    return key


def _acct(ctx: Ctx, home: str | None, acc: dict[str, Any], path: str) -> str:
    """The global key of an account or mention object: ``acct`` with the instance domain."""
    acct = acc.get("acct")
    if not isinstance(acct, str) or not acct.strip("@"):
        acct = acc.get("username")
        if not isinstance(acct, str) or not acct:
            raise ctx.error(path + ".acct", "missing (a Mastodon account needs acct or username)")
    url = acc.get("url") or acc.get("uri")
    key = _qualified(acct, url if isinstance(url, str) else None, home)
    if key is None:
        acct = acct.strip().lstrip("@")
        raise ctx.error(path + ".url", f"missing: cannot qualify the local account {acct[:60]!r} with its instance")
    return key


@lru_cache(maxsize=1 << 14)
def _qualified(acct: str, url: str | None, home: str | None) -> str | None:
    """``mastodon:user@instance`` of an ``acct`` (a local one qualified with the host of ``url``, else
    ``home``), or None when a local account has no instance; computed once per account."""
    acct = acct.strip().lstrip("@")
    if "@" not in acct:
        host = hostname(url) if url is not None else home
        if not host:
            return None
        acct = f"{acct}@{host}"
    return "mastodon:" + acct.lower()


def _by_id(ctx: Ctx, home: str | None, account_id: str | None, mentions: list[Any]) -> str | None:
    """The key of the account with numeric ``account_id``: from the status's mentions, else remembered."""
    if account_id is None:
        return None
    for i, m in enumerate(mentions):
        if isinstance(m, dict) and str(m.get("id")) == account_id:
            return _acct(ctx, home, m, f"mentions[{i}]")
    return ctx.author_of(f"acct:{account_id}")


def _status(ctx: Ctx, home: str | None, st: dict[str, Any]) -> list[Interaction]:
    sid = id_str(ctx, st, "id")
    ctx.record = ctx.record or sid
    actor = _account(ctx, home, st, "account")
    ts = iso_ts(ctx, st.get("created_at"), "created_at")
    base = f"status:{sid}"
    who = _who(ctx, st)
    reblog = st.get("reblog")
    if isinstance(reblog, dict):
        rid = id_str(ctx, st, "reblog.id")
        author = _account(ctx, home, st, "reblog.account")
        ctx.remember(f"status:{rid}", author)
        return [
            make(
                ctx,
                base,
                Kind.repost,
                ts,
                actor,
                author,
                parent_id=f"status:{rid}",
                thread=f"status:{rid}",
                url=opt_str(ctx, st, "reblog.url"),
                **_with_target(who, reblog.get("account")),
            )
        ]
    ctx.remember(base, actor)
    reply_to = opt_id(ctx, st, "in_reply_to_id")
    parent = f"status:{reply_to}" if reply_to else None
    root = ctx.author_of(f"thread:{parent}") if parent and ctx.parents is not None else None
    if root is not None and root != parent:
        ctx.routed = True  # the remembered root, not the payload's parent, is the thread (see Ctx.route_lookup)
    thread = root or parent or base
    if ctx.parents is not None:
        ctx.parents.remember(f"mastodon:thread:{base}", thread)
    common: dict[str, Any] = {
        "thread": thread,
        "url": opt_str(ctx, st, "url"),
        "language": opt_str(ctx, st, "language"),
    }
    text = opt_str(ctx, st, "content")
    mentions = st.get("mentions")
    if mentions is None:
        mentions = []
    elif not isinstance(mentions, list):
        raise ctx.error("mentions", "expected a list")
    if reply_to:
        target = _by_id(ctx, home, opt_id(ctx, st, "in_reply_to_account_id"), mentions) or ctx.author_of(parent)
        out = [make(ctx, base, Kind.reply, ts, actor, target, parent_id=parent, text=text, **who, **common)]
    else:
        out = [make(ctx, base, Kind.post, ts, actor, None, text=text, **who, **common)]
    quoted = get(ctx, st, "quote.quoted_status")
    if isinstance(quoted, dict):
        qid = id_str(ctx, st, "quote.quoted_status.id")
        qauthor = _account(ctx, home, st, "quote.quoted_status.account")
        out.append(make(ctx, base + "#quote", Kind.quote, ts, actor, qauthor, parent_id=f"status:{qid}", **common))
    targets = [
        _acct(ctx, home, m, f"mentions[{i}]") if isinstance(m, dict) else _bad(ctx, f"mentions[{i}]")
        for i, m in enumerate(mentions)
    ]
    out += mentions_of(ctx, out[0], targets)
    return out


def _who(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any]:
    acc = obj.get("account")
    if type(acc) is dict:  # the usual shape (_account checked it): one lookup per field
        name = acc.get("display_name")
        followers = acc.get("followers_count")
        return {
            "actor_name": name if isinstance(name, str) and name else opt_str(ctx, obj, "account.acct"),
            "actor_followers": followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
            "metadata": _account_meta(acc),
        }
    followers = get(ctx, obj, "account.followers_count")
    name = get(ctx, obj, "account.display_name")
    who: dict[str, Any] = {
        "actor_name": name if isinstance(name, str) and name else opt_str(ctx, obj, "account.acct"),
        "actor_followers": followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        "metadata": {},
    }
    if get(ctx, obj, "account.bot") is True:
        who["metadata"] = {"bot": True}  # an automated account: the classifier's bot guard
    return who


def _account_meta(acc: dict[str, Any]) -> dict[str, Any]:
    """The giver's kind flags of an account object: ``bot: true`` → bot (the classifier's bot guard),
    ``group: true`` → an organisation (a group actor)."""
    if acc.get("bot") is True:
        return {"bot": True}
    if acc.get("group") is True:
        return {"actor_kind": "organisation"}
    return {}


def account_kind(acc: Any) -> str | None:
    """The kind an account object states (``bot`` / ``group`` flags), None for a person."""
    if not isinstance(acc, dict):
        return None
    if acc.get("bot") is True:
        return "bot"
    if acc.get("group") is True:
        return "organisation"
    return None


def _with_target(who: dict[str, Any], acc: Any) -> dict[str, Any]:
    """``who`` with the target account's kind in its metadata (when not a person)."""
    kind = account_kind(acc)
    if kind is None:
        return who
    return {**who, "metadata": {**who["metadata"], "target_kind": kind}}


def _status_account(n: dict[str, Any]) -> Any:
    st = n.get("status")
    return st.get("account") if isinstance(st, dict) else None


def _bad(ctx: Ctx, path: str) -> str:
    raise ctx.error(path, "expected an object")


def _notification(ctx: Ctx, home: str | None, n: dict[str, Any], headers: dict[str, str]) -> list[Interaction]:
    nid = id_str(ctx, n, "id")
    ctx.record = ctx.record or f"notification:{nid}"
    ntype = n.get("type")
    if not isinstance(ntype, str):
        raise ctx.error("type", f"expected a string, got {type(ntype).__name__}")
    if ntype in ("mention", "status", "update"):
        st = req(ctx, n, "status")
        if not isinstance(st, dict):
            raise ctx.error("status", "expected an object")
        ctx.prefix += "status."
        return _status(ctx, home, st)
    actor = _account(ctx, home, n, "account")
    ts = iso_ts(ctx, n.get("created_at"), "created_at")
    who = _who(ctx, n)
    target: str | None
    if ntype == "follow":
        me = headers.get("x-mastodon-account")
        if me:
            target = "mastodon:" + me.strip().lstrip("@").lower()
        else:
            me_id = headers.get("x-mastodon-account-id")
            target = ctx.author_of(f"acct:{me_id}") if me_id else None
        return [make(ctx, f"notification:{nid}", Kind.follow, ts, actor, target, **who)]
    kind = {"favourite": Kind.reaction, "reblog": Kind.repost, "quote": Kind.quote}.get(ntype)
    if kind is None:
        return []  # poll, follow_request, admin.*, severed_relationships, …
    sid = id_str(ctx, n, "status.id")
    target = _account(ctx, home, n, "status.account")
    target_acc = _status_account(n)
    if target == actor and ntype == "quote":  # the attached status is the quoting one
        quoted = target_acc = get(ctx, n, "status.quote.quoted_status.account")
        target = _account(ctx, home, n, "status.quote.quoted_status.account") if isinstance(quoted, dict) else None
    return [
        make(
            ctx,
            f"notification:{nid}",
            kind,
            ts,
            actor,
            target,
            parent_id=f"status:{sid}",
            url=opt_str(ctx, n, "status.url"),
            **_with_target({**who, "metadata": {"notification": ntype, **who["metadata"]}}, target_acc),
        )
    ]
