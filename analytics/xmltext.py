"""Text that XML 1.0 can hold: the GraphML and GEXF exports pass every name, key and value through here.

XML 1.0 allows ``#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`` and
nothing else: not the other C0 controls (``\\x00``-``\\x08``, ``\\x0b``, ``\\x0c``, ``\\x0e``-``\\x1f``),
not a lone surrogate, not U+FFFE or U+FFFF, not even as a character reference. A display name
holding one makes the whole file unreadable ("not well-formed", "PCDATA invalid Char value 11"),
so each is replaced by U+FFFD. Node ids stay distinct: when two ids become the same text, the
later one gets ``~2``, ``~3``, ... appended.

Carriage returns are allowed but an XML parser turns a raw CR (or CR LF) in element text into
LF; :func:`write_xml_graph` writes each one as the reference ``&#13;`` so it reads back as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

__all__ = ["REPLACEMENT", "xml_text", "xml_safe_graph", "write_xml_graph"]

REPLACEMENT = "\ufffd"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` with every character XML 1.0 forbids replaced by U+FFFD (unchanged when clean)."""
    if _NOT_XML.search(value) is None:
        return value
    return _NOT_XML.sub(REPLACEMENT, value)


def _value(v: Any) -> Any:
    """An attribute value made XML-safe (strings, and strings inside dicts and lists, e.g. GEXF ``viz``)."""
    if isinstance(v, str):
        return xml_text(v)
    if isinstance(v, dict):
        return {_value(k): _value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return type(v)(_value(x) for x in v)
    return v


def _attrs(d: dict) -> dict:
    return {_value(k): _value(v) for k, v in d.items()}


def xml_safe_graph(g: nx.DiGraph) -> nx.DiGraph:
    """A copy of ``g`` whose node ids, attribute keys and values (graph, nodes, edges) XML 1.0 can hold.

    Returns ``g`` itself when nothing needs a change (the common case: no copy).
    """
    if not _needs_change(g):
        return g
    out = g.__class__()
    out.graph.update(_attrs(g.graph))
    ids: dict[Any, Any] = {}
    taken: set[Any] = set()
    for n in g.nodes:
        new = _value(n) if isinstance(n, str) else n
        if new != n or new in taken:
            base, i = new, 2
            while new in taken or (new != n and new in g):
                new, i = f"{base}~{i}", i + 1
        ids[n] = new
        taken.add(new)
    for n, d in g.nodes(data=True):
        out.add_node(ids[n], **_attrs(d))
    for u, v, d in g.edges(data=True):
        out.add_edge(ids[u], ids[v], **_attrs(d))
    return out


def _needs_change(g: nx.DiGraph) -> bool:
    """True when any id, key or string value of ``g`` holds a character XML 1.0 forbids."""

    def bad(x: Any) -> bool:
        if isinstance(x, str):
            return _NOT_XML.search(x) is not None
        if isinstance(x, dict):
            return any(bad(k) or bad(v) for k, v in x.items())
        if isinstance(x, list | tuple):
            return any(bad(v) for v in x)
        return False

    return (
        bad(g.graph)
        or any(bad(n) or bad(d) for n, d in g.nodes(data=True))
        or any(bad(d) for _, _, d in g.edges(data=True))
    )


def write_xml_graph(g: nx.DiGraph, path: Path, writer: Callable[[nx.DiGraph, Path], None]) -> None:
    """Write ``g`` with ``writer`` (``nx.write_graphml``, ``nx.write_gexf``) made XML-safe; raw CRs as ``&#13;``."""
    writer(xml_safe_graph(g), path)
    data = Path(path).read_bytes()
    if b"\r" in data:  # only element text can hold one: the serialisers escape it in attributes already
        Path(path).write_bytes(data.replace(b"\r", b"&#13;"))
