"""Platform markup → plain text, and the token features the rules and the model share.

Handles Slack mrkdwn (``<@U123>``, ``<https://x|label>``, ``:emoji:``), Mastodon HTML
(``<p>``, ``<a>``, ``<br>``), Markdown (code fences, inline code, quotes, links), and
e-mail-style quoting. Mentions become ``@user``, URLs ``URL``, code blocks ``CODEBLOCK``.
"""

from __future__ import annotations

import html
import re

__all__ = ["normalise", "features", "is_question", "length_bucket", "TOKEN_RE"]

_SLACK_MENTION = re.compile(r"<[@!][A-Z0-9]+(?:\|[^>]*)?>|<!(?:here|channel|everyone)>")
_SLACK_LINK = re.compile(r"<(https?://[^>|]+)(?:\|([^>]*))?>")
_HTML_TAG = re.compile(r"<[^>]{1,400}>")
_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]{1,200}`")
_URL = re.compile(r"https?://\S+")
_MENTION = re.compile(r"(?<![\w.])@[\w.-]+(?:@[\w.-]+)?")
_QUOTE_LINE = re.compile(r"(?m)^\s*>.*$")
_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"[a-z][a-z0-9']*|\?|!|\+1|:\)", re.I)
_QUESTION_START = re.compile(
    r"^(?:how|what|why|where|when|which|who|does|do|is|are|can|could|should|would|will|has|have|did|anyone|any(?:one|body)? know)\b"
)
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+")


def normalise(text: str) -> str:
    """Plain, single-spaced text with mentions, URLs and code replaced by placeholders."""
    if "<" in text:
        text = _SLACK_MENTION.sub(" @user ", text)
        text = _SLACK_LINK.sub(" URL ", text)
        if "</" in text or "<br" in text or "<p" in text:
            text = _HTML_TAG.sub(" ", text.replace("<br>", "\n").replace("<br/>", "\n").replace("</p>", "\n"))
        text = html.unescape(text)
    if "```" in text:
        text = _FENCE.sub(" CODEBLOCK ", text)
    if "`" in text:
        text = _INLINE_CODE.sub(" CODE ", text)
    if ">" in text:
        text = _QUOTE_LINE.sub(" ", text)
    if "http" in text:
        text = _URL.sub(" URL ", text)
    if "@" in text:
        text = _MENTION.sub(" @user ", text)
    return " ".join(text.split())  # same as collapsing \s+ and stripping, without a regex


def is_question(plain: str) -> bool:
    """True when any sentence of normalised text ends with '?' or opens with a question word."""
    if "?" in plain:
        return True
    low = plain.lower()
    return any(_QUESTION_START.match(s) for s in _SENT_SPLIT.split(low, 2))  # the first 3 sentences


def features(plain: str, kind: str, source: str) -> list[str]:
    """Binary features: unigrams, bigrams, the first word, shape flags, kind and source."""
    toks = _findall(plain.lower())
    feats = _KIND_SOURCE.get((kind, source)) or _kind_source(kind, source)
    n = len(toks)
    if n:
        feats = feats + toks
        feats += map(_bigram, toks, toks[1:])
        feats.append("^" + toks[0])
        feats.append("$" + toks[-1])
    else:
        feats = list(feats)
    feats.append(length_bucket(n))
    if "?" in plain:
        feats.append("has?")
    return feats


def length_bucket(n: int) -> str:
    """The length feature for ``n`` tokens: len<4, len<12, len<40 or len>=40."""
    return "len<4" if n < 4 else "len<12" if n < 12 else "len<40" if n < 40 else "len>=40"


TOKEN_RE = _TOKEN
_findall = _TOKEN.findall
_bigram = "{} {}".format
_KIND_SOURCE: dict[tuple[str, str], list[str]] = {}


def _kind_source(kind: str, source: str) -> list[str]:
    ks = _KIND_SOURCE[(kind, source)] = [f"k={kind}", f"s={source}"]
    return ks
