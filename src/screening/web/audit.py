"""The web app's audit entries in the reader's language.

An entry is stored as its English sentence's template and the parts that fill it (JSON), never
as finished text, so the audit page shows it in the facilitator's language while the record
itself stays one fixed template per event. Entries written before this (plain English text)
are shown as they are. The parts are labels, counts, short digests and titles: never an answer.
"""

from __future__ import annotations

import json
from typing import Any

from ..i18n import N_, Translator

__all__ = ["entry", "shown", "EVENTS"]

# The events, in the catalogue (marked here so that `screening i18n extract` finds them).
EVENTS = {
    "created": N_("created ({title}; program {program}; links for {labels})"),
    "new-link": N_("new link for {label} (the old one no longer works)"),
    "revoked": N_("link of {label} revoked"),
    "released": N_("own copy released to {label}"),
    "decided": N_("{count} decision(s) recorded on report {report}"),
    "deleted": N_("deleted: answers and report removed (sha256 of each participant's answers: {digests})"),
    "reopened": N_("reopened their answers for a correction"),
    "submitted": N_("submitted"),
    "failed": N_("the screening could not be completed: no report (ask for help; nothing is screened)"),
    "screened": N_("screened: report {report}, intake sha256 {intake}, {flags} flag(s)"),
    "rescreened": N_(
        "screened: report {report}, intake sha256 {intake}, {flags} flag(s); re-screened after a correction, replaces {previous}"
    ),
    "participant": N_("participant {label}"),
    "screening": N_("screening"),
}


def entry(event: str, **parts: Any) -> str:
    """An entry as stored: the event's English template and its parts (JSON)."""
    return json.dumps({"text": EVENTS[event], "parts": parts}, ensure_ascii=False, sort_keys=True)


def shown(stored: str, _: Translator) -> str:
    """An entry (or an actor) as the reader's language writes it; plain text as it was stored."""
    if not stored.startswith("{"):
        return stored
    try:
        data = json.loads(stored)
        return str(_(data["text"]).format(**data["parts"]))
    except (ValueError, KeyError, TypeError, IndexError):
        return stored
