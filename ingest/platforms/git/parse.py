"""git history: one commit record (the bundled JSONL shape) → commit, apply and trailer interactions.

Record shape (``/work/shared/datasets/README.md``)::

    {commit, parents, author, author_domain, authored_at, committer, committer_domain,
     committed_at, subject, trailers: [{key, name, email_domain}]}

Interactions of one commit (receiver of every credit is the author):

- ``{hash}``            kind ``commit``: author, no target, at ``committed_at`` — when the change
  entered the history, the order a stream sees it in (``authored_at`` is kept in metadata);
- ``{hash}#apply``      kind ``apply``: committer → author when they differ, at ``committed_at``;
- ``{hash}#{i}``        one per person-trailer ``i`` (index in the list): trailer name → author,
  ``metadata={"trailer": key}``, at ``committed_at``. Reviewed-by → review; Helped-by,
  Mentored-by, Reported-by, Noticed-by, Tested-by, … → help; Suggested-by, Based-on-patch-by,
  Original-patch-by, … → suggestion; Acked-by → approve; Co-authored-by → commit;
  Signed-off-by by anyone but the author and the committer → apply. Other ``*-by`` keys → help;
  keys naming no person (Cc, Fixes, Link, …) are skipped.

Actor ids are ``git:<normalised name>``: Unicode NFC, quotes dropped, whitespace collapsed,
case-folded (``"brian m. carlson"``, ``brian m. carlson"`` and ``Brian M. Carlson`` are one
actor, ``git:brian m. carlson``); the name as written goes to ``actor_name``, the e-mail domain
to ``actor_domain`` and, when the record has it, the full address to ``metadata["email"]``, so
the identity directory matches people by e-mail (or by name + domain).
:func:`read_repository` produces the same record shape from any local repository via ``git log``
(with ``.mailmap`` applied, and full e-mail addresses).

**Tools are not people.** A trailer naming an AI assistant or a bot (``Assisted-by: Claude Opus
4.6``, ``Co-authored-by: … <noreply@anthropic.com>``, ``dependabot[bot]``; see :func:`is_tool` —
a name, never an employer's domain)
yields no interaction: its name goes to the commit's ``metadata["tools"]``. A commit authored or
committed by a bot is kept but carries ``metadata["bot"]`` (the classifier's bot guard: no flow).
GitHub's web-flow committer (``GitHub <noreply@github.com>``, :func:`is_web_flow`) is a platform
account (``metadata["actor_kind"] = "platform"``): its ``apply`` carries no flow either.
"""

from __future__ import annotations

import os
import re
import subprocess
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from valuenet.ingest.platforms._common import Ctx, build, iso_ts, make, opt_str, req_str
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse", "trailer_kind", "read_repository", "TRAILER_KINDS", "person_key", "clean_name", "is_tool"]

TRAILER_KINDS: dict[str, Kind] = {
    "reviewed-by": Kind.review,
    "comments-by": Kind.review,
    "helped-by": Kind.help,
    "mentored-by": Kind.help,
    "co-mentored-by": Kind.help,
    "reported-by": Kind.help,
    "reported-and-tested-by": Kind.help,
    "noticed-by": Kind.help,
    "tested-by": Kind.help,
    "thanks-to": Kind.help,
    "assisted-by": Kind.help,
    "improved-by": Kind.help,
    "found-by": Kind.help,
    "explained-by": Kind.help,
    "diagnosed-by": Kind.help,
    "pointed-out-by": Kind.help,
    "analyzed-by": Kind.help,
    "analysis-by": Kind.help,
    "test-case-by": Kind.help,
    "original-test-by": Kind.help,
    "discussed-with": Kind.help,
    "suggested-by": Kind.suggestion,
    "suggestions-by": Kind.suggestion,
    "based-on-patch-by": Kind.suggestion,
    "based-on-a-patch-by": Kind.suggestion,
    "original-patch-by": Kind.suggestion,
    "initial-patch-by": Kind.suggestion,
    "originally-authored-by": Kind.suggestion,
    "original-idea-by": Kind.suggestion,
    "inspired-by": Kind.suggestion,
    "requested-by": Kind.suggestion,
    "acked-by": Kind.approve,
    "liked-by": Kind.approve,
    "co-authored-by": Kind.commit,
    "contributions-by": Kind.commit,
    "signed-off-by": Kind.apply,
}


