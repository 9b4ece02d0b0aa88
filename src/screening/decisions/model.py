"""A clinician's decision on one flag of one report, and what a store keeps of a report.

A decision is ``noted``, ``addressed`` (for example a washout agreed with the prescriber) or
``overridden`` with a reason: one of the rule's own override reasons (or, for a rule that lists
none, the general ones a CDS Hooks card offers), or ``other`` with the reason written out. It
records a clinician's judgement; it never says that anyone is eligible or safe.

This module needs nothing beyond the core; the store that keeps decisions is the optional
extra ``screening.decisions.store``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import Problem, ScreeningError
from ..interop.cds_hooks import DEFAULT_OVERRIDE_REASONS, reason_slug
from ..report.model import Report

if TYPE_CHECKING:
    from ..rulebook.loading import Rulebook

__all__ = [
    "Decision",
    "DecisionRecord",
    "DecisionError",
    "ReportDigest",
    "FlagDigest",
    "OTHER",
    "digest_report",
    "effective_decisions",
    "canonical_json",
    "make_decision",
]

OTHER = "other"
Outcome = Literal["noted", "addressed", "overridden"]


class DecisionError(ScreeningError):
    """A decision that does not fit its report: names the field, never quotes an answer."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("invalid decision:\n" + "\n".join(f"  {p}" for p in problems))


def canonical_json(data: Any) -> bytes:
    """The byte form that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Decision(BaseModel):
    """What a clinician decided on one flag (rule id + participant) of one report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    rule_id: str = Field(min_length=1, max_length=200)
    participant: str = Field(min_length=1, max_length=200, description="The flag's participant id, or 'pair'.")
    outcome: Outcome
    reason: str | None = Field(None, description="For 'overridden': the code of one of the rule's override reasons, or 'other'.")
    reason_text: str | None = Field(None, max_length=2000, description="The reason in words; required with reason 'other'.")
    reviewer: str = Field(min_length=1, max_length=200, description="Who decided (the clinician's id).")
    decided_at: dt.datetime = Field(default_factory=_now)
    note: str | None = Field(None, max_length=4000)
    corrects: str | None = Field(None, description="The decision_id of an earlier decision this one corrects.")

    @field_validator("reviewer", "rule_id", "participant")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("decided_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone (for example 2026-12-01T10:00:00+00:00)")
        return value.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _reason_fits_outcome(self) -> Decision:
        if self.outcome == "overridden" and not self.reason:
            raise ValueError(
                "reason: an override needs a reason (one of the rule's override reasons, or 'other' with reason_text)"
            )
        if self.outcome != "overridden" and self.reason:
            raise ValueError(f"reason: only an override has a reason; this decision is {self.outcome!r} (use note)")
        if self.reason == OTHER and not (self.reason_text or "").strip():
            raise ValueError("reason_text: reason 'other' needs the reason written out")
        return self

    @property
    def flag_key(self) -> tuple[str, str]:
        return (self.rule_id, self.participant)


class DecisionRecord(Decision):
    """A decision as the store holds it: numbered, dated and chained to the record before."""

    decision_id: str
    seq: int
    recorded_at: dt.datetime
    reason_display: str | None = Field(None, description="The override reason as the rule words it.")
    report_digest: str = Field(description="sha256 of the stored report digest this decision is about.")
    prev_hash: str
    record_hash: str


def make_decision(**fields: Any) -> Decision:
    """Build a :class:`Decision`, turning pydantic's errors into a :class:`DecisionError` naming fields."""
    try:
        return Decision(**fields)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_input=False, include_url=False):
            path = ".".join(str(p) for p in item["loc"]) or "(decision)"
            problems.append(Problem(path, None, item["msg"].removeprefix("Value error, ")))
        raise DecisionError(problems) from None


class FlagDigest(BaseModel):
    """What the store keeps of a flag: who and which rule, how severe, which questions, never the answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str
    participant: str
    participants: list[str]
    severity: str
    category: str
    summary: str = Field(description="The rule's own summary text (no answers).")
    evidence_fields: list[str] = Field(description="'participant:field' of each answer the flag rests on.")
    override_reasons: list[str] = Field(description="The reasons a clinician may give to override this flag.")

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.participant)

    def visible_to(self, participant: str) -> bool:
        """In that participant's own view: the flag rests on their answers alone (as Report.view_for)."""
        return (
            self.participant == participant
            and set(self.participants) == {participant}
            and all(f.split(":", 1)[0] == participant for f in self.evidence_fields)
        )


