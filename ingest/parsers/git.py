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

Actor ids are ``git:<name>``; ``actor_domain`` is the e-mail domain.
:func:`read_repository` produces the same record shape from any local repository via ``git log``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from valuenet.ingest.parsers._common import Ctx, iso_ts, make, opt_str, req_str
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["parse", "trailer_kind", "read_repository", "TRAILER_KINDS"]

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


def trailer_kind(key: str) -> Kind | None:
    """The Kind a trailer key credits (case-insensitive), None for keys naming no contribution."""
    k = key.lower()
    kind = TRAILER_KINDS.get(k)
    if kind is None and k.endswith("-by"):
        return Kind.help
    return kind


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One commit record → its commit, apply and trailer interactions."""
    if not isinstance(payload, dict):
        raise ctx.error("<payload>", f"expected a commit object, got {type(payload).__name__}")
    sha = payload.get("commit")
    if type(sha) is not str or not sha:
        sha = req_str(ctx, payload, "commit")  # raises, naming the problem
    ctx.record = sha
    author_name = payload.get("author")
    if type(author_name) is not str or not author_name:
        author_name = req_str(ctx, payload, "author")
    committer_name = payload.get("committer")
    if type(committer_name) is not str:
        committer_name = opt_str(ctx, payload, "committer")
    committer_name = committer_name or author_name
    authored_raw = payload.get("authored_at")
    authored = iso_ts(ctx, authored_raw, "authored_at")
    committed_raw = payload.get("committed_at")
    if committed_raw is None or committed_raw == authored_raw:
        committed = authored
    else:
        committed = iso_ts(ctx, committed_raw, "committed_at")
    subject = payload.get("subject")
    if subject is not None and type(subject) is not str:
        subject = opt_str(ctx, payload, "subject")
    author_domain = payload.get("author_domain")
    if author_domain is not None and type(author_domain) is not str:
        author_domain = opt_str(ctx, payload, "author_domain")
    parents = payload.get("parents")
    author = "git:" + author_name
    committer = "git:" + committer_name
    meta: dict[str, Any] = {}
    if isinstance(parents, int) and not isinstance(parents, bool):
        meta["parents"] = parents
    meta["authored_at"] = authored.isoformat()
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
        out.append(
            make(
                ctx,
                sha + "#apply",
                Kind.apply,
                committed,
                committer,
                author,
                thread=sha,
                parent_id=sha,
                actor_name=committer_name,
                actor_domain=opt_str(ctx, payload, "committer_domain"),
            )
        )
    trailers = payload.get("trailers")
    if trailers is None:
        return out
    if not isinstance(trailers, list):
        raise ctx.error("trailers", f"expected a list, got {type(trailers).__name__}")
    for i, t in enumerate(trailers):
        path = f"trailers[{i}]"
        if not isinstance(t, dict):
            raise ctx.error(path, f"expected an object, got {type(t).__name__}")
        key = t.get("key")
        if not isinstance(key, str) or not key:
            raise ctx.error(path + ".key", "missing or not a string")
        kind = trailer_kind(key)
        if kind is None:
            continue
        name = t.get("name")
        if not isinstance(name, str):
            raise ctx.error(path + ".name", "missing or not a string")
        if not name:
            continue
        giver = "git:" + name
        if kind is Kind.apply and (giver == author or giver == committer):
            continue  # self sign-off, or the committer's (already the #apply event)
        if giver == author and kind is not Kind.apply:
            continue  # self-credit carries no flow
        domain = t.get("email_domain")
        out.append(
            make(
                ctx,
                f"{sha}#{i}",
                kind,
                committed,
                giver,
                author,
                thread=sha,
                parent_id=sha,
                actor_name=name,
                actor_domain=domain if isinstance(domain, str) else None,
                metadata={"trailer": key},
            )
        )
    return out


_SEP = "\x1f"
_REC = "\x1e"
_FORMAT = _SEP.join(["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%s", "%(trailers:unfold,only)"]) + _REC


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
        trailers.append({"key": key.strip(), "name": name.strip(), "email_domain": _domain(email)})
    return {
        "commit": sha,
        "parents": len(parents.split()),
        "author": an,
        "author_domain": _domain(ae),
        "authored_at": ad,
        "committer": cn,
        "committer_domain": _domain(ce),
        "committed_at": cd,
        "subject": subject,
        "trailers": trailers,
    }