_QUOTES = str.maketrans("", "", '"\u201c\u201d\u201e\u00ab\u00bb')
_AI_NAME = re.compile(
    # model and assistant names as they appear in trailers ("Claude Opus 4.6", "Opus 4.7", "GPT-4o",
    # "GitHub Copilot"); a bare first name ("Claude Paroz") or an employer's domain never makes a tool
    r"\bclaude[- ](?:opus|sonnet|haiku|code|instant|\d)|\b(?:opus|sonnet|haiku)[- ]?\d|\bchatgpt\b|\bgpt-?\d|"
    r"\bcopilot\b|\bgemini[- ](?:\d|pro|flash|ultra|code|cli)|\bcodex\b|\bdeepseek\b|\bqwen|\bllama[- ]?\d|"
    r"\bmistral[- ](?:large|medium|small|\d)|\baider\b|\bcursor agent\b|\bai assistant\b|\[bot\]$|^dependabot\b",
    re.I,
)
_TOOL_DOMAINS = frozenset({"anthropic.com", "openai.com", "cursor.com", "cursor.sh", "github.com"})


def clean_name(name: str) -> str:
    """A display name normalised: Unicode NFC, quotes removed, whitespace collapsed."""
    if not name.isascii():
        name = unicodedata.normalize("NFC", name)
    if '"' in name or not name.isascii():
        name = name.translate(_QUOTES)
    return " ".join(name.split())


def person_key(name: str) -> str:
    """The actor id of a person named ``name``: ``git:`` + the cleaned, case-folded name."""
    return "git:" + clean_name(name).casefold()


def is_tool(name: str, email: str | None = None) -> bool:
    """True for AI assistants and bots: a model / assistant / bot name (:data:`_AI_NAME`), or a
    no-reply address of an AI vendor (``noreply@anthropic.com``). People who work at those vendors
    are people: a domain alone decides nothing."""
    if _AI_NAME.search(name):
        return True
    return isinstance(email, str) and _tool_email(email)


@lru_cache(maxsize=1 << 14)
def _tool_email(email: str) -> bool:
    """True for a no-reply address of an AI vendor (the e-mail half of :func:`is_tool`)."""
    if "@" not in email:
        return False
    local, _, domain = email.lower().rpartition("@")
    return domain in _TOOL_DOMAINS and local.replace("-", "").startswith("noreply")


@lru_cache(maxsize=1 << 15)
def _person(raw: str) -> tuple[str, str, str, bool, bool]:
    """What parsing needs of a name as written, computed once per distinct name:
    (cleaned name, shown name = cleaned or as written, actor id of the shown name,
    the written name is a tool's, the shown name is a tool's)."""
    cleaned = clean_name(raw)
    shown = cleaned or raw
    ai_shown = _AI_NAME.search(shown) is not None
    ai_raw = ai_shown if shown is raw else _AI_NAME.search(raw) is not None
    return cleaned, shown, "git:" + shown.casefold(), ai_raw, ai_shown


@lru_cache(maxsize=4096)
def is_web_flow(name: str | None, email: str | None, domain: str | None) -> bool:
    """True for GitHub's web-flow committer (``GitHub <noreply@github.com>``): the committer of web merges,
    web edits and co-authored commits, a platform account that gives nothing."""
    if email is not None:
        return email.strip().lower() == "noreply@github.com"
    return (name or "").strip().casefold() == "github" and (domain or "").strip().lower() == "github.com"


