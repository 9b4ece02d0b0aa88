"""The catalogue of intake fields a rule can read, derived from the intake models.

Each field has a dotted path (``psychiatric.psychotic_disorder``), a kind that decides which
comparisons make sense, the question as asked, and two flags: ``private`` (the person's
answers about the other participant) and ``duo_only``. The rule language, the fact builder,
the documentation and the FHIR questionnaire all read this one catalogue, so a field exists
for all of them or for none.
"""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass
from functools import cache

from pydantic import BaseModel

from . import models as intake

__all__ = ["FieldSpec", "catalogue", "DERIVED_COUNTS", "DERIVED_NUMBERS", "FOLLOW_UPS", "PARTICIPANT_GROUPS"]

# Participant sections, in the order an intake asks them.
PARTICIPANT_GROUPS: dict[str, type[BaseModel]] = {
    "person": intake.Person,
    "psychiatric": intake.Psychiatric,
    "family_history": intake.FamilyHistory,
    "physical": intake.Physical,
    "needs": intake.Needs,
    "readiness": intake.Readiness,
    "plan": intake.Plan,
    "relationship": intake.Relationship,
    "medication_use": intake.MedicationUse,  # asked just before the medication list
}

# Fields computed from the medication list rather than asked; always known (a count).
DERIVED_COUNTS: dict[str, str] = {
    "medications.listed": "How many medications or substances were listed.",
    "medications.unrecognised": "How many listed medications or substances the vocabulary did not recognise.",
    "medications.unconfirmed_match": "How many listed names were matched only approximately (a likely misspelling) and need confirming.",
    "medications.timing_unknown": "How many listed medications have no answer on whether they are current or when they were last taken.",
    "intake.unanswered_questions": "How many questions that the rules for this session read were left unanswered or answered unsure.",
}

# Numbers computed from two answers rather than asked; empty when either answer is missing.
DERIVED_NUMBERS: dict[str, str] = {
    "plan.dose_mg_per_kg": "The planned dose in mg per kg of body weight (computed from the planned dose in mg and the weight).",
}


# Follow-up questions: asked only when an earlier answer is one of these values. When the earlier
# answer rules the follow-up out, it is not counted as unanswered.
FOLLOW_UPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "psychiatric.psychosis_substance_induced_only": ("psychiatric.psychotic_disorder", ("yes", "unknown")),
    "person.pregnant": ("person.can_become_pregnant", ("yes", "unknown")),
    "plan.dose_mg": ("plan.dose_unit", ("mg_active_substance", "unknown")),
    "plan.dose_grams": ("plan.dose_unit", ("g_dried_mushrooms", "g_fresh_mushrooms", "g_truffles", "unknown")),
    "person.contraception_after_session": ("person.can_become_pregnant", ("yes", "unknown")),
}


@dataclass(frozen=True)
class FieldSpec:
    path: str  # dotted path as written in rules, e.g. "physical.systolic_bp"
    kind: str  # "answer" | "enum" | "number" | "count"
    question: str
    choices: tuple[str, ...] = ()
    private: bool = False  # a duo participant's answers about the other person
    duo_only: bool = False
    session: bool = False  # part of the shared session plan
    derived: bool = False  # computed from other answers, never asked itself

    @property
    def key(self) -> str:
        """The flat key used in engine facts (no dots: durable_rules reads dots as nesting)."""
        return self.path.replace(".", "__")


def kind_of(annotation: object) -> tuple[str, tuple[str, ...]]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return kind_of(args[0])
    if origin is typing.Literal:
        values = tuple(str(a) for a in args)
        if set(values) == {"yes", "no", "unknown"}:
            return "answer", values
        return "enum", values
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        real = [a for a in args if a is not type(None)]
        if len(real) == 1:
            return kind_of(real[0])
    if annotation in (int, float):
        return "number", ()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "enum", tuple(member.value for member in annotation)
    return "other", ()


def _model_fields(prefix: str, model: type[BaseModel], **flags: bool) -> list[FieldSpec]:
    specs = []
    for name, info in model.model_fields.items():
        kind, choices = kind_of(info.annotation)
        if kind == "other":
            continue  # dates and free text are not rule inputs
        specs.append(
            FieldSpec(
                path=f"{prefix}.{name}",
                kind=kind,
                question=info.description or name,
                choices=choices,
                **flags,
            )
        )
    return specs


@cache
def catalogue() -> dict[str, FieldSpec]:
    """Every field a rule may read, by dotted path."""
    specs = _model_fields("session", intake.Session, session=True)
    for group, model in PARTICIPANT_GROUPS.items():
        is_relationship = group == "relationship"
        specs += _model_fields(group, model, private=is_relationship, duo_only=is_relationship)
    specs += [FieldSpec(path=path, kind="number", question=text, derived=True) for path, text in DERIVED_NUMBERS.items()]
    specs += [FieldSpec(path=path, kind="count", question=text) for path, text in DERIVED_COUNTS.items()]
    return {spec.path: spec for spec in specs}
