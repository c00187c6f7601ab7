"""Display names beside actor keys in reports, alerts and tables.

The name is the identity directory's display name first, then the platform's (what
``Reader.display_names`` returns: the ``directory`` table's ``display_name`` column, which the
stage fills from ``IdentityResolver.display_name``). Keys stay as they are — clients use them —
and every report gets a name field beside each key field:

=====================  ==================
key field              name field
=====================  ==================
``actor``              ``name``
``subject`` (alerts)   ``name``
``actor_a``            ``name_a``
``actor_b``            ``name_b``
``removed_actors``     ``removed_names``
``added_ties``         ``added_ties_names``
=====================  ==================

and the sentences (``reason``, ``message``, ``summary``, ``expected_effect``, ``description``) name
an actor as ``Name (key)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["label", "with_names", "with_names_by_network"]

_NAME_OF = {"actor": "name", "subject": "name", "actor_a": "name_a", "actor_b": "name_b"}
_TEXT = frozenset({"reason", "message", "summary", "expected_effect", "description"})


def label(actor: str, names: Mapping[str, str]) -> str:
    """``"Name (key)"`` when the actor has a display name other than its key, else the key."""
    name = names.get(actor)
    return f"{name} ({actor})" if name and name != actor else actor


def _actors(obj: Any, out: set[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _NAME_OF and isinstance(v, str):
                out.add(v)
            elif k == "removed_actors" and isinstance(v, list):
                out.update(a for a in v if isinstance(a, str))
            elif k == "added_ties" and isinstance(v, list):
                out.update(a for pair in v if isinstance(pair, list | tuple) for a in pair if isinstance(a, str))
            else:
                _actors(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _actors(v, out)


def with_names(report: Any, names: Mapping[str, str]) -> Any:
    """``report`` (JSON-ready dicts and lists) with a name beside every actor key and named actors in its sentences."""
    seen: set[str] = set()
    _actors(report, seen)
    known = {a: label(a, names) for a in seen if names.get(a) and names.get(a) != a}
    if not known:
        pattern = None
    else:
        alternatives = "|".join(re.escape(a) for a in sorted(known, key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w:@.\[-])(?:{alternatives})(?![\w@\]-])")

    def text(s: str) -> str:
        return pattern.sub(lambda m: known[m.group(0)], s) if pattern is not None else s

    def walk(obj: Any, in_text: bool = False) -> Any:
        if isinstance(obj, dict):
            out: dict[str, Any] = {}
            for k, v in obj.items():
                out[k] = walk(v, k in _TEXT)
                if k in _NAME_OF and isinstance(v, str) and _NAME_OF[k] not in obj:
                    out[_NAME_OF[k]] = names.get(v)
                elif k == "removed_actors" and isinstance(v, list):
                    out["removed_names"] = [names.get(a) for a in v]
                elif k == "added_ties" and isinstance(v, list):
                    out["added_ties_names"] = [[names.get(a) for a in pair] for pair in v]
            return out
        if isinstance(obj, list):
            return [walk(v, in_text) for v in obj]
        if in_text and isinstance(obj, str):
            return text(obj)
        return obj

    return walk(report)


def with_names_by_network(rows: list[dict], names_of: Callable[[str], Mapping[str, str]]) -> list[dict]:
    """Rows of several networks (alerts), each named from its own network's directory (``names_of(network)``)."""
    cache: dict[str, Mapping[str, str]] = {}
    out = []
    for r in rows:
        net = str(r.get("network") or "")
        if net not in cache:
            cache[net] = names_of(net)
        out.append(with_names(r, cache[net]))
    return out
