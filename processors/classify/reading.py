"""Read a message before typing it: strip what the writer did not write, split sentences, tell speech acts.

Everything here works on a copy used for classification only; the stored text stays intact.

:func:`for_typing` removes quoted parent text and other material that is not the writer's
message: Discourse ``[quote]…[/quote]``, Markdown and e-mail ``>`` lines, "On … wrote:"
headers and Outlook's "-----Original Message-----" tail, Slack ``&gt;`` quote lines,
Mastodon/HTML ``<blockquote>`` and Mastodon's ``quote-inline`` "RE:" paragraph, signatures
("-- " lines, "Sent from my …", "Get Outlook for …"). Fenced, ``<pre>`` and indented code
blocks become the placeholder ``CODEBLOCK`` (code is evidence of an answer or a report, its
words are not the writer's prose). A line break that ends a sentence (the next line starts a
new sentence, a list item, or a paragraph) becomes a full stop, so sentences survive the
whitespace collapse of :func:`~valuenet.processors.classify.text.normalise`.

:func:`sentences` is a regular-expression splitter (no sentence-splitting library is
installed; the rule path must stay in the microseconds): it splits after ``.``, ``!``, ``?``
and ``…`` followed by space, except after common abbreviations (``e.g.``, ``i.e.``, ``etc.``,
``vs.``, ``Mr.``…), single letters (initials) and list numbers; URLs, versions (``1.2.3``),
file names and code have no space after their dots and are never split.

:func:`sentence_act` names what one sentence does, by its structure:

- ``proposal`` — "we could", "should we …?", "what about adding", "I'd suggest", "it would be
  nice if", "Feature request: …" (as what the sentence does, not a phrase in passing);
- ``instruction`` — an answer: an imperative at the sentence start ("Try running …", "Set X"),
  "you can / you need to / you should …" opening a clause, an explanation ("the fix is",
  "this happens because"), a pointer to docs ("see the docs", "is documented here URL"), or a code block;
- ``question`` — interrogative form: a wh-word or an inverted auxiliary at the start
  ("Does it …", "Is there …"), or a final ``?``;
- ``courtesy`` — thanks, praise, agreement anywhere in a short sentence ("@user Thanks.",
  "yep", "sounds good", "+1", "LGTM");
- ``metoo`` — "me too", "same here", "subscribing";
- ``chitchat`` — laughter, swearing, exclamations of feeling ("lol", "omg", "ugh");
- ``empty`` — no value: acknowledgements ("ok", "sure"), greetings, bumps, the writer's own
  intentions ("I'll try to reinstall", "will do", "happy to help"), mentions alone;
- ``unknown`` — anything else (a statement: possibly content, for the model to judge).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = [
    "for_typing",
    "sentences",
    "sentence_act",
    "act_of",
    "which_acts",
    "matched",
    "needs_help",
    "in_advance",
    "fold",
    "clauses",
    "automated",
    "logistics",
    "ACTS",
    "act_patterns",
]

# -- quote, code and signature stripping -------------------------------------------------------

_BB_QUOTE = re.compile(r"\[quote(?:=[^\]]{0,300})?\](?:(?!\[quote).)*?\[/quote\]\s*", re.S | re.I)
_HTML_QUOTE = re.compile(r"<blockquote\b[^>]{0,400}>(?:(?!<blockquote).)*?</blockquote>\s*", re.S | re.I)
_ASIDE_QUOTE = re.compile(
    r"<aside\b[^>]{0,400}class=\"[^\"]{0,100}quote[^\"]{0,100}\"[^>]{0,400}>.{0,8000}?</aside>\s*", re.S | re.I
)
_QUOTE_INLINE = re.compile(
    r"<p\b[^>]{0,100}class=\"[^\"]{0,100}quote-inline[^\"]{0,100}\"[^>]{0,100}>.{0,2000}?</p>", re.S | re.I
)
_QUOTE_LINES = re.compile(r"(?m)^[ \t]*(?:>|&gt;)[^\n]*(?:\n|$)")
_WROTE = re.compile(
    r"(?m)^[ \t]*(?:On|Am|Le|El)\b[^\n]{4,200}(?:\n[^\n]{0,200})?\b(?:wrote|schrieb|a écrit|escribió)\s*:[ \t]*$"
)
_ORIGINAL = re.compile(
    r"(?ms)^[ \t]*(?:-{2,}\s*Original Message\s*-{2,}|-{5,}\s*Forwarded message|From: [^\n]+\n(?:Sent|Date): ).*"
)
_SIGNATURE = re.compile(r"(?ms)(?:^-- ?$|^(?:Sent from my|Sent from Mail for|Get Outlook for|Sent via)\b).*")
_FENCE = re.compile(r"(?ms)^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)|```.*?(?:```|\Z)")
_H_CARD = re.compile(r"<span\b[^>]{0,100}class=\"h-card\"[^>]{0,100}>.{0,600}?</a>\s*</span>", re.S | re.I)
_PRE = re.compile(r"<pre\b[^>]{0,200}>.*?(?:</pre>|\Z)", re.S | re.I)
MAX_CHARS = 16_384
"""Only the first this many characters of a text are read for typing (a 100 KB paste is typed by its start)."""
_INDENTED = re.compile(r"(?m)(?:(?:\A|\n)[ \t]*\n)((?:(?: {4}|\t)[^\n]*(?:\n|\Z))+)")
_LINE_END = re.compile(r"([^\s.!?:;,])[ \t]*\n(?=[ \t]*(?:\n|[-*•+] |\d{1,2}[.)] |[A-Z@]))")
_PARA_END = re.compile(r"([^\s.!?:;,])[ \t]*(?=\n[ \t]*\n)")


def for_typing(text: str, source: str | None = None) -> str:
    """The writer's own words of ``text`` for classification: quotes, signatures and code blocks removed.

    ``source`` (the platform) is accepted for platform-specific reading; every shape is recognised
    whatever the source today, because platforms relay each other's text (e-mail into Zendesk, …).
    """
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    if "\n" not in text and "[" not in text and "<" not in text and "`" not in text and "~" not in text:
        t = text.lstrip()  # one line, no markup: only a leading '>' (a flattened quote + reply) to drop
        return t[4:] if t.startswith("&gt;") else t[1:] if t.startswith(">") else text
    if "[quote" in text or "[QUOTE" in text:
        for _ in range(4):  # nested quotes: innermost first
            stripped = _BB_QUOTE.sub("\n\n", text)
            if stripped == text:
                break
            text = stripped
    if "<" in text:
        if "<aside" in text:
            text = _ASIDE_QUOTE.sub(" ", text)
        if "<blockquote" in text or "<BLOCKQUOTE" in text:
            for _ in range(4):
                stripped = _HTML_QUOTE.sub(" ", text)
                if stripped == text:
                    break
                text = stripped
        if "h-card" in text:
            text = _H_CARD.sub(" @user ", text)
        if "quote-inline" in text:
            text = _QUOTE_INLINE.sub(" ", text)
        if "<pre" in text:
            text = _PRE.sub(" CODEBLOCK ", text)
    if "```" in text or "~~~" in text:
        text = _FENCE.sub(" CODEBLOCK ", text)
    if "\n" not in text:
        t = text.lstrip()  # one line: a '>' here may be a flattened quote + reply; keep the words
        return t[4:] if t.startswith("&gt;") else t[1:] if t.startswith(">") else text
    if " wrote" in text or "schrieb" in text or "a écrit" in text or "escribió" in text:
        text = _WROTE.sub("", text)
    if "Original Message" in text or "Forwarded message" in text or "From: " in text:
        text = _ORIGINAL.sub("", text)
    if ">" in text or "&gt;" in text:
        text = _QUOTE_LINES.sub("", text)
    if "--" in text or "Sent " in text or "Get Outlook" in text:
        text = _SIGNATURE.sub("", text)
    if "\n    " in text or "\n\t" in text:
        text = _INDENTED.sub("\n\nCODEBLOCK\n\n", text)
    if "\n\n" in text:
        text = _PARA_END.sub(r"\1.", text)
    return _LINE_END.sub(r"\1.\n", text)


# -- sentences ---------------------------------------------------------------------------------

_ABBREV = frozenset(
    "e.g i.e etc vs v cf al approx esp fig eq no nos vol pp ca mr mrs ms dr prof sr jr st inc ltd co corp dept "
    "est min max misc resp viz ver rev sec ref incl excl".split()
)
_BOUNDARY = re.compile(r"([.!?…]+)([\"')\]]*)\s+")


def sentences(text: str) -> list[str]:
    """Sentences of ``text`` (whitespace-collapsed), in order; never empty strings."""
    text = " ".join(text.split())
    if not text:
        return []
    if ". " not in text and "! " not in text and "? " not in text and "…" not in text:
        return [text]
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if m.group(1) == "." and not m.group(2):
            dot = m.start()
            ws = text.rfind(" ", start, dot) + 1 or start
            word = text[ws:dot].lower()
            if word.rstrip(".") in _ABBREV or (len(word) == 1 and word.isalpha() and text[end : end + 1].isupper()):
                continue
            if ws == start and len(word) <= 2 and word.isdigit():
                continue  # "1. Install …": a list number, not a sentence
        piece = text[start : m.start() + len(m.group(1)) + len(m.group(2))].strip()
        if piece:
            out.append(piece)
        start = end
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


# -- speech acts -------------------------------------------------------------------------------

ACTS = ("proposal", "instruction", "question", "courtesy", "metoo", "chitchat", "empty", "unknown")

_S = r"(?:^|[.!?] )"  # a sentence start (in a whole message, also after a sentence end)
_OPEN = r"(?:^|[.!?,;:(] |@user |\b(?:then|so|also|now|but|and|or|alternatively|otherwise|instead|here|there|basically|just|maybe|perhaps|i think|imo|fwiw) )"
_LEAD = r"(?:^|[.!?] )(?:@user,? |(?:ok|okay|yes|yeah|also|so|well|hi|hey|btw|then|first|next|finally|alternatively|otherwise|instead)[,:]? )*(?:please,? |just |simply |also |maybe |first,? |then |now )?"

# A proposal phrased as a question, or stated ("feature request" only as what the sentence is).
PROPOSAL = (
    r"(?:^|[.!?,;:] )(?:@user,? )*(?:so,? |but |and |then,? |also,? |maybe |perhaps |hmm,? )?(?:should|could|can|shall) we\b"
    r"|"
    + _S
    + r"(?:@user,? )*(?:so |but |and )?(?:why (?:don't|not|wouldn't) (?:we|you)?|how about|what about (?:\w+ing|a|an|making|adding|using|having)|would it (?:make sense|be (?:possible|better|nicer|easier|worth)) (?:to|if)|wouldn't it be|have you (?:considered|thought about)|would you (?:consider|be open to|accept)|is there any (?:plan|chance) (?:to|of)|are there (?:any )?plans to|any plans (?:to|for|on))\b"
    r"|\b(?:could you|can you|would you|could we|can we) (?:please )?(?:add|support|provide|expose|implement|include|offer|allow|introduce|make it)\b"
    r"|\b(?:we|you|they|it|one) (?:could|might|may) (?:also )?(?:add|introduce|provide|expose|offer|support|use|make|create|implement|extend|allow|deprecate|rename|change|split|move|switch|consider|instead)\b"
    r"|\bwe (?:could|should|might want to|may want to|need to) (?:also )?(?:add|introduce|provide|expose|offer|support|make|create|implement|extend|allow|deprecate|rename|change|split|move|switch|consider|drop|remove|document|keep|think about|look into)\b"
    r"|\bmaybe (?:we|it|there) (?:could|should)\b|\b(?:why not|how about) (?:we|you|they|adding|using|making|letting|having|offering)\b"
    r"|\bwhat if (?:we|you|they) \w+ed\b|\bwhat if (?:we|you|they|it) (?:could|add|added|use|used|make|made|had|just|instead|allow|allowed|let|move|moved|change|changed|did|do|try|tried|switch|switched|provide|provided|support|supported|offer|offered|were to|was to)\b"
    r"|\bwhat if there (?:was|were|is) (?:a|an)\b"
    r"|\bi(?:'d| would)? (?:suggest|propose|recommend) (?:we|that|to|adding|using|making|having|a|an|the|moving|switching|changing)\b"
    r"|\b(?:my|a|one|another|the other) (?:suggestion|proposal|idea|option|alternative) (?:is|would be|could be|here is)\b"
    r"|\b(?:my|one|another|an) (?:suggestion|proposal|idea|option|alternative):"
    r"|\bwhat do you (?:think|guys think|all think) (?:about|of) (?:\w+ing|a|an|the idea)\b"
    r"|"
    + _S
    + r"(?:could|can|should|shouldn't|couldn't) the \w+(?: \w+)? (?:reward|support|show|offer|allow|let|have|include|send|store|export|accept|default)\b"
    r"|\bit (?:would|'d) (?:really |greatly |also )?help (?:us |me |a lot |everyone )*if\b"
    r"|\b(?:do|don't) we (?:keep|integrate|choose|want to|add|deprecate|remove|drop|support|rename|move|switch|merge|split|expose|make)\b"
    r"|"
    + _S
    + r"(?:\[?(?:feature request|feature proposal|proposal|suggestion|idea|rfc|enhancement|pitch)\]?:|(?:this|it)(?: is|'s) (?:\w+ )?(?:a|more of a) feature request)"
    r"|\b(?:it|that|this) (?:would|'d|will) be (?:really |very |so |much |quite |super )?(?:nice|great|cool|useful|helpful|awesome|good|better|handy|convenient|ideal|preferable|neat|lovely) (?:if|to|for|when)\b"
    r"|\b(?:it|that|this)'d be (?:really |very |so |super )?(?:nice|great|cool|useful|helpful|awesome|good|better|handy|convenient|neat) (?:if|to|for)\b"
    r"|\bwould be (?:nice|great|cool|useful|handy) to have\b|\bi(?:'d| would) (?:love|like|prefer) (?:to see|if|it if|a way|an option|the option|support)\b"
    r"|\bi (?:wish|hope) (?:it|there|we|you|they) (?:was|were|could|would|had|supported)\b"
    r"|"
    + _S
    + r"(?:please )?(?:consider|considering) (?:adding|supporting|making|using|moving|switching|dropping)\b|"
    + _S
    + r"please (?:add|support|implement|make|allow|provide|expose|include|offer|consider)\b"
    r"|\b(?:someone|somebody) should (?:build|make|write|add)\b|\binstead of (?:another|a new|adding|having)\b"
)
# An answer or instruction given to the receiver.
INSTRUCTION = (
    _OPEN
    + r"you (?:can (?:[a-mo-z]|n[a-np-z])\w*|could (?:also |just |simply )?(?:use|try|set|run|pass|add|call|change|install|do|check|write|put|import|specify|get)|"
    r"need to|'ll need to|will need to|have to|should (?:use|set|run|upgrade|update|check|try|be able|install|pass|call|add|change|look|see|read|avoid|not)|"
    r"might want to|may want to|want to (?:use|set|run|pass|call|add))\b"
    + r"|"
    + _LEAD
    + r"(?:try (?:running|using|setting|adding|passing|calling|changing|installing|reinstalling|updating|upgrading|downgrading|removing|deleting|clearing|restarting|the|a|an|this|it|with|to)|"
    r"(?:use|run|set|install|reinstall|upgrade|downgrade|update|pass|call|import|enable|disable|restart|configure|specify|clear|pin|uninstall) (?:the|your|a|an|this|that|it|code|codeblock|url|\w+ to|\w+=)|"
    r"make sure (?:you|to|that|the|your)|ensure (?:that|you|the|your)|check (?:the|your|if|whether|out the|out url|that (?:the|your|you|it))|"
    r"(?:see|read|refer to|look at|have a look at|take a look at) (?:the )?(?:docs|documentation|url|code|guide|wiki|readme|faq|manual|section|page|example|this url|here:?|below|above)|"
    r"go to|navigate to|click|don't forget to|do not forget to|avoid)\b"
    r"|\bthe (?:fix|solution|workaround|root cause|trick|culprit) (?:is|was|here is|seems to be)\b"
    r"|\bthe (?:problem|issue|cause|bug|reason) (?:is|was|seems to be) (?:caused by|in|with|related to|due to|that the|that your|the)\b"
    r"|\bthis (?:happens|occurs|is happening) (?:because|when)\b|\bthis is caused by\b"
    r"|\bhere(?:'s| is) (?:how|an example|a workaround|the fix)\b|\bsteps to (?:reproduce|fix)\b|\bfixed (?:it )?by\b"
    r"|\b(?:is|was|has been|will be) (?:fixed|resolved|addressed|implemented|added) in\b|\bby default,? (?:it|the|this)\b|\baccording to the (?:docs|documentation)\b"
    r"|\b(?:is|are) (?:here|documented here|documented at|explained here|described here):? url\b"
    r"|\bcodeblock\b"
)
_Q_WORDS = (
    r"(?:how|what|why|where)(?:'s|'re| (?:do|does|did|is|are|was|were|can|could|should|would|will|has|have|to|much|many|long|often|come)"
    r"(?: (?:i|you|we|they|it|the|this|that|there|my|your|one))?)|"
    r"(?:do|does|did|is|are|was|were|can|could|should|would|will|may|might|shall|am|"
    r"isn't|aren't|doesn't|don't|didn't|can't|won't|wouldn't|couldn't|shouldn't)"
    r" (?:i|you|we|they|he|she|it|there|this|that|these|those|the|anyone|anybody|someone|somebody|my|your|our|their|u)"
    r"|(?:has|have|had|hasn't|haven't) (?:i|you|we|they|he|she|it|there|anyone|anybody|someone|somebody)"
)
QUESTION = (
    r"\?|"
    + _S
    + r"(?:@user,? |(?:so|but|and|also|ok|okay|hi|hey|hello|sorry|btw|hmm|well|then|hi all|hello all|hey all|hi everyone|hello everyone|hi guys|hey guys|hi team|hi folks)[,.!]? )*(?:"
    + _Q_WORDS
    + r")\b"
    r"|"
    + _S
    + r"(?:@user,? )*(?:any(?:one|body) (?:know|knows|have|has|else|seen|tried|got)|any (?:idea|ideas|clue|update|news|suggestions?|tips?|thoughts|workaround)|i (?:wonder|was wondering|am wondering|'m wondering)|(?:i'd|i would) (?:like|love) to know|can someone|could someone|does someone|is it possible|how come|wondering)\b"
)
COURTESY = (
    r"\b(?:thank you|thankyou|thanks|thx|thnx|tnx|tysm|ty|kudos|shout-?out|props|cheers|bravo|congrats|congratulations|"
    r"much appreciated|i appreciate|appreciate (?:it|this|that|your|the|you)|appreciated|"
    r"great (?:job|work|talk|post|thread|write-?up|release|stuff|answer|explanation|idea|point|catch|find|question|news)|"
    r"nice (?:job|work|one|catch|find|idea|answer|point|explanation)|good (?:job|work|catch|idea|point|call|find|answer|news)|well done|"
    r"lgtm|looks good|looks great|sounds good|sounds great|sounds like a plan|makes sense|good to know|fair enough|"
    r"i agree|agree with|totally agree|you're right|you are right|that's right|true that|sure thing|"
    r"love (?:this|it|that|your|the)|this is (?:great|awesome|amazing|fantastic|so helpful|really helpful|helpful|useful|gold)|"
    r"(?:that|this|it) (?:worked|works now|did it|did the trick|fixed it|solved it|helped|helps)|works (?:now|perfectly|great|like a charm)|"
    r"you(?:'re| are| guys are| all are| folks are) (?:a lifesaver|the best|awesome|amazing|a hero|a legend|heroes|legends)|you (?:guys |all )?rock|saved my (?:day|life|bacon|time)|"
    r"(?:i )?(?:didn't|did not) know (?:that|you|about|it|this)|today i learned|til|learned something new|"
    r"exactly what i (?:was looking for|needed|wanted)|just what i needed|"
    r"welcome (?:aboard|back|to the)|well said|so true|spot on|bingo|nailed it)\b|\+1\b|👍|🙏|❤|🎉|💯"
)
AGREE = (
    r"\b(?:agreed|exactly|absolutely|definitely|indeed|yep|yup|yes|yeah|yea|ya|correct|perfect|"
    r"awesome|amazing|brilliant|excellent|fantastic|wonderful|impressive|beautiful|great|nice|cool|neat|sweet)\b"
)
"""Agreement and praise words that make a sentence courtesy only when it is short (≤ 5 words): "yep", "Perfect!"."""
METOO = (
    r"^(?:@user,? )*(?:me too|same here|same|same issue|same problem|same for me|same thing here|also seeing this|"
    r"subscrib\w*|following|\+1,? same(?: here)?)[\s!.,]*$"
    r"|^(?:@user,? )*(?:i have|i'm having|i am having|having|seeing|i see|i get|getting) the (?:exact )?same (?:issue|problem|error|thing)\b"
)
CHITCHAT = (
    r"\b(?:lol|lmao|lmfao|rofl|haha\w*|hehe\w*|omg|wtf|ugh|smh|yikes|oof|ouch|damn|dammit|fuck\w*|shit\w*|crap|"
    r"hell yeah|oh no|oh god|oh man|jesus|geez|sigh|meh|wow|yay|woo+|lolol|xd|"
    r"i(?:'m| am) (?:so |really |very |just |kinda |pretty )?(?:sorry (?:for you|to hear|that)|sad|jealous|scared|angry|heartbroken|devastated|terrified)|"
    r"i hope (?:you(?:'re| are)? (?:ok|okay|well|feeling)|he|she|they)|i feel (?:like|so|bad|sad|sorry)|so sorry (?:for|to hear|that))\b|😂|🤣|😭|😢|😡|🙄"
)
EMPTY = (
    r"^(?:@user[ ,]*)*(?:ok|okay|k|kk|alright|sure|fine|noted|got it|gotcha|understood|roger|ack|will do|on it|"
    r"hi|hello|hey|yo|morning|good morning|gm|evening|hi all|hello all|hi everyone|hello everyone|hey all|"
    r"bump|ping|test|testing|brb|afk|back|cc|fyi|ditto|done|np|no problem|you're welcome|welcome|"
    r"i'll try(?: it| that| this)?(?: out| again)?|i will try|let me try|i'll give it a (?:try|shot|go)|i'll check|i'll test|i'll look|"
    r"i'll take a look|i'll have a look|i'll report back|i'll let you know|will report back|will try|will check|will test)?[\s!.,:)(-]*$"
    r"|^(?:@user,? )*(?:ok,? |okay,? |so |then |alright,? )?i(?:'ll| will| am going to|'m going to| shall) (?:try|give|check|test|look|take|have|report|let|keep|update|see|do|follow|get back|investigate|reinstall|rerun|restart)\b"
    r"|^(?:@user,? )*(?:i(?:'d| would)(?: be)?|i am|i'm|we(?:'d| would)(?: be)?) (?:happy|glad|willing|able) to (?:help|contribute|submit|send|open|make|work|take|do|review|test)\b"
    r"|^(?:@user,? )*let me (?:know|try|check|test|look|see)\b|has joined the (?:channel|conversation)|has left the channel|set the channel (?:topic|purpose)"
    r"|(?:has been|was) automatically (?:closed|marked|merged|locked)|^\[?automated\]?|^(?:@user[ ,]*)+$|^[\W_]*$"
)
_NEED = re.compile(
    r"\b(?:error|errors|fail(?:s|ed|ing|ure)?|broken|crash(?:es|ed|ing)?|can't|cannot|can not|couldn't|doesn't work|don't work|didn't work|"
    r"won't|isn't working|not working|unable|stuck|exception|traceback|issue|problem|bug|help)\b"
)
_NOT_COURTESY = re.compile(
    r"\b(?:no thanks|no thank you|not (?:really|exactly|great|perfect|good)|(?:would|'d) (?:really |greatly )?appreciate)\b"
)
_IN_ADVANCE = re.compile(
    r"\b(?:thanks in advance|thank you in advance|thanks for any (?:help|advice|input|suggestions|hints?)|tia|"
    r"any help (?:is|would be) (?:\w+ )?(?:appreciated|great)|would be (?:much |greatly |very )?appreciated|in advance)\b"
)
_NEGATED_PROPOSAL = re.compile(
    r"\b(?:we (?:could not|couldn't|should not|shouldn't)|don't think we should|i (?:did|didn't) suggest)\b"
)

_YOU_CAN = re.compile(r"\byou can \w+$")
_LEADING_MENTIONS = re.compile(r"^[.!? ]*(?:@user[ ,]*)+")

_PATTERNS: dict[str, str] = {
    "proposal": PROPOSAL,
    "instruction": INSTRUCTION,
    "question": QUESTION,
    "courtesy": COURTESY,
    "agree": AGREE,
    "metoo": METOO,
    "chitchat": CHITCHAT,
    "empty": EMPTY,
}
_ORDER = tuple(_PATTERNS)
_COMPILED = {k: re.compile(v) for k, v in _PATTERNS.items()}


def act_patterns() -> dict[str, re.Pattern[str]]:
    """The compiled pattern of each act family (lower-cased, normalised sentence text)."""
    return dict(_COMPILED)


class _FoldTable(dict[int, str]):
    """``str.translate`` table built on demand: typographic quotes → ASCII, accented letters → their base
    letter, other letters and digits → ``x``, Unicode spaces → space; emoji and symbols stay."""

    def __missing__(self, o: int) -> str:
        c = chr(o)
        if o < 128:
            v = c
        elif c in "’‘´ʼ":
            v = "'"
        elif c in "“”«»":
            v = '"'
        elif c.isspace():
            v = " "
        elif c.isalnum():
            base = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode().lower()
            v = base if len(base) == 1 and base.isalnum() else "x"
        else:
            v = c
        if len(self) < 1 << 16:
            self[o] = v
        return v


_FOLD = _FoldTable()


def fold(low: str) -> str:
    """Lower-cased text with every word character ASCII (see :class:`_FoldTable`): RE2 and ``re`` then agree."""
    return low if low.isascii() else low.translate(_FOLD)


def _build_gate() -> Callable[[str], frozenset[int]]:
    """One multi-pattern scan (``re2.Set``: a single DFA pass) telling which act families match a text.

    The text is folded first (:func:`fold`): RE2's ``\\b``, ``\\w`` and ``\\s`` are ASCII-only, so
    with all word characters ASCII its answer is the same as ``re``'s on the folded text.
    """
    searches = [_COMPILED[k].search for k in _ORDER]

    def which(low: str) -> frozenset[int]:
        low = fold(low)
        return frozenset(i for i, search in enumerate(searches) if search(low))

    try:
        import re2
    except ImportError:  # pragma: no cover - re2 is a dependency; keep working without it
        return which
    opts = re2.Options()
    opts.max_mem = 256 << 20
    gate = re2.Set.SearchSet(opts)
    for k in _ORDER:
        gate.Add(_PATTERNS[k])
    gate.Compile()
    match = gate.Match
    none: frozenset[int] = frozenset()

    def which_re2(low: str) -> frozenset[int]:
        if not low.isascii():
            low = low.translate(_FOLD)
        hit = match(low.encode())
        return frozenset(hit) if hit else none

    return which_re2


which_acts = _build_gate()
P_I, I_I, Q_I, C_I, A_I, M_I, X_I, E_I = range(len(_ORDER))


def matched(act: str, low: str) -> str:
    """The text that act family ``act`` matched in ``low`` ("" when it does not match)."""
    m = _COMPILED[act].search(low)
    if m is None:
        return ""
    if m.group(0).strip() == "?":
        return " ".join(low.split()[:4])
    words = _LEADING_MENTIONS.sub("", m.group(0)).strip(" .!?:;,[]")
    if words.startswith("what if "):
        return " ".join(words.split()[:3])  # the proposal's head
    return _YOU_CAN.sub("you can", words) if "you can " in words else words


_LEAD_IN = re.compile(
    r"^((?:@user[ ,]*)*(?:thanks|thank you(?: so much| very much)?|thx|ty|cheers|great|nice|cool|awesome|perfect|"
    r"ok|okay|yes|yeah|yep|yup|sure|agreed|lgtm|\+1|exactly|right|hi|hello|hey|hi all|oh|ah|wow|"
    r"brilliant|excellent|fantastic|amazing|sounds good|sounds great|makes sense|good point|fair enough|"
    r"lol|lmao|haha|hahaha|omg|ugh|damn|meh|sigh|oof|yikes)"
    r"(?: @user)*[,!:;]+) (?=\S)"
)


def clauses(sentence: str) -> list[str]:
    """``sentence`` with a leading interjection split off ("Thanks, I tried that…" → "Thanks,", "I tried that…")."""
    m = _LEAD_IN.match(sentence)
    return [m.group(1), sentence[m.end() :]] if m else [sentence]


def sentence_act(sentence: str) -> str:
    """What one sentence does: one of :data:`ACTS` (``sentence`` is normalised text, any case)."""
    low = fold(sentence.lower())
    return act_of(low, which_acts(low))


def act_of(low: str, fam: frozenset[int]) -> str:
    """The act of lower-cased sentence ``low`` whose act families (:func:`which_acts`) are ``fam``."""
    if not fam:
        return "unknown"
    if P_I in fam and not _NEGATED_PROPOSAL.search(low):
        return "proposal"
    if Q_I in fam:
        return "question"
    if I_I in fam:
        return "instruction"
    if M_I in fam:
        return "metoo"
    if C_I in fam and low.count(" ") < 20 and not _NOT_COURTESY.search(low):
        if " but " in low or " however" in low or " although " in low or " though " in low:
            return "unknown"  # "thanks, but …": what follows the but is the message
        return "courtesy"
    if A_I in fam and low.count(" ") < 5 and not _NOT_COURTESY.search(low):
        return "courtesy"
    if E_I in fam:
        return "empty"
    if X_I in fam:
        return "chitchat"
    return "unknown"


_AUTOMATED = re.compile(
    r"has joined the (?:channel|conversation)|has left the channel|set the channel (?:topic|purpose)"
    r"|(?:has been|was|been) automatically (?:closed|marked|merged|locked)|^\[?automated\]?|automatically generated"
    r"|this (?:is an|is an automated|message was) (?:automated|auto-generated|sent automatically)"
)
_LOGISTICS = re.compile(
    r"\b(?:see you (?:there|then|tomorrow|soon|later|at|on|in)|see ya|cya|i'll be there|count me in|works for me at|"
    r"(?:lunch|dinner|coffee|meeting|standup|call) (?:at|on|tomorrow|today)|on my way|omw)\b"
)


def automated(low: str) -> bool:
    """True for bot and platform boilerplate (joins, stale-issue notices, "[automated]")."""
    return _AUTOMATED.search(low) is not None


def logistics(low: str) -> bool:
    """True for scheduling and logistics ("see you there", "lunch at 12")."""
    return _LOGISTICS.search(low) is not None


def in_advance(low: str) -> bool:
    """True for thanks given before any help ("thanks in advance", "any help appreciated")."""
    return _IN_ADVANCE.search(low) is not None


def needs_help(low: str) -> bool:
    """True when lower-cased text names a need (an error, a failure, "can't", "help")."""
    return _NEED.search(low) is not None
