"""The intake: what each participant answered, and how it is read.

``models`` (the pydantic models of an intake), ``reading`` (strict JSON and YAML), ``fields`` (the
catalogue of answers the rules may read) and ``medications`` (the vocabulary and how a written
medication line is read). The lowest layer: it imports nothing else of the package.
"""

from .models import (
    PARTICIPANT_ID_PATTERN,
    RESERVED_PARTICIPANT_IDS,
    Answer,
    FamilyHistory,
    Intake,
    Medication,
    MedicationUse,
    Needs,
    Participant,
    Person,
    Physical,
    Plan,
    Psychiatric,
    Readiness,
    Relationship,
    Session,
    Substance,
)

__all__ = [
    "Answer",
    "Substance",
    "Intake",
    "Session",
    "Participant",
    "Person",
    "Psychiatric",
    "FamilyHistory",
    "Physical",
    "Needs",
    "Readiness",
    "Plan",
    "Relationship",
    "Medication",
    "MedicationUse",
    "PARTICIPANT_ID_PATTERN",
    "RESERVED_PARTICIPANT_IDS",
]
