"""The parts a report is made of: flags, findings, the summary and the record blocks.

Below both the findings builder and the report, so that each can use them without the other.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..rulebook.crisis import CrisisContacts
from ..rulebook.review import RuleStatus

__all__ = [
    "Severity",
    "EvidenceItem",
    "Reference",
    "ReportRule",
    "Flag",
    "MissingItem",
    "CoveredRule",
    "Finding",
    "SummaryGroup",
    "Summary",
    "RulebookInfo",
    "ProgramInfo",
    "SessionInfo",
    "DrugRead",
    "MedicationRead",
    "AnswersOverview",
    "Model",
    "built",
]

Severity = Literal["info", "warning", "critical"]
RULE_STATUS_HELP = (
    "Where the rule stands: draft, in review, approved, changes requested, or changed since approval "
    "(it changed after its last approval, which no longer counts); the same in `screening rules check` and the rule pages."
)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_M = TypeVar("_M", bound=BaseModel)


_set = object.__setattr__  # pydantic's own __setattr__ refuses: the models are frozen
_new = object.__new__  # what cls.__new__ is for every model here (none defines its own), without the look-up


@functools.cache
def _field_names(cls: type[BaseModel]) -> tuple[str, ...]:
    return tuple(cls.model_fields)


@functools.cache
def _all_set(cls: type[BaseModel]) -> set[str]:
    """Every field set: one set shared by the models built here. Frozen models never change it in
    place (``model_copy`` copies it before adding to it)."""
    return set(cls.model_fields)


def built(cls: type[_M], values: dict[str, Any], *, in_order: bool = False) -> _M:
    """A model from values already known valid (every field given), without validating them
    again: as ``model_construct`` makes it, several times cheaper. Flags, findings and the report
    are built this way from validated rules and intakes; a test validates a sample whole.
    ``in_order``: ``values`` has exactly the fields, in their order, and becomes the model's own."""
    obj = _new(cls)
    _set(obj, "__dict__", values if in_order else {name: values[name] for name in _field_names(cls)})  # serialised in this order
    _set(obj, "__pydantic_fields_set__", _all_set(cls))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


class EvidenceItem(Model):
    participant: str = Field(description="Whose answer this is ('session' for the shared session plan in a finding).")
    field: str = Field(
        description="The intake field, as a dotted path; the question as asked is the report's `questions[field]`."
    )
    answer: str | int | float | None = Field(description="The answer given ('unknown' when not answered).")
    line: str | None = Field(
        default=None, description="For a medication: the line or lines as written, without the class the rule read."
    )


class Reference(Model):
    title: str
    url: str
    says: str


class ReportRule(Model):
    """A rule that fired, as the report carries it: once, whatever the number of its flags and
    findings, which refer to it by id (SARIF's ``tool.driver.rules``)."""

    title: str
    category: str
    scope: Literal["participant", "pair", "session"] = Field(
        description="The rule's applies_to: a session rule fires for each participant but is one finding."
    )
    summary: str
    explanation: str = Field(description="Why it matters.")
    clinician_action: str = Field(description="What to review: suggestions, never a directive.")
    participant_text: str = Field(description="The rule's sentence addressed to the participant.")
    participant_copy: Literal["shown", "on-request"] = Field(
        description="'on-request': left out of the participant's printable copy unless asked for."
    )
    limitations: list[str]
    references: list[Reference]
    rule_status: RuleStatus = Field(description=RULE_STATUS_HELP)


class Flag(Model):
    """One rule firing: what is its own (whose, how serious, the answers); the rule's texts are in
    the report's ``rules`` under ``rule_id``."""

    rule_id: str = Field(description="The rule, a key of the report's `rules`.")
    severity: Severity = Field(description="The rule's severity under the report's program.")
    participant: str = Field(description="The participant's id, or 'pair' for a rule about the two together.")
    participants: list[str] = Field(description="Every participant whose answers the flag rests on.")
    evidence: list[EvidenceItem]
    combines: list[str] = Field(
        default_factory=list,
        description="For a combination (rules/combinations.yaml): the rules, flagged for the same participant, it brings together.",
    )


class MissingItem(Model):
    participant: str
    field: str
    question: str
    needed_by: list[str] = Field(description="The rules that read this question.")
    severity: Severity = Field(default="info", description="The severity of the most serious rule that reads it.")


class CoveredRule(Model):
    rule_id: str
    participant: str = Field(description="The flag's participant (or 'pair').")
    severity: Severity


