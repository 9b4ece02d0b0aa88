"""Review records as stored: one JSON object per line in ``reviews.jsonl`` beside the rule files.

Below the rulebook loader, which reads them to mark each rule's review state; what a record
means for a rule (its content hash, its state) is :mod:`screening.rulebook.review`.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any, Literal, TypeGuard, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from ..errors import Problem

__all__ = [
    "REVIEWS_FILE",
    "ReviewDecision",
    "DECISIONS",
    "ChecklistItem",
    "CHECKLIST",
    "ChecklistAnswer",
    "is_item",
    "is_answer",
    "ReviewRecord",
    "read_records",
    "ROLES",
    "CORE_ITEMS",
    "control_character",
    "TRANSLATION_REVIEWS_FILE",
    "TranslationItem",
    "TRANSLATION_CHECKLIST",
    "TranslationReviewRecord",
    "read_translation_records",
]

REVIEWS_FILE = "reviews.jsonl"
ReviewDecision = Literal["approved", "changes-requested", "rejected"]
DECISIONS: tuple[ReviewDecision, ...] = get_args(ReviewDecision)

# What a reviewer confirms before approving a rule. The ids are what `--check ID=yes` names.
ChecklistItem = Literal["logic", "severity", "sources", "thresholds", "wording", "examples", "limitations", "related"]
CHECKLIST: dict[ChecklistItem, str] = {
    "logic": "The plain-language 'what it checks' matches the clinical criterion the sources state, including what happens when a question is unanswered (unanswered is flagged or listed, never read as 'no').",
    "severity": "The severity fits what the sources say (critical only where the sources treat the finding as a reason not to hold a session).",
    "sources": "Each reference was opened at its locator (section, table or page) and says what the rule says it says; secondary copies are marked [S].",
    "thresholds": "Every number, age and time window is either confirmed in a source or listed as an unverified item in the limitations.",
    "wording": "Every text supports a clinician: a suggestion to review or discuss, never a verdict about the person or a directive.",
    "examples": "The examples include the boundary cases (just inside and just outside each threshold or window) and a case that must not flag.",
    "limitations": "The limitations say what the rule cannot see (self-report, missing questions, vocabulary gaps) and nothing important is left out.",
    "related": "Rules that overlap this one (the same finding at another severity or window) were read together and do not contradict it.",
}
if tuple(CHECKLIST) != get_args(ChecklistItem):  # the texts and the type name the same items, in order
    raise AssertionError("review.CHECKLIST and review.ChecklistItem differ")
ChecklistAnswer = Literal["yes", "no", "n/a"]
# An approval needs these answered yes: what the rule checks, how severe, its sources, its wording.
CORE_ITEMS: tuple[ChecklistItem, ...] = ("logic", "severity", "sources", "wording")
# Who may sign off: a closed list, or "other:" with the role written out.
ROLES = ("psychiatrist", "physician", "clinical-pharmacist", "psychologist", "nurse", "facilitator")


def control_character(value: str, *, newlines: bool = False) -> str | None:
    """The first character that could change how a text is shown (a control, bidi or format
    character), written as its escape; None when there is none."""
    for char in value:
        if newlines and char == "\n":
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            return f"U+{ord(char):04X}"
    return None


def is_item(key: str) -> TypeGuard[ChecklistItem]:
    return key in CHECKLIST


def is_answer(value: str) -> TypeGuard[ChecklistAnswer]:
    return value in get_args(ChecklistAnswer)


class ReviewRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rule_id: str
    rule_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The content hash of the rule as reviewed.")
    reviewer: str = Field(min_length=2)
    role: str = Field(min_length=2, description="e.g. psychiatrist, clinical pharmacist")
    date: dt.date
    decision: ReviewDecision
    comments: str = ""
    checklist: dict[ChecklistItem, ChecklistAnswer] = Field(default_factory=dict)
    content: dict[str, Any] = Field(description="The rule's content as reviewed, to show what changed since.")
    registration: str = Field("", max_length=100, description="The reviewer's registration number (e.g. BIG, NPI), if given.")
    recorded_by: str = Field("", max_length=200, description="Who typed the record in (git user.name or $USER).")

    @field_validator("reviewer", "role", "registration", "recorded_by")
    @classmethod
    def _one_plain_line(cls, value: str) -> str:
        found = control_character(value)
        if found:
            raise ValueError(f"contains a control or formatting character ({found})")
        return value

    @field_validator("comments")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        found = control_character(value, newlines=True)
        if found:
            raise ValueError(f"contains a control or formatting character ({found})")
        return value


def read_records(root: Path, known_ids: set[str], problems: list[Problem]) -> list[ReviewRecord]:
    """Every record in ``reviews.jsonl``, in file order; problems with their line numbers."""
    path = root / REVIEWS_FILE
    if not path.exists():
        return []
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        problems.append(Problem(REVIEWS_FILE, None, "not UTF-8 text"))
        return []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = ReviewRecord.model_validate_json(line)
        except ValidationError as error:
            for item in error.errors(include_input=False, include_url=False):
                where = ".".join(str(p) for p in item["loc"]) or "record"
                problems.append(Problem(REVIEWS_FILE, number, f"{where}: {item['msg']}"))
            continue
        if record.rule_id not in known_ids:
            problems.append(
                Problem(REVIEWS_FILE, number, f"a review of {record.rule_id!r}, which is not a rule in this rulebook")
            )
        records.append(record)
    return records


# ---------------------------------------------------------------------------- translation checks

TRANSLATION_REVIEWS_FILE = "translation-reviews.jsonl"
# What a reviewer who reads both languages confirms before approving a catalogue.
TranslationItem = Literal["meaning", "plain", "wording"]
TRANSLATION_CHECKLIST: dict[TranslationItem, str] = {
    "meaning": "Each translation says what the English says: nothing added, nothing left out, the clinical terms right.",
    "plain": "A participant understands the texts they read (the intake, their copy, the crisis contacts) without help.",
    "wording": "No translation is a verdict about the person or a directive (in this language's own words too).",
}
if tuple(TRANSLATION_CHECKLIST) != get_args(TranslationItem):
    raise AssertionError("review_records.TRANSLATION_CHECKLIST and TranslationItem differ")


class TranslationReviewRecord(BaseModel):
    """A check of one language's catalogue by a clinician who reads it, tied to the catalogue's
    content hash: a changed translation (or English text) is no longer covered by it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    lang: str = Field(pattern=r"^[a-z]{2,3}$")
    catalogue_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The content hash of the catalogue as checked.")
    texts: int = Field(ge=0, description="How many translations the checked catalogue held.")
    reviewer: str = Field(min_length=2)
    role: str = Field(min_length=2)
    date: dt.date
    decision: ReviewDecision
    comments: str = ""
    checklist: dict[TranslationItem, ChecklistAnswer] = Field(default_factory=dict)
    registration: str = Field("", max_length=100)
    recorded_by: str = Field("", max_length=200)

    @field_validator("reviewer", "role", "registration", "recorded_by", "comments")
    @classmethod
    def _plain(cls, value: str, info: ValidationInfo) -> str:
        found = control_character(value, newlines=info.field_name == "comments")
        if found:
            raise ValueError(f"contains a control or formatting character ({found})")
        return value


def read_translation_records(root: Path, problems: list[Problem]) -> list[TranslationReviewRecord]:
    """Every translation check in ``translation-reviews.jsonl``, in file order."""
    path = root / TRANSLATION_REVIEWS_FILE
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(TranslationReviewRecord.model_validate_json(line))
        except ValidationError as error:
            for item in error.errors(include_input=False, include_url=False):
                where = ".".join(str(p) for p in item["loc"]) or "record"
                problems.append(Problem(TRANSLATION_REVIEWS_FILE, number, f"{where}: {item['msg']}"))
    return records