class ReportDigest(BaseModel):
    """What the store keeps of a report: its ids and hashes, the rulebook, and its flags' digests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report_id: str
    intake_sha256: str
    rulebook_version: str
    rulebook_sha256: str
    library_version: str
    substance: str
    format: str
    reference_date: str
    participants: list[str]
    flags: list[FlagDigest]
    view_ids: dict[str, str] = Field(
        default_factory=dict,
        exclude_if=lambda value: not value,
        description=(
            "Each participant's id -> the view_id of their own copy, so a printed copy traces to this report. "
            "Left out when empty: a digest stored before views had ids hashes as it always did."
        ),
    )

    def flag(self, rule_id: str, participant: str) -> FlagDigest | None:
        return next((f for f in self.flags if f.key == (rule_id, participant)), None)

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.model_dump(mode="json"))).hexdigest()

    def check(self, decision: Decision) -> tuple[FlagDigest, str | None]:
        """The flag a decision is about and the reason's wording; DecisionError when it does not fit."""
        flag = self.flag(decision.rule_id, decision.participant)
        if flag is None:
            flags = ", ".join(f"{f.rule_id}/{f.participant}" for f in self.flags) or "none"
            raise DecisionError(
                [
                    Problem(
                        "rule_id",
                        None,
                        f"report {self.report_id[:12]} has no flag {decision.rule_id} for "
                        f"{decision.participant!r} (its flags: {flags})",
                    )
                ]
            )
        if decision.outcome != "overridden":
            return flag, None
        if decision.reason == OTHER:
            return flag, decision.reason_text
        by_code = {reason_slug(r): r for r in flag.override_reasons}
        if decision.reason in by_code:
            return flag, by_code[decision.reason]
        if decision.reason in flag.override_reasons:
            return flag, decision.reason
        codes = ", ".join([*by_code, OTHER])
        raise DecisionError(
            [Problem("reason", None, f"not one of the override reasons of {decision.rule_id}; give one of: {codes}")]
        )


def digest_report(report: Report, rulebook: Rulebook | None = None) -> ReportDigest:
    """The store's digest of a clinician report (override reasons read from the rulebook it was made with)."""
    if report.view != "clinician":
        raise DecisionError([Problem("view", None, "decisions are recorded on the clinician report, not a participant's view")])
    if rulebook is None:
        from ..rulebook.loading import default

        shipped = default()
        rulebook = shipped if shipped.sha256 == report.rulebook.sha256 else None
    flags = []
    for flag in report.flags:
        reasons: list[str] = []
        if rulebook is not None:
            try:
                reasons = list(rulebook.rule(flag.rule_id).meta.override_reasons)
            except KeyError:
                reasons = []
        flags.append(
            FlagDigest(
                rule_id=flag.rule_id,
                participant=flag.participant,
                participants=list(flag.participants),
                severity=flag.severity,
                category=report.rules[flag.rule_id].category,
                summary=report.rules[flag.rule_id].summary,
                evidence_fields=list(dict.fromkeys(f"{e.participant}:{e.field}" for e in flag.evidence)),
                override_reasons=reasons or list(DEFAULT_OVERRIDE_REASONS),
            )
        )
    return ReportDigest(
        report_id=report.report_id,
        intake_sha256=report.intake_sha256,
        rulebook_version=report.rulebook.version,
        rulebook_sha256=report.rulebook.sha256,
        library_version=report.library_version,
        substance=report.session.substance,
        format=report.session.format,
        reference_date=report.session.reference_date.isoformat(),
        participants=list(report.participants),
        flags=flags,
        view_ids=dict(report.participant_copies.view_ids) if report.participant_copies is not None else {},
    )


def effective_decisions(records: list[DecisionRecord]) -> dict[tuple[str, str], DecisionRecord]:
    """The decision that stands for each flag: the latest one that no later record corrects."""
    corrected = {r.corrects for r in records if r.corrects}
    standing: dict[tuple[str, str], DecisionRecord] = {}
    for record in sorted(records, key=lambda r: r.seq):
        if record.decision_id not in corrected:
            standing[record.flag_key] = record
    return standing
