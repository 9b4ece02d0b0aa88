"""The one function the templates' strings go through, so they can later be joined to the
gettext catalogues (screening.i18n). English is the identity; Dutch covers the consent page."""

from __future__ import annotations

_DUTCH = {
    "Before you start": "Voordat u begint",
    "What is asked": "Wat er gevraagd wordt",
    "Questions about your health, your medications and your plans for the session, so that a clinician can review "
    "what may need attention before it.": "Vragen over uw gezondheid, uw medicatie en uw plannen voor de sessie, zodat een "
    "behandelaar kan nagaan wat vooraf aandacht nodig heeft.",
    "Who reads it": "Wie het leest",
    "Your facilitator and the clinician they work with. The screening decides nothing; a person reviews every point.": (
        "Uw begeleider en de behandelaar met wie die werkt. De screening beslist niets; een mens beoordeelt elk punt."
    ),
    "The other participant never sees your answers.": "De andere deelnemer ziet uw antwoorden nooit.",
    "How long it is kept": "Hoe lang het bewaard wordt",
    "Until your facilitator deletes the screening. You can download your own answers at any time.": (
        "Tot uw begeleider de screening verwijdert. U kunt uw eigen antwoorden altijd downloaden."
    ),
    "I understand, start": "Ik begrijp het, beginnen",
    "Something to correct? You can reopen your answers until your facilitator has reviewed them.": (
        "Iets te verbeteren? U kunt uw antwoorden heropenen tot uw begeleider ze heeft beoordeeld."
    ),
    "Correct my answers": "Mijn antwoorden verbeteren",
}

LANGUAGES = ("en", "nl")


def translate(text: str, language: str = "en") -> str:
    """``text`` in ``language``; English (and anything not yet translated) as written."""
    if language == "nl":
        return _DUTCH.get(text, text)
    return text
