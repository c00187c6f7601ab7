"""Layer 2: high-precision text rules that type a message by the speech acts of its sentences.

The text has been read first (:func:`valuenet.processors.classify.reading.for_typing`: quotes,
signatures and code removed) and normalised. One multi-pattern scan (``re2.Set``) over the
whole message tells which act families occur at all; a message with none goes straight to the
model. Otherwise the message is split into sentences (:func:`~.reading.sentences`), each gets
one act (:func:`~.reading.sentence_act`), and the acts decide, in this order (content beats
courtesy; courtesy beats nothing):

0. platform and bot boilerplate (joins, "automatically marked as stale") → ``none``;
1. a **proposal** (and no instruction) → ``idea`` — also phrased as a question ("Should we add
   …?"), with thanks, or ending "I'll be happy to help"; a proposal *and* an instruction → the model;
2. an **instruction / answer** → ``knowledge`` ("Thanks! You can set X"); a code block counts
   only when no sentence asks a question (a question with its code is still a request);
3. **questions** with nothing else but empty sentences (greetings, "thanks in advance"), or with
   statements that name a need ("it fails", "error") → ``none`` (reason ``rule:question …``: a
   question is a request; the answer is the knowledge flow). Other questions → the model;
4. **courtesy** (thanks, praise, agreement, "+1", "LGTM", "yep", "sounds good" — anywhere in the
   message) with nothing else but empty sentences, me-too or chit-chat ("OK, thank you. I'll try to
   reinstall…") → ``reputation`` (agreement to a plan, "sounds good, see you there", is logistics →
   ``none``); courtesy beside an unexplained statement → the model;
5. **me too** ("same here", "subscribing") with nothing else → ``none``;
6. **chit-chat** (laughter, swearing, feelings) with nothing else, or beside statements that show no
   content (no code, link or stated problem: "Lol dream on buddy. You've had enough attention today.")
   → ``none``;
7. only **empty** sentences (acknowledgements, greetings, bumps, "will do", joins, automated
   notices) → ``none`` (``rule:noise``).

Anything else — a statement the acts cannot read — is left to the model: the rules never guess.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from valuenet.processors.classify.reading import (
    act_of,
    automated,
    clauses,
    fold,
    in_advance,
    logistics,
    matched,
    needs_help,
    sentences,
    which_acts,
)
from valuenet.schemas.flow import FlowType

__all__ = ["RuleHit", "apply_rules", "message_acts"]


class RuleHit(NamedTuple):
    """A rule's decision."""

    flow_type: FlowType
    confidence: float
    reason: str


_PROBLEM = re.compile(
    r"\b(?:error|errors|fail(?:s|ed|ing|ure)?|broken|crash\w*|exception|traceback|bug|bugs|segfault|timeout|"
    r"doesn't work|does not work|not working|isn't working|stopped working)\b"
)
_NOISE_HIT = RuleHit(FlowType.none, 0.9, "rule:noise")
_SILENT = frozenset(("empty", "chitchat", "metoo"))


def message_acts(low: str, fam: frozenset[int] | None = None) -> list[tuple[str, str]]:
    """``(act, sentence)`` for each sentence of folded, lower-cased normalised text (``fam``: its act families)."""
    sents = [c for s in sentences(low) for c in clauses(s)]
    if len(sents) == 1:
        s = sents[0]
        return [(act_of(s, which_acts(s) if fam is None or s != low else fam), s)]
    return [(act_of(s, which_acts(s)), s) for s in sents]


def apply_rules(plain: str) -> RuleHit | None:
    """The rule decision for normalised text, or None when the acts of its sentences do not settle it."""
    low = fold(plain.lower())
    if not low:
        return _NOISE_HIT
    fam = which_acts(low)
    if not fam:
        return None
    if ("automat" in low or "channel" in low) and automated(low):
        return _NOISE_HIT  # platform and bot boilerplate, whatever else it says
    acts = message_acts(low, fam)
    kinds = {a for a, _ in acts}
    if "proposal" in kinds:
        if "instruction" in kinds:
            return None  # an answer and a proposal: the model weighs them
        return RuleHit(FlowType.idea, 0.88, f"rule:proposal '{_first('proposal', acts)}'")
    if "instruction" in kinds:
        code_only = all(
            s == "codeblock" or matched("instruction", s) == "codeblock" for a, s in acts if a == "instruction"
        )
        if not (code_only and "question" in kinds):
            return RuleHit(FlowType.knowledge, 0.86, f"rule:how-to '{_first('instruction', acts)}'")
        kinds = (kinds - {"instruction"}) | {"unknown"}
    if "question" in kinds:
        rest = kinds - {"question"}
        if "courtesy" in rest and all(in_advance(s) for a, s in acts if a == "courtesy"):
            rest = rest - {"courtesy"}  # "thanks in advance" belongs to the request
        if rest <= _SILENT or (rest <= _SILENT | {"unknown"} and needs_help(low)):
            return RuleHit(FlowType.none, 0.82, f"rule:question '{_first('question', acts)}'")
        return None
    if "courtesy" in kinds:
        if kinds - {"courtesy"} <= _SILENT:
            if logistics(low):
                return RuleHit(FlowType.none, 0.75, "rule:logistics")  # "sounds good, see you there"
            return RuleHit(FlowType.reputation, 0.9, f"rule:praise '{_courtesy(acts)}'")
        return None
    if "unknown" in kinds:
        if "chitchat" in kinds and kinds <= _SILENT | {"unknown"} and not _content_marks(low):
            return RuleHit(FlowType.none, 0.7, f"rule:chit-chat '{_first('chitchat', acts)}'")
        return None
    if "metoo" in kinds:
        return RuleHit(FlowType.none, 0.85, f"rule:me too '{_first('metoo', acts)}'")
    if "chitchat" in kinds:
        if _content_marks(low):
            return None  # "the deploy fails lol": the report may be content
        return RuleHit(FlowType.none, 0.75, f"rule:chit-chat '{_first('chitchat', acts)}'")
    return _NOISE_HIT


def _content_marks(low: str) -> bool:
    """True when text shows content a chit-chat marker must not hide: code, a link, a need ("error", "fails")."""
    return "codeblock" in low or "url" in low or " code " in low or _PROBLEM.search(low) is not None


def _first(act: str, acts: list[tuple[str, str]]) -> str:
    """The words that made the first sentence of ``act`` that act."""
    for a, s in acts:
        if a == act:
            return matched(act, s) or s[:40]
    return ""


def _courtesy(acts: list[tuple[str, str]]) -> str:
    for a, s in acts:
        if a == "courtesy":
            return matched("courtesy", s) or matched("agree", s) or s[:40]
    return ""
