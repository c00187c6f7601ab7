"""Actor kinds in analytics: which actors are persons (ranked by default) and which are not.

The processors stage decides each flow's ``giver_kind`` / ``receiver_kind`` (``processors/kinds.py``,
rules in ``docs/actor-kinds.md``). Analytics remembers the non-persons per network (an actor's
latest non-person kind wins; an actor never seen as anything else is a ``person``), carries them in
the tick's snapshot and labels every actor row with its kind. Metrics are computed on the whole
window graph; rankings (top actors, brokers, influencers, key persons, alerts, recommendations)
keep the kinds they are asked for, ``person`` only by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from valuenet.schemas.flow import ActorKind

__all__ = [
    "ACTOR_KINDS",
    "DEFAULT_KINDS",
    "PERSON",
    "kind_codes",
    "kinds_of",
    "note_kinds",
    "parse_kinds",
    "person_mask",
]

ACTOR_KINDS: tuple[str, ...] = tuple(k.value for k in ActorKind)
"""Kind names; a kind code indexes this tuple (0 = person)."""
PERSON = ActorKind.person.value
DEFAULT_KINDS: frozenset[str] = frozenset({PERSON})
"""What a ranking keeps unless asked for more."""
_CODE = {k: i for i, k in enumerate(ACTOR_KINDS)}


def _name(kind: Any) -> str:
    """The kind's name (an ActorKind, its value, or None/empty for a person)."""
    if not kind:
        return PERSON
    return str(getattr(kind, "value", kind))


def note_kinds(kinds: dict[str, str], flows: Iterable[Any]) -> None:
    """Remember the non-person givers and receivers of ``flows`` in ``kinds`` (actor → kind name).

    A later flow saying ``person`` for a remembered actor leaves it: kinds come from platform
    flags that some payloads omit (a Slack reply to a bot names the bot without its flags).
    """
    for f in flows:
        gk = f.giver_kind
        if gk is not None and gk != PERSON:
            kinds[f.giver] = _name(gk)
        rk = f.receiver_kind
        if rk is not None and rk != PERSON and f.receiver is not None:
            kinds[f.receiver] = _name(rk)


def kind_codes(names: np.ndarray, kinds: Mapping[str, str]) -> np.ndarray:
    """Kind code (index into :data:`ACTOR_KINDS`) of each actor in ``names``; 0 (person) when not in ``kinds``."""
    out = np.zeros(len(names), dtype=np.int8)
    if kinds and len(names):
        for i, name in enumerate(names.tolist()):
            k = kinds.get(name)
            if k is not None:
                out[i] = _CODE.get(k, 0)
    return out


def kinds_of(codes: np.ndarray | None, n: int) -> list[str]:
    """Kind names of ``n`` actors from their codes (None: all persons)."""
    if codes is None:
        return [PERSON] * n
    return [ACTOR_KINDS[int(c)] for c in codes.tolist()]


def person_mask(codes: np.ndarray | None, n: int, include: Iterable[str] = DEFAULT_KINDS) -> np.ndarray:
    """True for the actors whose kind is in ``include`` (default: persons); ``codes`` None means all persons."""
    keep = np.zeros(len(ACTOR_KINDS), dtype=bool)
    for k in include:
        keep[_CODE[k]] = True
    if codes is None:
        return np.full(n, bool(keep[0]))
    return keep[codes.astype(np.int64)]


def parse_kinds(value: str | Iterable[str] | None, *, include_non_persons: bool = False) -> frozenset[str]:
    """The kinds a ranking keeps: ``"person,bot"`` / a list / ``"all"``; None → persons (all with ``include_non_persons``).

    Raises ValueError naming an unknown kind.
    """
    if include_non_persons and not value:
        return frozenset(ACTOR_KINDS)
    if value is None or value == "":
        return DEFAULT_KINDS
    parts = [p.strip().lower() for p in (value.split(",") if isinstance(value, str) else value) if p and p.strip()]
    if "all" in parts:
        return frozenset(ACTOR_KINDS)
    bad = [p for p in parts if p not in _CODE]
    if bad:
        raise ValueError(f"include_kinds: {bad[0]!r} is not one of all, {', '.join(ACTOR_KINDS)}")
    out = frozenset(parts) or DEFAULT_KINDS
    return out | frozenset(ACTOR_KINDS) if include_non_persons else out
