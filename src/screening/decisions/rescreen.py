"""Re-screening: what changed between two reports of the same people, and which decisions stand.

A flag is keyed by rule id and participant. It is ``new`` or ``gone``, ``changed`` (severity or
evidence differ) or ``unchanged``. A decision made on the old report carries forward only to an
unchanged flag and is shown as decided earlier, with its date; a changed flag is re-opened, so
a clinician looks again at anything that moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from ..errors import ScreeningError
from ..report import display
from ..report.model import Flag, Report
from ..report.parts import Severity
from .model import DecisionRecord, Outcome, effective_decisions

__all__ = ["FlagChange", "ReportDiff", "diff_reports", "render_diff_text", "FlagChangeDict", "ReportDiffDict", "DecidedDict"]

Status = Literal["new", "gone", "changed", "unchanged"]
Changed = Literal["severity", "evidence"]


class DecidedDict(TypedDict):
    decision_id: str
    outcome: Outcome
    reviewer: str
    decided_at: str
    reason: str | None


class FlagChangeDict(TypedDict):
    rule_id: str
    participant: str
    status: Status
    severity: Severity
    old_severity: Severity | None
    changes: list[Changed]
    decided_earlier: DecidedDict | None
    reopened_decision: DecidedDict | None


class ReportDiffDict(TypedDict):
    old_report_id: str
    new_report_id: str
    flags: list[FlagChangeDict]


@dataclass(frozen=True)
class FlagChange:
    rule_id: str
    participant: str
    status: Status
    severity: Severity  # the new severity (the old one for a gone flag)
    old_severity: Severity | None = None
    changes: tuple[Changed, ...] = ()
    carried: DecisionRecord | None = None  # the earlier decision that still stands
    reopened: DecisionRecord | None = None  # the earlier decision that no longer stands

    def as_dict(self) -> FlagChangeDict:
        def brief(record: DecisionRecord | None) -> DecidedDict | None:
            if record is None:
                return None
            return {
                "decision_id": record.decision_id,
                "outcome": record.outcome,
                "reviewer": record.reviewer,
                "decided_at": record.decided_at.isoformat(),
                "reason": record.reason_display,
            }

        return {
            "rule_id": self.rule_id,
            "participant": self.participant,
            "status": self.status,
            "severity": self.severity,
            "old_severity": self.old_severity,
            "changes": list(self.changes),
            "decided_earlier": brief(self.carried),
            "reopened_decision": brief(self.reopened),
        }


@dataclass(frozen=True)
class ReportDiff:
    old_report_id: str
    new_report_id: str
    changes: list[FlagChange] = field(default_factory=list)

    def with_status(self, status: Status) -> list[FlagChange]:
        return [c for c in self.changes if c.status == status]

    def as_dict(self) -> ReportDiffDict:
        return {
            "old_report_id": self.old_report_id,
            "new_report_id": self.new_report_id,
            "flags": [c.as_dict() for c in self.changes],
        }


def _evidence(flag: Flag) -> frozenset[tuple[str, str, str]]:
    return frozenset((e.participant, e.field, str(e.answer)) for e in flag.evidence)


def diff_reports(old: Report, new: Report, decisions: Iterable[DecisionRecord] = ()) -> ReportDiff:
    """Compare two clinician reports of the same participants; ``decisions``: those made on ``old``."""
    for report in (old, new):
        if report.view != "clinician":
            raise ScreeningError("a re-screening compares clinician reports, not a participant's view")
    if sorted(old.participants) != sorted(new.participants):
        raise ScreeningError(
            "the two reports are not about the same participants "
            f"({', '.join(old.participants)} and {', '.join(new.participants)})"
        )
    standing = effective_decisions([d for d in decisions if d.report_id == old.report_id])
    before = {(f.rule_id, f.participant): f for f in old.flags}
    after = {(f.rule_id, f.participant): f for f in new.flags}
    changes: list[FlagChange] = []
    for key, flag in after.items():
        previous = before.get(key)
        if previous is None:
            changes.append(FlagChange(*key, status="new", severity=flag.severity))
            continue
        compared: tuple[tuple[Changed, bool], ...] = (
            ("severity", previous.severity != flag.severity),
            ("evidence", _evidence(previous) != _evidence(flag)),
        )
        moved: tuple[Changed, ...] = tuple(name for name, differs in compared if differs)
        decided = standing.get(key)
        if moved:
            changes.append(
                FlagChange(
                    *key,
                    status="changed",
                    severity=flag.severity,
                    old_severity=previous.severity,
                    changes=moved,
                    reopened=decided,
                )
            )
        else:
            changes.append(
                FlagChange(*key, status="unchanged", severity=flag.severity, old_severity=previous.severity, carried=decided)
            )
    for key, flag in before.items():
        if key not in after:
            changes.append(FlagChange(*key, status="gone", severity=flag.severity, old_severity=flag.severity))
    order = {"new": 0, "changed": 1, "gone": 2, "unchanged": 3}
    changes.sort(key=lambda c: (order[c.status], c.participant, c.rule_id))
    return ReportDiff(old.report_id, new.report_id, changes)


def _one_line(value: object) -> str:
    """Stored or remote text (a reviewer's name) for a terminal: escapes shown, one line."""
    return display.text(value).replace("\n", "\\n")


def render_diff_text(diff: ReportDiff) -> str:
    """The diff for a terminal; every stored text goes through the reports' display escaping."""
    out = [f"Re-screening: report {diff.old_report_id[:12]} -> {diff.new_report_id[:12]}"]
    labels = {"new": "NEW", "changed": "CHANGED", "gone": "GONE", "unchanged": "unchanged"}
    for change in diff.changes:
        who = "the pair" if change.participant == "pair" else f"participant {_one_line(change.participant)}"
        line = f"{labels[change.status]:9} [{_one_line(change.severity)}] {_one_line(change.rule_id)} ({who})"
        if change.status == "changed":
            detail = ", ".join(change.changes)
            if "severity" in change.changes:
                detail += f" {change.old_severity} -> {change.severity}"
            line += f": {detail} changed"
            if change.reopened:
                line += f"; re-opened (was {change.reopened.outcome} by {_one_line(change.reopened.reviewer)} on {change.reopened.decided_at.date()})"
        if change.status == "unchanged":
            line += (
                f": decided earlier, {change.carried.outcome} by {_one_line(change.carried.reviewer)} on {change.carried.decided_at.date()}"
                if change.carried
                else ": no decision yet"
            )
        out.append(line)
    if not diff.changes:
        out.append("Neither report has flags.")
    return "\n".join(out) + "\n"
