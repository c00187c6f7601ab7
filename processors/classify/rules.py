"""Layer 2: high-precision text rules — noise, praise, proposals, how-tos/answers, questions.

Each family is one compiled regular expression over the normalised, lower-cased text; one
multi-pattern scan (``re2.Set``) tells which families match, so a text is read once.
A rule decides only when the families agree:

- noise alone (empty, emoji only, "bump", channel joins, bot boilerplate) → ``none``;
- praise alone and short (≤ 15 words; "thanks", "kudos", "great work", "lgtm", "+1") → ``reputation``;
- a proposal ("what if", "we could", "feature request", "it would be nice if", "how about")
  → ``idea``, also when phrased as a question;
- a how-to or answer ("you can", "try …", "run CODE", a code block, "the fix is", "see URL")
  without a proposal → ``knowledge``;
- a help-seeking question (a sentence ending in "?" or opening with a question word, and a
  need: "how do I", "is there a way", "error", "fails", "can't", …) with no other family →
  ``none`` with reason ``rule:question …``: a question is a request, not knowledge given by
  the asker (the answer to it is). Other questions go to the model.

Anything else (several families at once, or none) is left to the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from valuenet.processors.classify.text import is_question
from valuenet.schemas.flow import FlowType

__all__ = ["RuleHit", "apply_rules"]


class RuleHit(NamedTuple):
    """A rule's decision."""

    flow_type: FlowType
    confidence: float
    reason: str


_NOISE = re.compile(
    r"^(?:bump|ping|test(?:ing)?|ok(?:ay)?|k|lol|brb|afk|back|morning|good morning|gm|hi|hello|hey|yo|\.+|-+|\W*)[\s!.]*$"
    r"|has joined the (?:channel|conversation)|has left the channel|set the channel (?:topic|purpose)"
    r"|(?:has been|was) automatically (?:closed|marked|merged|locked)|^\[?automated\]?"
)
_PRAISE = re.compile(
    r"^(?:thanks?|thank you|thx|ty|tysm|kudos|shout-?out|props|cheers|bravo|congrats|congratulations|"
    r"great (?:job|work|talk|post|thread|write-?up|release|stuff)|nice (?:job|work|one|catch|find)|well done|awesome|"
    r"amazing|brilliant|love (?:this|it|that)|lgtm|looks good(?: to me)?|\+1|huge thanks|many thanks|much appreciated|"
    r"this is (?:great|awesome|amazing|fantastic|so helpful|really helpful))\b"
    r"|\b(?:thanks (?:a lot|so much|for)|thank you (?:so much|for)|kudos to|shout-?out to|huge props|"
    r"you(?:'re| are) (?:a lifesaver|the best|awesome)|saved my (?:day|life|bacon)|much appreciated)\b"
)
_PROPOSAL = re.compile(
    r"\b(?:what if (?:we|you|the|it|instances|users|there)|we could|maybe we|why not (?:let|add|make|offer|support|use)|"
    r"have you considered|what do you think (?:about|of) (?:adding|offering|making|using|moving|switching)|"
    r"how about (?:letting|having|making|using|adding|offering)|one option|propos(?:e|al|ing)|someone should (?:build|make|write)|"
    r"(?:it )?would (?:really )?help (?:us )?(?:a lot )?if|could the \w+ (?:\w+ )?(?:reward|support|show|offer|allow|let)|instead of (?:another|a new|adding)|we should (?:add|consider|try|support|offer|build|make)|how about (?:we|adding|a|an|making)|"
    r"feature request|it would be (?:nice|great|cool|useful|helpful|awesome) (?:if|to)|would be (?:nice|great|cool|useful) to have|"
    r"i(?:'d| would) (?:love|like) to see|i propose|proposal:|i suggest(?: we)?|suggestion:|idea:|"
    r"consider (?:adding|supporting|making)|please add|could you (?:add|support)|can you (?:add|support)|"
    r"would it make sense to|wouldn't it be|any plans to (?:add|support)|wish(?:list)?(?: it| there| we)? (?:was|were|could|had)|"
    r"rfc:|pitch:|brainstorm)"
)
_HELP_QUESTION = re.compile(
    r"\b(?:how (?:do|can|should) (?:i|we)|how to|is there a way|where (?:do|can) (?:i|we) find|any(?:one|body) know|"
    r"error|fail(?:s|ed|ing)?|broken|crash|can't|cannot|doesn't|won't|isn't working|not working|unclear|difference between)"
)
_HOWTO = re.compile(
    r"\b(?:you can|you could (?:use|try|set|run)|you need to|you'll need to|you have to|you should (?:use|set|run|upgrade|check)|"
    r"try (?:running|using|setting|adding|to|the|a)|just (?:run|use|set|add)|run code|use code|set code|"
    r"the (?:fix|solution|workaround|answer|problem|issue|cause) (?:is|was)|here(?:'s| is) how|steps to|"
    r"make sure (?:you|to|that)|(?:see|check|read) (?:the )?(?:docs|documentation|url|guide|wiki|readme)|"
    r"this (?:happens|is caused) because|fixed (?:it )?by|worked for me|it's because|that's because)"
    r"|codeblock"
)


