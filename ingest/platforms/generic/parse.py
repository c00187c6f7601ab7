"""Generic JSONL / CSV records mapped to Interactions by a declarative YAML or TOML mapping file.

Mapping file (every key optional; paths are dotted for nested JSON, column names for CSV)::

    prefix: forum            # actor/target ids become "forum:<value>" (default: "generic")
    fields:                  # Interaction field → record path (default: the same name)
      event_id: id
      timestamp: created_at
      actor: author
      target: reply_to
      kind: type
      text: body
    timestamp_format: auto   # auto | iso | unix | unix_ms
    kinds: {comment: reply, like: reaction}   # record value → Kind
    default_kind: post
    metadata: [score]        # record paths copied into metadata

The mapping is named per payload by the ``x-valuenet-mapping`` header (a file path) or
passed to :func:`parse_with`; without one, record keys are the Interaction field names.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from valuenet.ingest.platforms._common import Ctx, iso_ts, make, unix_ts
from valuenet.schemas.interaction import Interaction, Kind

__all__ = ["Mapping", "load_mapping", "parse", "parse_with", "ACCEPTS_TEXT"]

ACCEPTS_TEXT = False
_TEXT_FIELDS = ("target", "channel", "thread", "parent_id", "text", "url", "language", "actor_name", "actor_domain")
_ALL_FIELDS = ("event_id", "timestamp", "actor", "kind", "actor_followers", *_TEXT_FIELDS)


@dataclass(frozen=True)
class Mapping:
    """A compiled column mapping."""

    fields: dict[str, tuple[str, ...]] = field(default_factory=lambda: {f: (f,) for f in _ALL_FIELDS})
    prefix: str = "generic"
    timestamp_format: str = "auto"
    kinds: dict[str, Kind] = field(default_factory=dict)
    default_kind: Kind = Kind.post
    metadata: tuple[tuple[str, ...], ...] = ()

    @functools.cached_property
    def names(self) -> dict[str, str]:
        """Each Interaction field's record path as written (dotted), for error messages."""
        return {k: ".".join(v) for k, v in self.fields.items()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Mapping:
        """Compile a mapping from its parsed YAML/TOML document; ValueError naming the bad key."""
        if not isinstance(raw, dict):
            raise ValueError("mapping: expected a table/object at the top level")
        given = raw.get("fields") or {}
        if not isinstance(given, dict):
            raise ValueError("mapping.fields: expected a table")
        unknown = set(given) - set(_ALL_FIELDS)
        if unknown:
            raise ValueError(f"mapping.fields: unknown Interaction fields {sorted(unknown)}")
        fields = {f: tuple(str(given.get(f, f)).split(".")) for f in _ALL_FIELDS}
        fmt = str(raw.get("timestamp_format", "auto"))
        if fmt not in ("auto", "iso", "unix", "unix_ms"):
            raise ValueError(f"mapping.timestamp_format: {fmt!r} is not auto, iso, unix or unix_ms")
        try:
            kinds = {str(k): Kind(v) for k, v in (raw.get("kinds") or {}).items()}
            default_kind = Kind(raw.get("default_kind", "post"))
        except ValueError as e:
            raise ValueError(f"mapping.kinds: {e}") from None
        meta = tuple(tuple(str(p).split(".")) for p in raw.get("metadata") or ())
        return cls(
            fields=fields,
            prefix=str(raw.get("prefix", "generic")),
            timestamp_format=fmt,
            kinds=kinds,
            default_kind=default_kind,
            metadata=meta,
        )


@functools.lru_cache(maxsize=64)
def load_mapping(path: str) -> Mapping:
    """Load and compile a ``.yaml``/``.yml`` or ``.toml`` mapping file (cached by path)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    doc = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text)
    return Mapping.from_dict(doc or {})


_DEFAULT = Mapping()


def parse(ctx: Ctx, payload: Any, headers: dict[str, str]) -> list[Interaction]:
    """One record → one Interaction, with the mapping named by ``x-valuenet-mapping`` (or the identity mapping)."""
    path = headers.get("x-valuenet-mapping")
    if path:
        try:
            mapping = load_mapping(path)
        except (OSError, ValueError, yaml.YAMLError, tomllib.TOMLDecodeError) as e:
            raise ctx.error("<mapping>", f"{path}: {e}"[:300]) from None
    else:
        mapping = _DEFAULT
    return parse_with(ctx, payload, mapping)


def _at(rec: Any, path: tuple[str, ...]) -> Any:
    cur = rec
    for part in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return None if cur == "" else cur


def _scalar(ctx: Ctx, v: Any, name: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        return str(v)
    raise ctx.error(name, f"expected a string or number, got {type(v).__name__}")


def _numeric(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return v == v and abs(v) < 1e18
    return isinstance(v, str) and v.replace(".", "", 1).isdigit() and len(v) < 19


def parse_with(ctx: Ctx, rec: Any, mapping: Mapping) -> list[Interaction]:
    """One record → one Interaction under ``mapping``."""
    if not isinstance(rec, dict):
        raise ctx.error("<payload>", f"expected an object/row, got {type(rec).__name__}")
    f = mapping.fields
    names = mapping.names
    eid = _scalar(ctx, _at(rec, f["event_id"]), names["event_id"])
    if not eid:
        raise ctx.error(names["event_id"], "missing")
    ctx.record = eid
    actor = _scalar(ctx, _at(rec, f["actor"]), names["actor"])
    if not actor:
        raise ctx.error(names["actor"], "missing")
    raw_ts = _at(rec, f["timestamp"])
    fmt = mapping.timestamp_format
    if raw_ts is None:
        raise ctx.error(names["timestamp"], "missing")
    if fmt == "unix_ms":
        ts = unix_ts(ctx, raw_ts, names["timestamp"], scale=1000.0)
    elif fmt == "unix" or (fmt == "auto" and _numeric(raw_ts)):
        scale = 1000.0 if fmt == "auto" and float(raw_ts) > 1e11 else 1.0  # auto: milliseconds past 5138-11-16 in s
        ts = unix_ts(ctx, raw_ts, names["timestamp"], scale=scale)
    else:
        ts = iso_ts(ctx, raw_ts, names["timestamp"])
    raw_kind = _scalar(ctx, _at(rec, f["kind"]), names["kind"])
    kind: Kind | None
    if raw_kind is None:
        kind = mapping.default_kind
    else:
        kind = mapping.kinds.get(raw_kind)
        if kind is None:
            try:
                kind = Kind(raw_kind)
            except ValueError:
                raise ctx.error(names["kind"], f"unknown kind {raw_kind[:40]!r} (map it under 'kinds')") from None
    values = {k: _scalar(ctx, _at(rec, f[k]), names[k]) for k in _TEXT_FIELDS}
    pre = mapping.prefix + ":"
    target = values.pop("target")
    followers_raw = _at(rec, f["actor_followers"])
    try:
        followers = int(followers_raw) if followers_raw is not None and not isinstance(followers_raw, bool) else None
    except (TypeError, ValueError):
        raise ctx.error(names["actor_followers"], "expected an integer") from None
    meta: dict[str, Any] = {}
    for path in mapping.metadata:
        v = _at(rec, path)
        if v is None or isinstance(v, (str, int, float, bool)):
            meta[".".join(path)] = v
    return [
        make(
            ctx,
            eid,
            kind,
            ts,
            pre + actor,
            pre + target if target else None,
            actor_followers=followers,
            metadata=meta,
            **values,
        )
    ]
