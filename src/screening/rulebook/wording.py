"""The library's own voice supports a clinician and decides nothing: the wording check.

Every text a rule writes in the library's voice (title, summary, explanation, clinician action,
limitations, override reasons) is read for wording that declares someone
safe or eligible, or that directs the clinician. Before it is read, what a reader would not see
is undone: compatibility forms (NFKC: full-width letters, ligatures), soft hyphens, zero-width
and other invisible characters, and Cyrillic or Greek letters that look like Latin ones.

A source quoted as it was written, inside double quotation marks, is not the library's voice:
in explanations and limitations it is exempt and is shown with its marks. What a reference
``says`` reports the source (which may well direct: "the facilitator must..."), so it is not read.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "FORBIDDEN_WORDING",
    "FORBIDDEN_WORDING_NL",
    "forbidden_wording",
    "DEFERENTIAL_VERBS",
    "normalised",
    "without_quotations",
    "problems",
    "QUOTING_ALLOWED",
    "DIRECTIVES",
    "directive_problems",
]

# Cyrillic and Greek letters that are drawn like Latin ones (the confusables a reader cannot tell apart).
_LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "һ": "h",
        "ӏ": "l",
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "У": "Y",
        "Х": "X",
        "Ѕ": "S",
        "І": "I",
        "Ј": "J",
        "Ԁ": "D",
        "Ԛ": "Q",
        "Ԝ": "W",
        "Һ": "H",
        "Ӏ": "I",
        # Greek
        "α": "a",
        "β": "b",
        "γ": "y",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ς": "c",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
    }
)
_INVISIBLE = {"Cf", "Cc", "Mn"}  # format characters (soft hyphen, zero-width...), controls, combining marks


def normalised(text: str) -> str:
    """The text as a reader sees it: no invisible characters, look-alike letters read as Latin,
    accents set aside, every dash a hyphen and every run of white space one space."""
    text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)
    text = unicodedata.normalize("NFKD", re.sub(r"\s+", " ", text))
    text = "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE)
    return re.sub(r"[\u2010-\u2015\u2212]", "-", text)


_QUOTED = re.compile(r'"[^"\n]*"|“[^”\n]*”|«[^»\n]*»|„[^“”\n]*[“”]')


def without_quotations(text: str) -> str:
    """The text with sources quoted as written left out."""
    return _QUOTED.sub(" ", text)


_ADVERB = r"(?:completely |perfectly |entirely |generally |probably |likely |definitely |now |still )?"
FORBIDDEN_WORDING = [
    (
        re.compile(
            rf"\b(?:is|are|be|being|been|as|seems?|considered|deemed|appears?|remains?|looks?|judged|found) {_ADVERB}safe\b"
            r"|\bsafe (?:to|for|enough)\b|\bsafely\b|\brisk-? ?free\b|\b(?:no|zero) risk\b(?! factors?)",
            re.IGNORECASE,
        ),
        "declares something safe",
    ),
    (
        re.compile(
            r"\b(?:in)?eligib(?:le|ility)\b|\bcleared\b|\bclear(?:ed)? (?:to|for) (?:proceed|go|dose|dosing|take part|participate|the session)\b"
            r"|\bapprove[ds]?\b|\bfit (?:to|for)\b|\b(?:good|suitable|ideal|poor|unsuitable|appropriate|strong|excellent) candidate\b"
            r"|\b(?:un)?suitable (?:for|to) (?:the session|a session|dosing|treatment|therapy|psilocybin|mdma|ketamine|lsd|ayahuasca|dmt)\b"
            r"|\bgreen[- ]light\b|\bgood to go\b|\ball[- ]clear\b|\bok(?:ay)? to (?:proceed|go|dose|take part|participate)\b"
            r"|\bno contraindications?\b|\bnot contraindicated\b|\bpasse[ds] (?:the )?screening\b|\bscreened (?:in|out)\b"
            r"|\bno (?:concerns|issues|problems|red flags) (?:found|identified|detected)\b",
            re.IGNORECASE,
        ),
        "declares eligibility",
    ),
    (
        re.compile(
            r"\bdo not (?:proceed|dose|administer|enrol|enroll|include|allow|treat|accept)\b|\bmust not\b|\bmust\b|\bshall\b"
            r"|\b(?:exclude|disqualify|refuse|reject)\b|\bdose as planned\b|\bproceed (?:as planned|with (?:the session|dosing|the dose|treatment))\b"
            r"|\b(?:can|may|should) (?:safely )?(?:proceed|go ahead|be dosed)\b|\bgo ahead\b"
            r"|\bshould not (?:take part|participate|proceed|be dosed|receive|be given)\b|\bnot (?:allowed|permitted) to\b"
            r"|\bcancel the session\b",
            re.IGNORECASE,
        ),
        "gives a directive",
    ),
]
# The same three kinds of wording in Dutch, read on the Dutch catalogue (``screening i18n check``).
_BIJWOORD = r"(?:volkomen |volledig |helemaal |nu |nog |waarschijnlijk |zeker )?"
FORBIDDEN_WORDING_NL = [
    (
        re.compile(
            rf"\b(?:is|zijn|lijkt|lijken|blijkt|blijken|wordt|worden|geacht|beschouwd als|als) {_BIJWOORD}veilig\b"
            r"|\bveilig (?:om|voor|genoeg)\b|\bzonder risico\b|\bgeen risico\b(?!factor)|\brisicovrij\b",
            re.IGNORECASE,
        ),
        "declares something safe",
    ),
    (
        re.compile(
            r"\b(?:on)?geschikt(?:heid)?\b|\bgoedgekeurd\b|\bgoedkeuren\b|\bgoedkeuring\b|\btoegelaten\b|\bgroen licht\b"
            r"|\bgeen contra-?indicaties?\b|\bniet gecontra-?indiceerd\b|\bgeslaagd voor\b|\bin orde om\b",
            re.IGNORECASE,
        ),
        "declares eligibility",
    ),
    (
        re.compile(
            r"\bmag niet\b|\bmogen niet\b|\bmoet(?:en)?\b|\bniet toegestaan\b|\bverboden\b|\buitsluiten\b|\bweigeren\b"
            r"|\bafwijzen\b|\bga door\b|\bdoorgaan met\b|\bmag (?:doorgaan|deelnemen|meedoen)\b|\bkan (?:veilig )?doorgaan\b"
            r"|\bniet (?:geven|toedienen|combineren)\b|\bnooit (?:geven|combineren|gebruiken|toedienen)\b"
            r"|\b(?:sessie|de sessie) (?:afzeggen|annuleren)\b",
            re.IGNORECASE,
        ),
        "gives a directive",
    ),
]


def forbidden_wording(lang: str = "en") -> list[tuple[re.Pattern[str], str]]:
    """The verdict and directive phrases read in a language ('en' or 'nl')."""
    return FORBIDDEN_WORDING_NL if lang == "nl" else FORBIDDEN_WORDING


DEFERENTIAL_VERBS = re.compile(
    r"\b(consider|review|discuss|confirm|check|ask|explore|assess|plan|clarify|verify|talk|weigh|offer|agree|look)\b",
    re.IGNORECASE,
)
# The texts in which a source may be quoted as written (inside double quotation marks).
QUOTING_ALLOWED = frozenset({"explanation", "limitations"})


def problems(texts: dict[str, str], lang: str = "en") -> list[tuple[str, str, str]]:
    """(text name, what it does, the words found) for each text that declares or directs.

    ``texts`` maps a name such as ``summary`` or ``limitations[0]`` to the text; ``lang`` the
    language they are written in (English by default; Dutch has its own phrase list).
    """
    found = []
    for name, text in texts.items():
        readable = normalised(text)
        if name.split("[")[0] in QUOTING_ALLOWED:
            readable = without_quotations(readable)
        for pattern, what in forbidden_wording(lang):
            hit = pattern.search(readable)
            if hit:
                found.append((name, what, hit.group(0)))
    return found


# ---------------------------------------------------------------------------- directives, with a fix (issue 15)
#
# Orders and verdicts that reviewers found slipping past the list above ("do not give MDMA",
# "not suitable for MDMA", "Never combine", "Should not be given", "Proceed with the session"),
# each with how to say it instead. Kept apart from FORBIDDEN_WORDING so each list reads on its own.

_VERB = r"(?:give|giving|use|take|combine|start|offer|dose|administer|prescribe|mix|hold|run|go)"

# (pattern, what it does, how to say it instead)
DIRECTIVES = [
    (
        re.compile(rf"\bdo(?:es)? not {_VERB}\b|\bdon'?t {_VERB}\b", re.IGNORECASE),
        "gives an order",
        "say what the finding means and what to review, e.g. 'review whether to give ... with the prescriber'",
    ),
    (
        re.compile(
            r"\b(?:not |un)suitable\b|\bnot (?:appropriate|a candidate|a good candidate)\b|\binappropriate for\b", re.IGNORECASE
        ),
        "passes a verdict on the participant",
        "describe the finding and its risk; suitability is the clinician's judgement",
    ),
    (
        re.compile(rf"\bnever {_VERB}\b", re.IGNORECASE),
        "gives an order",
        "attribute it to the sources, e.g. 'the sources treat combining X and Y as contraindicated; review ...'",
    ),
    (
        re.compile(r"\bshould(?: not|n'?t| never)\b", re.IGNORECASE),
        "gives an order",
        "say who advises it and why, e.g. 'the label advises against ...', or what to consider",
    ),
    (
        re.compile(r"\bproceed(?:s|ed|ing)?\b|\bgo ahead with the session\b", re.IGNORECASE),
        "decides whether the session goes on",
        "leave that decision to the clinician: say what to review before the session",
    ),
    (
        re.compile(
            r"\b(?:is|are) (?:contraindicated|ruled out) for (?:this|the) (?:participant|person|patient)\b", re.IGNORECASE
        ),
        "passes a verdict on the participant",
        "say what the sources contraindicate ('the label contraindicates X with Y'), not what the person is",
    ),
]


def directive_problems(text: str, quoting_allowed: bool = False) -> list[str]:
    """A message for each directive or verdict phrase in ``text``: the phrase, why, the fix.

    Read as :func:`problems` reads (normalised; a quoted source exempt where quoting is allowed)."""
    readable = normalised(text)
    if quoting_allowed:
        readable = without_quotations(readable)
    found = []
    for pattern, what, fix in DIRECTIVES:
        hit = pattern.search(readable)
        if hit:
            found.append(f"{hit.group(0)!r} {what}; {fix}")
    return found
