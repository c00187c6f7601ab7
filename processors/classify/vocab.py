"""Feature ids without feature strings: :func:`text.features` as look-ups into a fitted vocabulary.

:func:`valuenet.processors.classify.text.features` names every feature as a string ("k=post", "deploy",
"deploy failed", "^the", "$full", "len<12", "has?"); building those strings (bigrams above all)
was most of a prediction's cost. :class:`FeatureIndex` splits a fitted vocabulary by feature
family so one text's known feature ids come from the tokens directly: unigrams by token,
bigrams by a (token, token) pair, first/last word by token, and the constant features
(kind, source, length bucket, "?") precomputed.

Invariant (tested): ``FeatureIndex(names).ids(p, k, s)`` lists, in first-seen order, the ids of
``features(p, k, s)`` that are in ``names`` — the same set and order the string path gives.
"""

from __future__ import annotations

from collections.abc import Sequence

from valuenet.processors.classify.text import TOKEN_RE, length_bucket

__all__ = ["FeatureIndex"]

_findall = TOKEN_RE.findall


class FeatureIndex:
    """Feature name ↔ id (position in ``names``), with per-family look-up tables."""

    __slots__ = ("names", "_uni", "_bi", "_first", "_last", "_const", "_ks")

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._uni: dict[str, int] = {}
        self._bi: dict[tuple[str, str], int] = {}
        self._first: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._const: dict[str, int] = {}  # k=…, s=…, len…, has?
        self._ks: dict[tuple[str, str], tuple[int | None, int | None]] = {}
        for i, f in enumerate(self.names):
            if f.startswith(("k=", "s=", "len<", "len>=")) or f == "has?":
                self._const[f] = i
            elif f[0] == "^":
                self._first[f[1:]] = i
            elif f[0] == "$":
                self._last[f[1:]] = i
            elif " " in f:
                a, b = f.split(" ", 1)
                self._bi[(a, b)] = i
            else:
                self._uni[f] = i

    def ids(self, plain: str, kind: str, source: str) -> list[int]:
        """Ids of the known features of normalised text, each once, in ``features()`` order."""
        return self.ids_of_tokens(_findall(plain.lower()), plain, kind, source)

    def ids_of_tokens(self, toks: list[str], plain: str, kind: str, source: str) -> list[int]:
        """:meth:`ids` when the caller already holds the text's tokens (``TOKEN_RE`` over the lower-cased text)."""
        ks = self._ks.get((kind, source))
        if ks is None:
            ks = self._ks[(kind, source)] = (self._const.get(f"k={kind}"), self._const.get(f"s={source}"))
        seq: list[int | None] = list(ks)
        if toks:
            seq += map(self._uni.get, toks)
            seq += map(self._bi.get, zip(toks, toks[1:]))
            seq.append(self._first.get(toks[0]))
            seq.append(self._last.get(toks[-1]))
        seq.append(self._const.get(length_bucket(len(toks))))
        if "?" in plain:
            seq.append(self._const.get("has?"))
        row = dict.fromkeys(seq)
        row.pop(None, None)
        return list(row)  # type: ignore[arg-type]
