"""Languages: the library's own texts and the rule texts, read from gettext catalogues.

The catalogues are standard ``.po`` files under ``locales/<lang>/LC_MESSAGES/`` (managed with
Babel: ``screening i18n extract|update|check``), compiled to ``.mo`` and read here with the
standard library's :mod:`gettext`, so the core needs nothing extra at run time. The message id is
the English text itself: a changed English text is a new id, and Babel marks the old
translation as needing review (fuzzy). A text with no translation falls back to English,
marked so that a reader knows it was not translated; it is never left blank.

The Dutch translation has not been reviewed by a Dutch-speaking clinician (the catalogue's
header says so); nothing here records such a review.
"""

from __future__ import annotations

import datetime as dt
import gettext
import hashlib
import json
from functools import cache
from pathlib import Path

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "DOMAIN",
    "LOCALES",
    "UnknownLanguage",
    "checked_language",
    "Translator",
    "translator",
    "N_",
    "format_date",
    "catalogue_sha256",
]

DEFAULT_LANGUAGE = "en"
# English is the source language; every other language has a catalogue.
LANGUAGES = ("en", "nl")
DOMAIN = "screening"
LOCALES = Path(__file__).parent / "locales"
# What a text with no translation is marked with, in the language it was asked for.
_UNTRANSLATED = {"nl": "[nog niet vertaald] "}
_MONTHS = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    )
}


class UnknownLanguage(ValueError):
    """A language with no catalogue: a usage error that names the ones there are.

    A plain ValueError: this package sits beside ``errors`` in the bottom layer and imports nothing of the library."""

    def __init__(self, lang: str) -> None:
        super().__init__(f"no translation for language {lang!r}; available: {', '.join(LANGUAGES)}")


def checked_language(lang: str | None) -> str:
    """The language code, lower case; ``None`` is English. Unknown ones are refused."""
    code = (lang or DEFAULT_LANGUAGE).strip().lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGES:
        raise UnknownLanguage(str(lang))
    return code


def N_(text: str) -> str:
    """Marks a text for extraction where it is defined; it is translated where it is shown."""
    return text


class _MarkedFallback(gettext.NullTranslations):
    """English, marked as untranslated (and counted), for an id the catalogue lacks or leaves empty."""

    def __init__(self, mark: str) -> None:
        super().__init__()
        self.mark = mark
        self.missing: set[str] = set()

    def gettext(self, message: str) -> str:
        if not message:
            return message
        self.missing.add(message)
        return self.mark + message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.gettext(msgid1 if n == 1 else msgid2)


class Translator:
    """One language's texts: ``t("English text")`` gives the translation."""

    def __init__(self, lang: str) -> None:
        self.lang = checked_language(lang)
        self._fallback: _MarkedFallback | None = None
        if self.lang == DEFAULT_LANGUAGE:
            self._catalogue: gettext.NullTranslations = gettext.NullTranslations()
        else:
            self._fallback = _MarkedFallback(_UNTRANSLATED.get(self.lang, f"[{DEFAULT_LANGUAGE}] "))
            with (LOCALES / self.lang / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as handle:
                self._catalogue = gettext.GNUTranslations(handle)
            self._catalogue.add_fallback(self._fallback)

    def __call__(self, text: str) -> str:
        return self._catalogue.gettext(text) if text else text

    def plural(self, singular: str, plural: str, n: int) -> str:
        return self._catalogue.ngettext(singular, plural, n)

    def has(self, text: str) -> bool:
        """Whether the catalogue translates this text (English always does)."""
        if self._fallback is None:
            return True
        self(text)
        return text not in self._fallback.missing

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self(text)

    def date(self, day: dt.date) -> str:
        return format_date(day, self.lang)


@cache
def translator(lang: str | None = None) -> Translator:
    """The (shared) translator for a language; an unknown language raises :class:`UnknownLanguage`."""
    return Translator(checked_language(lang))


def format_date(day: dt.date, lang: str | None = None) -> str:
    """A date as a reader of the language writes it: ISO in English (as before), '1 november 2026' in Dutch."""
    code = checked_language(lang)
    if code in _MONTHS:
        return f"{day.day} {_MONTHS[code][day.month - 1]} {day.year}"
    return day.isoformat()


def catalogue_sha256(lang: str) -> tuple[str, int]:
    """The content hash of a language's compiled catalogue (every English text and its translation,
    not the header) and how many translations it holds: what a translation check signs off."""
    code = checked_language(lang)
    if code == DEFAULT_LANGUAGE:
        raise UnknownLanguage(code)  # English is the source: there is no catalogue to check
    with (LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    pairs = sorted((str(k), v) for k, v in catalogue._catalog.items() if k != "")  # type: ignore[attr-defined]
    text = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), len(pairs)