_FAMILIES = (_NOISE, _PROPOSAL, _HOWTO, _PRAISE, _HELP_QUESTION)
_NOISE_I, _PROPOSAL_I, _HOWTO_I, _PRAISE_I, _HELP_I = range(len(_FAMILIES))


def _build_gate() -> Callable[[str], frozenset[int]]:
    """One multi-pattern scan telling which families match a text.

    With google-re2 installed, all families are compiled into one ``re2.Set``: a single
    linear DFA pass over the text (~1 µs) instead of one backtracking search per family.
    Non-ASCII text (RE2's ``\\b``/``\\w`` are ASCII-only), or no re2, searches every family
    with :mod:`re`. Only families that matched are searched again with :mod:`re` for the
    reason text (fast: the search stops at the hit).
    """
    searches = [rx.search for rx in _FAMILIES]

    def which(low: str) -> frozenset[int]:
        return frozenset(i for i, search in enumerate(searches) if search(low))

    try:
        import re2
    except ImportError:  # pragma: no cover - re2 is a dependency; keep working without it
        return which
    opts = re2.Options()
    opts.max_mem = 64 << 20
    gate = re2.Set.SearchSet(opts)
    for rx in _FAMILIES:
        gate.Add(rx.pattern)
    gate.Compile()
    match = gate.Match
    none: frozenset[int] = frozenset()

    def which_re2(low: str) -> frozenset[int]:
        if not low.isascii():  # RE2's \b, \w, \W are ASCII-only: keep re's Unicode semantics
            return which(low)
        hit = match(low.encode())  # bytes: skips the wrapper's str handling
        return frozenset(hit) if hit else none

    return which_re2


_which = _build_gate()
_search = [rx.search for rx in _FAMILIES]


def _matched(family: int, low: str) -> str:
    """The text that rule ``family`` matched in ``low`` (called for families the DFA scan reported)."""
    m = _search[family](low)
    return m.group(0) if m else ""


def apply_rules(plain: str) -> RuleHit | None:
    """The rule decision for normalised text, or None when the rules do not agree on one answer."""
    low = plain.lower()
    if not low:
        return _NOISE_HIT
    fam = _which(low)
    if not fam:
        return None
    proposal = _PROPOSAL_I in fam
    howto = _HOWTO_I in fam
    praise = _PRAISE_I in fam
    if _NOISE_I in fam and not (proposal or howto):
        return _NOISE_HIT
    if proposal and not howto and not praise:
        return RuleHit(FlowType.idea, 0.88, f"rule:proposal '{_matched(_PROPOSAL_I, low)}'")
    if praise and not proposal and not howto and "?" not in low and low.count(" ") < 15:
        return RuleHit(FlowType.reputation, 0.9, f"rule:praise '{_matched(_PRAISE_I, low)}'")
    if howto and not proposal and not praise:
        return RuleHit(FlowType.knowledge, 0.86, f"rule:how-to '{_matched(_HOWTO_I, low)}'")
    if _HELP_I in fam and not (proposal or howto or praise) and is_question(plain):
        return RuleHit(FlowType.none, 0.82, f"rule:question '{_matched(_HELP_I, low)}'")
    return None


_NOISE_HIT = RuleHit(FlowType.none, 0.9, "rule:noise")