def trailer_kind(key: str) -> Kind | None:
    """The Kind a trailer key credits (case-insensitive), None for keys naming no contribution."""
    k = key.lower()
    kind = TRAILER_KINDS.get(k)
    if kind is None and k.endswith("-by"):
        return Kind.help
    return kind


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One commit record → its commit, apply and trailer interactions."""
    if type(payload) is not dict:
        if not isinstance(payload, dict):
            raise ctx.error("<payload>", f"expected a commit object, got {type(payload).__name__}")
    get = payload.get
    sha = get("commit")
    if type(sha) is not str or not sha:
        sha = req_str(ctx, payload, "commit")  # raises, naming the problem
    ctx.record = sha
    author_raw = get("author")
    if type(author_raw) is not str or not author_raw:
        author_raw = req_str(ctx, payload, "author")
    committer_raw = get("committer")
    if type(committer_raw) is not str:
        committer_raw = opt_str(ctx, payload, "committer")
    committer_raw = committer_raw or author_raw
    authored_raw = get("authored_at")
    authored = iso_ts(ctx, authored_raw, "authored_at")
    committed_raw = get("committed_at")
    if committed_raw is None or committed_raw == authored_raw:
        committed = authored
    else:
        committed = iso_ts(ctx, committed_raw, "committed_at")
    subject = get("subject")
    if subject is not None and type(subject) is not str:
        subject = opt_str(ctx, payload, "subject")
    author_domain = get("author_domain")
    if author_domain is not None and type(author_domain) is not str:
        author_domain = opt_str(ctx, payload, "author_domain")
    parents = get("parents")
    _, author_name, author, _, author_ai = _person(author_raw)
    _, committer_name, committer, _, committer_ai = _person(committer_raw)
    committer_domain = get("committer_domain")
    if committer_domain is not None and type(committer_domain) is not str:
        committer_domain = opt_str(ctx, payload, "committer_domain")
    meta: dict[str, Any] = {}
    if isinstance(parents, int) and not isinstance(parents, bool):
        meta["parents"] = parents
    meta["authored_at"] = authored.isoformat()
    email = get("author_email")
    if isinstance(email, str):
        if "@" in email:
            meta["email"] = email
        if author_ai or _tool_email(email):
            meta["bot"] = True
    elif author_ai:
        meta["bot"] = True
    trailers = get("trailers")
    if trailers is not None and not isinstance(trailers, list):
        raise ctx.error("trailers", f"expected a list, got {type(trailers).__name__}")
    # ids and actor keys within the model's limits: built here from the template; else make() names the error
    fast = len(sha) <= 500 and len(author) <= 256 and len(committer) <= 256
    tmpl = ctx.template
    if fast:
        d = tmpl.copy()
        d["event_id"] = sha
        d["kind"] = Kind.commit
        d["timestamp"] = committed
        d["actor"] = author
        d["thread"] = sha
        d["text"] = subject
        d["actor_name"] = author_name
        d["actor_domain"] = author_domain
        d["metadata"] = meta
        out = [build(d)]
    else:
        out = [
            make(
                ctx,
                sha,
                Kind.commit,
                committed,
                author,
                thread=sha,
                text=subject,
                actor_name=author_name,
                actor_domain=author_domain,
                metadata=meta,
            )
        ]
    if committer != author:
        cmeta: dict[str, Any] = {}
        cemail = get("committer_email")
        if isinstance(cemail, str):
            if "@" in cemail:
                cmeta["email"] = cemail
            if committer_ai or _tool_email(cemail):
                cmeta["bot"] = True
        elif committer_ai:
            cmeta["bot"] = True
        if is_web_flow(committer_name, cemail if isinstance(cemail, str) else None, committer_domain):
            cmeta["bot"] = True  # GitHub's web-flow committer applies nothing: no flow (docs/actor-kinds.md)
            cmeta["actor_kind"] = "platform"
        out.append(
            _credit(
                ctx,
                fast,
                sha + "#apply",
                Kind.apply,
                committed,
                committer,
                author,
                sha,
                committer_name,
                committer_domain,
                cmeta,
            )
        )
    if not trailers:
        return out
    tools: list[str] = []
    for i, t in enumerate(trailers):
        if type(t) is not dict and not isinstance(t, dict):
            raise ctx.error(f"trailers[{i}]", f"expected an object, got {type(t).__name__}")
        key = t.get("key")
        if not isinstance(key, str) or not key:
            raise ctx.error(f"trailers[{i}].key", "missing or not a string")
        kind = trailer_kind(key)
        if kind is None:
            continue
        name = t.get("name")
        if not isinstance(name, str):
            raise ctx.error(f"trailers[{i}].name", "missing or not a string")
        name, _, giver, raw_ai, name_ai = _person(name)
        temail = t.get("email")
        email_tool = isinstance(temail, str) and _tool_email(temail)
        if raw_ai or email_tool:
            tools.append(name)  # an AI assistant or a bot: listed in the commit's metadata["tools"], never a node
        if not name or name_ai or email_tool:
            continue
        if kind is Kind.apply and (giver == author or giver == committer):
            continue  # self sign-off, or the committer's (already the #apply event)
        if giver == author and kind is not Kind.apply:
            continue  # self-credit carries no flow
        domain = t.get("email_domain")
        domain = domain if isinstance(domain, str) and domain else None
        tmeta: dict[str, Any] = {"trailer": key}
        if isinstance(temail, str) and "@" in temail:
            tmeta["email"] = temail
        out.append(
            _credit(
                ctx, fast and len(giver) <= 256, f"{sha}#{i}", kind, committed, giver, author, sha, name, domain, tmeta
            )
        )
    if tools:
        meta["tools"] = "; ".join(dict.fromkeys(tools))  # the commit's own metadata (already in out[0])
    return out


def _credit(
    ctx: Ctx,
    fast: bool,
    event_id: str,
    kind: Kind,
    ts: Any,
    actor: str,
    author: str,
    sha: str,
    name: str | None,
    domain: str | None,
    meta: dict[str, Any],
) -> Interaction:
    """An apply or trailer interaction (actor → the author, in the commit's thread).

    ``fast``: ids and actor keys are known to be within the model's limits, so the interaction is
    copied from the template directly; otherwise :func:`make` checks them and names the field.
    """
    if not fast:
        return make(
            ctx,
            event_id,
            kind,
            ts,
            actor,
            author,
            thread=sha,
            parent_id=sha,
            actor_name=name,
            actor_domain=domain,
            metadata=meta,
        )
    d = ctx.template.copy()
    d["event_id"] = event_id
    d["kind"] = kind
    d["timestamp"] = ts
    d["actor"] = actor
    d["target"] = author
    d["thread"] = sha
    d["parent_id"] = sha
    d["actor_name"] = name
    d["actor_domain"] = domain
    d["metadata"] = meta
    return build(d)


_SEP = "\x1f"
_REC = "\x1e"
_FORMAT = _SEP.join(["%H", "%P", "%aN", "%aE", "%aI", "%cN", "%cE", "%cI", "%s", "%(trailers:unfold,only)"]) + _REC
# %aN / %aE / %cN / %cE: names and e-mails with the repository's .mailmap applied


def _domain(email: str) -> str | None:
    return email.rpartition("@")[2].lower() or None if "@" in email else None


def read_repository(
    path: str | os.PathLike[str], *, rev: str = "HEAD", max_count: int | None = None
) -> Iterator[dict[str, Any]]:
    """Commit records (the bundled JSONL shape) of a local git repository, newest first, via ``git log``."""
    cmd = ["git", "-C", str(Path(path)), "log", f"--format={_FORMAT}", "--no-color", "--encoding=UTF-8"]
    if max_count is not None:
        cmd.append(f"--max-count={int(max_count)}")
    cmd.append(rev)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    buf = b""
    try:
        while True:
            chunk = proc.stdout.read(1 << 16)
            if not chunk:
                break
            buf += chunk
            *records, buf = buf.split(_REC.encode())
            for raw in records:
                rec = _record(raw.decode("utf-8", "replace"))
                if rec is not None:
                    yield rec
        if buf.strip():
            rec = _record(buf.decode("utf-8", "replace"))
            if rec is not None:
                yield rec
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        rc = proc.wait()
        if proc.stderr:
            proc.stderr.close()
    if rc != 0:
        raise OSError(f"git log failed in {path} (exit {rc}): {err.strip()[:300]}")


def _record(raw: str) -> dict[str, Any] | None:
    raw = raw.lstrip("\n")
    if not raw:
        return None
    parts = raw.split(_SEP)
    if len(parts) != 10:
        return None
    sha, parents, an, ae, ad, cn, ce, cd, subject, trailer_block = parts
    trailers = []
    for line in trailer_block.splitlines():
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            continue
        value = value.strip()
        name, lt, rest = value.partition("<")
        email = rest.partition(">")[0] if lt else ""
        trailers.append({"key": key.strip(), "name": name.strip(), "email_domain": _domain(email), "email": email})
    return {
        "commit": sha,
        "parents": len(parents.split()),
        "author": an,
        "author_domain": _domain(ae),
        "author_email": ae,
        "authored_at": ad,
        "committer": cn,
        "committer_domain": _domain(ce),
        "committer_email": ce,
        "committed_at": cd,
        "subject": subject,
        "trailers": trailers,
    }