class Finding(Model):
    """What a clinician reads: one fact, however many rules or participants it fired for. Its texts
    are its main rule's (the report's ``rules[rule_id]``); what is its own is here."""

    id: str = Field(description="'<subject>:<rule id>' of the main rule, or '<participant>:missing'.")
    rule_id: str | None = Field(
        description=(
            "The main rule, a key of the report's `rules`: its texts are the finding's. Null only for questions left "
            "open when no rule about unanswered questions fired (a rulebook without one): the library's own wording then."
        )
    )
    subject: str = Field(description="'session' (the shared plan), a participant's id, or 'pair'.")
    participants: list[str] = Field(description="Every participant whose answers the finding rests on.")
    severity: Severity
    title: str = Field(description="The main rule's title, or, when only missing answers raised it, 'Not answered: ...'.")
    not_answered: bool
    participant_copy: Literal["shown", "on-request"] = Field(
        description="'on-request' when any rule it covers is: left off a participant's printed copy unless asked for."
    )
    evidence: list[EvidenceItem]
    rests_on: list[str] = Field(
        description=(
            "Ids of the findings this one builds on (their answers are shown there): the participant findings "
            "a pair finding repeats, or the findings a combination (rules/combinations.yaml) brings together."
        )
    )
    rules: list[CoveredRule] = Field(
        description="Every flag this finding covers, the main rule first; lower thresholds follow it."
    )


class SummaryGroup(Model):
    subject: str = Field(description="'session', a participant's id, or 'pair'.")
    findings: list[str] = Field(description="The ids of this subject's findings, most serious first.")


class Summary(Model):
    counts: dict[Severity, int] = Field(description="Findings by severity.")
    flags: int = Field(description="How many rule flags the findings cover.")
    address_first: list[str] = Field(
        description=(
            "The ids of at most three findings across the whole report, most serious first (answered findings before "
            "unanswered questions, then in report order): what to address first."
        )
    )
    groups: list[SummaryGroup] = Field(description="Session, each participant, then the pair.")


class RulebookInfo(Model):
    version: str
    sha256: str = Field(description="sha256 over the rule files, so a report traces to the exact rules.")
    rules: int


class ProgramInfo(Model):
    id: str = Field(
        description="The program whose parameters, severities and required questions applied ('default': the rulebook as written)."
    )
    version: str
    sha256: str = Field(description="sha256 of the program file, so a report traces to the exact program.")


class SessionInfo(Model):
    substance: str
    format: Literal["individual", "duo"]
    reference_date: dt.date = Field(description="Medication timing is counted up to this date.")


class ParticipantCopies(Model):
    """What participants' own copies print besides their points, and how each view is bound."""

    program_title: str = Field(description="The program's name, as a participant's copy prints it.")
    crisis: CrisisContacts | None = Field(
        description="The crisis numbers for the program's locale, printed on a copy whose answers report harm."
    )
    view_ids: dict[str, str] = Field(
        description=(
            "In the clinician's report: each participant's id -> the view_id of their view, binding each view to this "
            "report. Empty in a participant's view, which carries only its own view_id."
        )
    )


class DrugRead(Model):
    written: str = Field(description="The words of the line read as this drug, as written.")
    status: Literal["recognised", "unconfirmed", "unrecognised"] = Field(
        description="'unconfirmed': a close spelling of a known name; 'unrecognised': not understood."
    )
    read_as: str | None = Field(description="The drug it was read as (generic name), or null when not understood.")
    classes: list[str] = Field(description="The classes the rules read, as labels.")


class MedicationRead(Model):
    """One medication line as the screening read it, so a clinician can confirm each reading."""

    participant: str
    written: str = Field(description="The line as written.")
    status: Literal["current", "stopped", "unknown"]
    last_taken: dt.date | None
    drugs: list[DrugRead]
    set_aside: list[str] = Field(
        description="What was not read as a drug: dose and frequency words, the dose as written, words not understood."
    )
    used_by: list[str] = Field(description="The rules whose flags rest on this line (empty: no rule used it).")


class AnswersOverview(Model):
    """A few answers a clinician looks for first, per participant."""

    participant: str
    bp_mmhg: str | None = Field(description="The blood pressure as answered, 'systolic/diastolic mmHg', or null when not given.")
    weight_kg: float | None
    dose_mg: float | None = Field(description="The planned dose, where the plan gives one.")
    dose_mg_per_kg: float | None = Field(description="The planned dose per kg of body weight, where both are known.")
    left_open: int = Field(description="How many questions the rules read were left unanswered or answered unsure.")
