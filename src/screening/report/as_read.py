"""The medications as read and a few answers at a glance: what a clinician checks first.

A rule only shows the lines it used; a clinician also needs to confirm that "Eliquis 5mg" was read
as apixaban and see what was read as nothing at all (ibuprofen, weed), so every line is listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .parts import AnswersOverview, DrugRead, Flag, MedicationRead, MissingItem, built

if TYPE_CHECKING:
    from ..intake.medications import Vocabulary
    from ..intake.models import Intake

__all__ = ["medications_read", "answers_overview"]


def _used_by(flags: list[Flag]) -> dict[tuple[str, str], list[str]]:
    """(participant, line as written) -> the rules whose evidence names that line."""
    used: dict[tuple[str, str], list[str]] = {}
    for flag in flags:
        for item in flag.evidence:
            if item.field == "medications" and item.line:
                for written in item.line.split("; "):
                    rules = used.setdefault((item.participant, written), [])
                    if flag.rule_id not in rules:
                        rules.append(flag.rule_id)
    return used


def medications_read(intake: Intake, vocabulary: Vocabulary, flags: list[Flag]) -> list[MedicationRead]:
    """Every medication line of every participant, in intake order, with how it was read."""
    used = _used_by(flags)
    out = []
    for participant in intake.participants:
        pid = participant.participant_id
        for med in participant.medications:
            drugs, words, unread = vocabulary.remembered("as-read", med.name, lambda line: _line_read(vocabulary, line))
            aside = [*words, f"dose as written: {med.dose}", *unread] if med.dose else [*words, *unread]
            out.append(
                built(
                    MedicationRead,
                    {
                        "participant": pid,
                        "written": med.name,
                        "status": med.status,
                        "last_taken": med.last_taken,
                        "drugs": list(drugs),
                        "set_aside": aside,
                        "used_by": used.get((pid, med.name), []),
                    },
                    in_order=True,
                )
            )
    return out


def _line_read(vocabulary: Vocabulary, written: str) -> tuple[tuple[DrugRead, ...], tuple[str, ...], tuple[str, ...]]:
    """What a line's reading alone gives (remembered per vocabulary: lines recur): the drugs read,
    the words set aside, and what was not understood (without the set-aside words)."""
    labels = vocabulary.class_labels
    drugs = tuple(
        built(
            DrugRead,
            {
                "written": m.written,
                "status": m.status,
                "read_as": m.entry.generic if m.entry else None,
                "classes": [labels.get(c, c) for c in m.classes],
            },
            in_order=True,
        )
        for m in vocabulary.match_all(written)
    )
    words = vocabulary.set_aside(written)
    unread = tuple(
        "not understood: " + (" ".join(w for w in drug.written.split() if w not in words) or drug.written)
        for drug in drugs
        if drug.status == "unrecognised"
    )
    return drugs, ((" ".join(words),) if words else ()), unread


def answers_overview(intake: Intake, missing: list[MissingItem]) -> list[AnswersOverview]:
    """Per participant: blood pressure, weight, planned dose (per kg where both are known), questions left open."""
    out = []
    for participant in intake.participants:
        physical, weight = participant.physical, participant.person.weight_kg
        if physical.systolic_bp is not None or physical.diastolic_bp is not None:
            pressure = f"{_or_unknown(physical.systolic_bp)}/{_or_unknown(physical.diastolic_bp)} mmHg"
        else:
            pressure = None
        dose = participant.plan.dose_mg
        out.append(
            built(
                AnswersOverview,
                {
                    "participant": participant.participant_id,
                    "bp_mmhg": pressure,
                    "weight_kg": weight,
                    "dose_mg": dose,
                    "dose_mg_per_kg": round(dose / weight, 2) if dose is not None and weight else None,
                    "left_open": sum(1 for m in missing if m.participant == participant.participant_id),
                },
                in_order=True,
            )
        )
    return out


def _or_unknown(value: int | None) -> str:
    return "?" if value is None else str(value)
