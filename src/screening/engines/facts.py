"""Intake -> what the rules read: complete values for the reference evaluator, sparse facts
for durable_rules.

Both come from one pass over the intake so they cannot disagree on an answer. Medications are
resolved here, in Python, to classes and "days since the last dose" counted to the planned
session date; a medication whose timing is unknown counts as current (unknown is never read
as the safer answer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from pydantic import BaseModel

from ..intake.fields import FOLLOW_UPS, PARTICIPANT_GROUPS, catalogue
from ..intake.medications import Match, Vocabulary
from ..intake.models import Intake, Participant, Relationship, Session
from ..rulebook.conditions import COUNTS, Dose, Values

__all__ = ["ParticipantFacts", "build", "to_fact"]

FACT_TYPE = "p"


@dataclass
class ParticipantFacts:
    values: Values
    matches: list[Match]  # every drug read from the listed medications, in the order written


def _days_before(reference: dt.date, last: dt.date) -> int:
    return max(0, (reference - last).days)


_Medications = tuple[dict[str, int], dict[str, int], dict[str, list[str]], list[Match], dict[str, list[str]], tuple[Dose, ...]]


def _medication_values(participant: Participant, vocabulary: Vocabulary, reference: dt.date) -> _Medications:
    """Days since the last dose per class (and per class stopped without the prescriber), the
    names as written per class, every drug read, notes on what could not be read, the doses."""
    taking: dict[str, int] = {}
    stopped_on_own: dict[str, int] = {}
    names: dict[str, list[str]] = {}
    doses: list[Dose] = []
    matches: list[Match] = []
    timing_unknown: list[str] = []
    unrecognised: list[str] = []
    unconfirmed: list[str] = []
    for medication in participant.medications:
        line_matches = vocabulary.match_all(medication.name)
        matches.extend(line_matches)
        for match in line_matches:
            where = "" if match.written == medication.name else f" (in {medication.name!r})"
            if match.status == "unrecognised":
                unrecognised.append(match.written + where)
            elif match.status == "unconfirmed" and match.entry:
                unconfirmed.append(f"{match.written} (read as {match.entry.generic}){where}")
        if medication.status == "current":
            days = 0
        elif medication.status == "stopped" and medication.last_taken is not None:
            days = _days_before(reference, medication.last_taken)
        else:
            timing_unknown.append(medication.name)
            days = 0
        doses += [Dose(m.entry.generic, m.written, frozenset(m.classes), days) for m in line_matches if m.entry]
        for cls in dict.fromkeys(c for match in line_matches for c in match.classes):
            taking[cls] = min(days, taking.get(cls, days))
            names.setdefault(cls, []).append(medication.name)
            if medication.status == "stopped" and medication.stopped_with_prescriber != "yes":
                stopped_on_own[cls] = min(days, stopped_on_own.get(cls, days))
    notes = {
        "medications.listed": [medication.name for medication in participant.medications],
        "medications.unrecognised": unrecognised,
        "medications.unconfirmed_match": unconfirmed,
        "medications.timing_unknown": timing_unknown,
    }
    return taking, stopped_on_own, names, matches, notes, tuple(doses)


def _applies(path: str, fields: dict[str, Any]) -> bool:
    """A follow-up question applies unless the answer it follows rules it out."""
    if path not in FOLLOW_UPS:
        return True
    parent, values = FOLLOW_UPS[path]
    return fields.get(parent) in values


@cache
def _readable_fields() -> tuple[tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]], tuple[str, ...]], ...]:
    """For the session and each participant section: its attribute, a getter of the answers a
    rule can read (from the section's ``__dict__``) and their dotted paths. Worked out once; the
    fact builder runs on every screening."""
    groups: list[tuple[str, type[BaseModel]]] = [("session", Session), *PARTICIPANT_GROUPS.items()]
    out = []
    for group, model in groups:
        names = [name for name in model.model_fields if f"{group}.{name}" in catalogue()]
        getter = itemgetter(*names) if len(names) > 1 else _one_or_none(names)
        out.append((group, getter, tuple(f"{group}.{name}" for name in names)))
    return tuple(out)


def _one_or_none(names: list[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A getter for a section with one readable answer, or none (``itemgetter`` needs two for a tuple)."""
    if not names:
        return lambda answers: ()
    name = names[0]
    return lambda answers: (answers[name],)


@cache
def _no_relationship() -> Relationship:
    """Outside a duo there is no relationship section: every answer unknown."""
    return Relationship()


@lru_cache(maxsize=64)
def _in_order(asked: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(asked))


def _session_fields(session: Session) -> dict[str, Any]:
    (_, getter, paths), *_ = _readable_fields()
    return {path: getattr(value, "value", value) for path, value in zip(paths, getter(session.__dict__), strict=True)}


def _participant_values(
    session: dict[str, Any], participant: Participant, vocabulary: Vocabulary, reference: dt.date, asked: frozenset[str]
) -> ParticipantFacts:
    fields = dict(session)
    for group, getter, paths in _readable_fields()[1:]:
        section = getattr(participant, group)
        if section is None:  # no relationship section outside a duo: every answer unknown
            section = _no_relationship()
        fields.update(zip(paths, getter(section.__dict__), strict=True))
    dose, weight = fields.get("plan.dose_mg"), fields.get("person.weight_kg")
    fields["plan.dose_mg_per_kg"] = round(dose / weight, 3) if dose is not None and weight else None
    taking, stopped_on_own, names, matches, notes, doses = _medication_values(participant, vocabulary, reference)
    ordered = _in_order(asked)
    notes["intake.unanswered_questions"] = [
        path
        for path, answer in zip(ordered, map(fields.get, ordered), strict=True)  # None: unanswered (or not asked)
        if (answer is None or answer == "unknown") and _applies(path, fields)
    ]
    for path, items in notes.items():
        fields[path] = len(items)
    values = Values(participant.participant_id, fields, taking, stopped_on_own, names, notes, vocabulary.class_labels, doses)
    return ParticipantFacts(values, matches)


def build(
    intake: Intake, vocabulary: Vocabulary, reference: dt.date, asked: frozenset[str] = frozenset()
) -> list[ParticipantFacts]:
    """Values for every participant, in intake order. ``asked``: the questions the rules read."""
    session = _session_fields(intake.session)
    return [_participant_values(session, p, vocabulary, reference, asked) for p in intake.participants]


@cache
def _fact_keys() -> dict[str, tuple[str, bool]]:
    return {path: (spec.key, spec.kind == "answer") for path, spec in catalogue().items()}


@lru_cache(maxsize=256)  # one entry per (substance, format) of each rulebook and program in use
def _fact_plan(reads: frozenset[str] | None) -> tuple[tuple[tuple[str, str, bool], ...], tuple[tuple[str, Any], ...]]:
    """The answers and counts a fact carries: every one, or (``reads``) only those some rule
    tests, worked out once per set of rules rather than filtered field by field per screening."""
    answers = tuple((path, key, is_answer) for path, (key, is_answer) in _fact_keys().items() if reads is None or key in reads)
    counts = tuple((key, spec) for key, spec in COUNTS.items() if reads is None or key in reads)
    return answers, counts


def to_fact(values: Values, reads: frozenset[str] | None = None) -> dict[str, Any]:
    """The sparse durable_rules fact: 'no' answers and unanswered numbers are left out, and with
    ``reads`` every field no rule tests (it changes no outcome, and costs the engine parsing)."""
    fact: dict[str, Any] = {"type": FACT_TYPE, "pid": values.pid}
    answers, counts = _fact_plan(reads)
    fields = values.fields
    for path, key, is_answer in answers:
        value = fields.get(path)
        if value is None or (is_answer and value == "no"):
            continue
        fact[key] = value
    for cls, days in values.taking.items():
        key = f"med__{cls}"
        if reads is None or key in reads:
            fact[key] = days
    for cls, days in values.stopped_on_own.items():
        key = f"selfstop__{cls}"
        if reads is None or key in reads:
            fact[key] = days
    for key, spec in counts:
        fact[key] = _count(spec, values.doses)
    return fact


def _count(spec: tuple[str, tuple[str, ...], int, int], doses: tuple[Dose, ...]) -> int:
    """A count the rules read, for durable_rules (the reference evaluator counts on its own)."""
    what, classes, after, within = spec
    wanted = set(classes)
    dosed = [d for d in doses if within >= d.days >= after]
    if what == "classes":
        return len({c for d in dosed for c in d.classes} & wanted)
    return len({d.generic for d in dosed if not wanted.isdisjoint(d.classes)})
