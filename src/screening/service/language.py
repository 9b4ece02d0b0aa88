"""The language of a service call's cards: the request's ``Accept-Language``, else the service's own.

CDS Hooks 2.0 gives a hook request no language field (§"HTTP Request",
https://cds-hooks.hl7.org/2.0/#http-request_1, lists hook, hookInstance, fhirServer,
fhirAuthorization, context and prefetch), so the language is chosen the way HTTP chooses one:
content negotiation on ``Accept-Language`` (RFC 9110 §12.5.4, with quality values as in
§12.4.2). A header that names no language we have, or none at all, gives the service's
language (``serve --lang``, English by default); a malformed header is read as absent, never
an error, since the cards are the same findings in any language.
"""

from __future__ import annotations

import re

from ..i18n import DEFAULT_LANGUAGE, LANGUAGES, checked_language

__all__ = ["negotiated_language"]

# language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*"   (RFC 4647 §2.1, used by RFC 9110 §12.5.4)
_RANGE = re.compile(r"\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
# qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )   (RFC 9110 §12.4.2)
_QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")


def _ranges(header: str) -> list[tuple[str, float]] | None:
    """The header's (range, weight) pairs in their order; ``None`` when it is malformed."""
    ranges: list[tuple[str, float]] = []
    for element in header.split(","):
        element = element.strip()
        if not element:
            continue  # RFC 9110 §5.6.1: empty list elements are allowed and ignored
        lang_range, *params = (part.strip() for part in element.split(";"))
        if not _RANGE.fullmatch(lang_range):
            return None
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() != "q" or not _QVALUE.fullmatch(value.strip()):
                return None
            weight = float(value)
        ranges.append((lang_range.lower(), weight))
    return ranges


def negotiated_language(header: str | None, default: str | None = None) -> str:
    """The best of the available languages for an ``Accept-Language`` header.

    A language's weight comes from the range naming it exactly ("nl"), else from the heaviest
    range with its primary subtag ("nl-BE", as a lookup that truncates the range would), else from
    "*". Weight 0 means "not acceptable". Ties go to the range listed first, then to ``default``.
    When none is acceptable: ``default``, or English if the header refuses ``default`` (q=0).
    """
    fallback = checked_language(default)
    ranges = _ranges(header or "")
    if not ranges:
        return fallback
    weights: dict[str, tuple[float, int]] = {}
    for lang in LANGUAGES:
        exact = [(q, i) for i, (r, q) in enumerate(ranges) if r == lang]
        sub = sorted(((q, i) for i, (r, q) in enumerate(ranges) if r.split("-")[0] == lang), key=lambda qi: (-qi[0], qi[1]))
        star = [(q, i) for i, (r, q) in enumerate(ranges) if r == "*"]
        found = exact[:1] or sub[:1] or star[:1]
        if found:
            weights[lang] = found[0]
    acceptable = [(-q, i, lang != fallback, lang) for lang, (q, i) in weights.items() if q > 0]
    if acceptable:
        return min(acceptable)[3]
    refused = {lang for lang, (q, _) in weights.items() if q <= 0}
    if fallback in refused and DEFAULT_LANGUAGE not in refused:
        return DEFAULT_LANGUAGE  # the service's language refused outright: the source language
    return fallback
