"""CDS Hooks feedback into the decisions store: ``accepted`` is noted, ``overridden`` is
overridden with the reason the card offered (its code is the rule's reason code).

The service passes :class:`StoreFeedbackSink` to its app factory as the feedback sink and
gives it each clinician report it turns into cards (``add_report``), so feedback can be checked
against the report's flags. CDS Hooks feedback does not name the clinician, so the reviewer is
whatever ``reviewer_of(entry)`` returns (by default the feedback's service and hook instance).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from ..model import OTHER, Decision, make_decision
from . import Store

if TYPE_CHECKING:
    from ...report.model import Report
    from ...rulebook.loading import Rulebook

__all__ = ["StoreFeedbackSink", "decision_from_feedback", "FeedbackEntry"]


class FeedbackEntry(Protocol):
    """What is read of a validated feedback entry (the service's ``FeedbackRecord`` is one).

    A protocol, so the store does not import the service (an extra of its own).
    """

    @property
    def service_id(self) -> str: ...
    @property
    def hook_instance(self) -> str: ...
    @property
    def report_id(self) -> str | None: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def participant(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def override_reason(self) -> Mapping[str, str] | None: ...
    @property
    def user_comment(self) -> str | None: ...
    @property
    def outcome_time(self) -> dt.datetime: ...


def _default_reviewer(entry: FeedbackEntry) -> str:
    reviewer: str | None = getattr(entry, "reviewer", None)  # an entry may name its reviewer
    return reviewer or f"cds-hooks:{entry.service_id}/{entry.hook_instance}"


def decision_from_feedback(entry: FeedbackEntry, reviewer: str) -> Decision:
    """One Decision from one validated feedback entry (service.feedback.FeedbackRecord)."""
    reason: str | None
    reason_text: str | None
    if entry.outcome == "accepted":
        outcome, reason, reason_text = "noted", None, None
    elif entry.outcome == "overridden":
        coding: Mapping[str, str] = entry.override_reason or {}
        outcome, reason = "overridden", coding.get("code") or OTHER
        reason_text = None if coding.get("code") else (entry.user_comment or "overridden in the EHR without a reason")
        if coding and not getattr(entry, "reason_offered", True):  # a reason the EHR added, not one the rule offers
            reason = OTHER
            reason_text = f"the EHR's own reason: {coding.get('display') or coding.get('code')} ({coding.get('system')})"
    else:
        outcome, reason, reason_text = entry.outcome, None, None  # refused by Decision with the field named
    return make_decision(
        report_id=entry.report_id or "",
        rule_id=entry.rule_id,
        participant=entry.participant,
        outcome=outcome,
        reason=reason,
        reason_text=reason_text,
        reviewer=reviewer,
        note=entry.user_comment,
        decided_at=entry.outcome_time,
    )


class StoreFeedbackSink:
    """The service's feedback sink: every entry of one request is recorded in one transaction, or none."""

    def __init__(self, store: Store, reviewer_of: Callable[[FeedbackEntry], str] = _default_reviewer):
        self.store, self.reviewer_of = store, reviewer_of

    def add_report(self, report: Report, rulebook: Rulebook | None = None) -> None:
        self.store.add_report(report, rulebook=rulebook)

    def record(self, entries: Sequence[FeedbackEntry]) -> None:
        self.store.record_decisions([decision_from_feedback(e, self.reviewer_of(e)) for e in entries])
