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

__all__ = [
    "FlagChange",
    "AnswerChange",
    "ReportDiff",
    "diff_reports",
    "render_diff_text",
    "FlagChangeDict",
    "AnswerChangeDict",
    "ReportDiffDict",
    "DecidedDict",
]

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
    title: str
    participant: str
    status: Status
    severity: Severity
    old_severity: Severity | None
    changes: list[Changed]
    decided_earlier: DecidedDict | None
    reopened_decision: DecidedDict | None


class AnswerChangeDict(TypedDict):
    participant: str
    field: str
    question: str
    old: str
    new: str
    retracted: bool


class ReportDiffDict(TypedDict):
    old_report_id: str
    new_report_id: str
    flags: list[FlagChangeDict]
    answers: list[AnswerChangeDict]


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
    title: str = ""

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
            "title": self.title,
            "participant": self.participant,
            "status": self.status,
            "severity": self.severity,
            "old_severity": self.old_severity,
            "changes": list(self.changes),
            "decided_earlier": brief(self.carried),
            "reopened_decision": brief(self.reopened),
        }


@dataclass(frozen=True)
class AnswerChange:
    """One answer as the two reports hold it. ``retracted``: a yes that raised a rule is no longer
    given: a disclosure taken back is itself a point to look at (pressure can bring it about)."""

    participant: str
    field: str
    question: str
    old: str
    new: str
    retracted: bool = False

    def as_dict(self) -> AnswerChangeDict:
        return {
            "participant": self.participant,
            "field": self.field,
            "question": self.question,
            "old": self.old,
            "new": self.new,
            "retracted": self.retracted,
        }


@dataclass(frozen=True)
class ReportDiff:
    old_report_id: str
    new_report_id: str
    changes: list[FlagChange] = field(default_factory=list)
    answers: list[AnswerChange] = field(default_factory=list)

    def with_status(self, status: Status) -> list[FlagChange]:
        return [c for c in self.changes if c.status == status]

    def as_dict(self) -> ReportDiffDict:
        return {
            "old_report_id": self.old_report_id,
            "new_report_id": self.new_report_id,
            "flags": [c.as_dict() for c in self.changes],
            "answers": [a.as_dict() for a in self.answers],
        }


def _evidence(flag: Flag) -> frozenset[tuple[str, str, str]]:
    return frozenset((e.participant, e.field, str(e.answer)) for e in flag.evidence)


_NOT_RAISED = "no longer behind any flag (answered otherwise, or the rule changed)"
_LEFT_OPEN = "not answered (or unsure)"


def _answers(report: Report) -> dict[tuple[str, str], tuple[str, str, Severity]]:
    """(participant, field) -> (question, answer, most serious flag resting on it): the answers a
    report holds (those behind its flags, the answers at a glance and the medication lines)."""
    rank = {"info": 0, "warning": 1, "critical": 2}
    held: dict[tuple[str, str], tuple[str, str, Severity]] = {}
    for flag in report.flags:
        for e in flag.evidence:
            if e.participant == "session" or e.field.startswith("session.") or e.field == "medications":
                continue
            answer = _LEFT_OPEN if e.answer in ("unknown", None) else str(e.answer)
            key = (e.participant, e.field)
            known = held.get(key)
            if known is None or rank[flag.severity] > rank[known[2]]:
                held[key] = (report.questions[e.field], answer, flag.severity)
    for a in report.answers:
        for name, question, value in (
            ("bp_mmhg", "Blood pressure", a.bp_mmhg),
            ("weight_kg", "Weight (kg)", a.weight_kg),
            ("dose_mg", "Planned dose (mg)", a.dose_mg),
        ):
            held[(a.participant, f"glance.{name}")] = (
                question,
                "not given" if value is None else f"{value:g}" if isinstance(value, float) else str(value),
                "info",
            )
    for m in report.medications:
        held[(m.participant, f"medication:{m.written}")] = ("Medication line", f"listed ({m.status})", "info")
    return held


