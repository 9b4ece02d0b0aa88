"""Make text from an intake (or a rule folder) safe to show: in a terminal and in Markdown.

An answer is free text. Written to a terminal as it is, an escape sequence in a medication name
can clear the screen and hide the critical flags above it; a bidi control can reorder what a
clinician reads; in a CDS card a bare URL becomes a link and ``&``, ``~`` or ``*`` become markup.
:func:`text` shows every such character as a visible escape (``\\x1b``, ``\\u202e``); :func:`markdown`
does the same and then keeps the result from being read as Markdown or a link.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

__all__ = ["text", "markdown", "link_target", "is_unsafe"]

# Control characters (C0, DEL, C1), format characters (bidi controls, zero-width characters,
# soft hyphens...), line and paragraph separators, surrogates and unassigned code points.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})


@cache
def is_unsafe(char: str) -> bool:
    """Whether a character could change how the text around it is shown."""
    return char not in "\n" and unicodedata.category(char) in _UNSAFE_CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def text(value: object) -> str:
    """``value`` as text with every unsafe character shown as its escape; newlines kept."""
    string = str(value)
    if string.isprintable():  # the common case: nothing to do
        return string
    return "".join(_escape(c) if is_unsafe(c) else c for c in string)


_MARKUP = re.compile(r"([\\`*_\[\]<>#|&~!{}$=^+])")
# A word that _word() would change: one with markup, an "@", or the start of a link (":", "www.").
# Tried only where a word starts (the lookbehind; from inside a word it could never match first),
# up to the word's first such character: trying everywhere made long rule texts quadratic in
# their word lengths (and "www" spelled out as [wW] is several times quicker than (?i:www)).
_SPECIAL_WORD = re.compile(r"(?<![^ ])[^ ]*?(?:[\\`*_\[\]<>#|&~!{}$=^+@:]|[wW][wW][wW]\.)[^ ]*")
_LINK_START = re.compile(r"(?i)\b(www)\.|([a-z][a-z0-9+.-]*):(?=//)")
_LINE_START = re.compile(r"^(\d+)([.)])")


def _code_span(word: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall(r"`+", word)), default=0) + 1)
    pad = " " if word.startswith("`") or word.endswith("`") else ""
    return f"{fence}{pad}{word}{pad}{fence}"


def _word(word: str) -> str:
    if "@" in word:  # GFM links e-mail addresses even through escapes; a code span shows it as it is
        return _code_span(word)
    escaped = _MARKUP.sub(r"\\\1", word)
    return _LINK_START.sub(lambda m: f"{m.group(1)}\\." if m.group(1) else f"{m.group(2)}\\:", escaped)


def markdown(value: object) -> str:
    """``value`` as one line of Markdown that shows exactly the text: no markup, no links.

    Whitespace runs become one space (a newline would start a new block). Every Markdown
    punctuation mark is backslash-escaped (CommonMark shows the character itself), the starts of
    bare links (``www.``, ``scheme://``) are broken up so that GFM does not link them, and a word
    with ``@`` (an e-mail address to GFM) is shown as code.
    """
    # word by word, but only the words that need it (found in one pass): rule texts are long
    line = _SPECIAL_WORD.sub(lambda match: _word(match.group()), text(" ".join(str(value).split())))
    if line.startswith("-"):  # a list item
        line = "\\" + line
    return _LINE_START.sub(r"\1\\\2", line)


def link_target(url: str) -> str:
    """A URL as a Markdown link destination that cannot end the link early."""
    return "<" + re.sub(r"[\s<>\\]", lambda m: f"%{ord(m.group(0)):02X}", text(url)) + ">"