def _answer_changes(old: Report, new: Report) -> list[AnswerChange]:
    before, after = _answers(old), _answers(new)
    missing = {(m.participant, m.field) for m in new.missing_information}
    out = []
    for key, (question, was, severity) in before.items():
        now = after[key][1] if key in after else _LEFT_OPEN if key in missing else None
        if now is None:
            now = "not listed" if key[1].startswith("medication:") else _NOT_RAISED
        if now != was:
            retracted = was == "yes" and severity != "info" and now != _LEFT_OPEN
            if key[1].startswith("medication:"):
                question = f"{question}: {key[1].split(':', 1)[1]}"
            out.append(AnswerChange(key[0], key[1], question, was, now, retracted))
    for key, (question, now, _) in after.items():
        if key not in before and key[1].startswith("medication:"):
            out.append(AnswerChange(key[0], key[1], f"{question}: {key[1].split(':', 1)[1]}", "not listed", now))
        elif key not in before and not key[1].startswith("glance."):
            out.append(AnswerChange(key[0], key[1], question, "not raising any rule then", now))
    out.sort(key=lambda a: (not a.retracted, a.participant, a.field))
    return out


def _key_of(flag: Flag, report: Report) -> tuple[str, str]:
    """A session rule fires for each participant but is one finding: one change, keyed 'session'."""
    return (flag.rule_id, "session" if report.rules[flag.rule_id].scope == "session" else flag.participant)


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
    for (rule_id, pid), record in list(standing.items()):  # a decision on a session rule stands for the session
        if any(f.rule_id == rule_id and f.participant == pid and old.rules[rule_id].scope == "session" for f in old.flags):
            standing.setdefault((rule_id, "session"), record)
    before = {_key_of(f, old): f for f in old.flags}
    after = {_key_of(f, new): f for f in new.flags}
    changes: list[FlagChange] = []
    for key, flag in after.items():
        previous = before.get(key)
        if previous is None:
            changes.append(FlagChange(*key, status="new", severity=flag.severity, title=new.rules[flag.rule_id].title))
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
                    title=new.rules[flag.rule_id].title,
                )
            )
        else:
            changes.append(
                FlagChange(
                    *key,
                    status="unchanged",
                    severity=flag.severity,
                    old_severity=previous.severity,
                    carried=decided,
                    title=new.rules[flag.rule_id].title,
                )
            )
    for key, flag in before.items():
        if key not in after:
            changes.append(
                FlagChange(
                    *key, status="gone", severity=flag.severity, old_severity=flag.severity, title=old.rules[flag.rule_id].title
                )
            )
    order = {"new": 0, "changed": 1, "gone": 2, "unchanged": 3}
    changes.sort(key=lambda c: (order[c.status], c.participant, c.rule_id))
    return ReportDiff(old.report_id, new.report_id, changes, _answer_changes(old, new))


def _one_line(value: object) -> str:
    """Stored or remote text (a reviewer's name) for a terminal: escapes shown, one line."""
    return display.text(value).replace("\n", "\\n")


def render_diff_text(diff: ReportDiff) -> str:
    """The diff for a terminal; every stored text goes through the reports' display escaping."""
    out = [f"Re-screening: report {diff.old_report_id[:12]} -> {diff.new_report_id[:12]}"]
    labels = {"new": "NEW", "changed": "CHANGED", "gone": "GONE", "unchanged": "unchanged"}
    retracted = [a for a in diff.answers if a.retracted]
    if retracted:
        out.append("To look at first: a disclosure taken back")
        out += [
            f"  - Participant {a.participant}: {a.question} Was yes; now {a.new}. A disclosure withdrawn "
            "(for example under pressure) may itself be worth asking about, alone."
            for a in retracted
        ]
    others = [a for a in diff.answers if not a.retracted]
    if others:
        out.append("Answers that changed:")
        out += [f"  - Participant {a.participant}: {a.question.rstrip('.')}: was {a.old}; now {a.new}" for a in others]
    if diff.changes:
        out.append("Flags:")
    for change in diff.changes:
        who = {"pair": "the pair", "session": "the session plan"}.get(
            change.participant, f"participant {_one_line(change.participant)}"
        )
        line = (
            f"{labels[change.status]:9} [{_one_line(change.severity)}] {_one_line(change.title or change.rule_id)} "
            f"({who}; {_one_line(change.rule_id)})"
        )
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
