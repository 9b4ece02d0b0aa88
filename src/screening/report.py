"""The report: the contract with intake systems, and its renderings (JSON and text).

A report lists flags, each with its explanation, evidence and sources, and the questions left
unanswered. It never says that anyone is eligible, cleared or safe: with no flags it says that
no rule matched and that a clinician still reviews. For a duo, :meth:`Report.view_for` gives
the view for one participant, leaving out everything that rests on the other's answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import textwrap
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import display

__all__ = [
    "NOTICE", "Flag", "EvidenceItem", "MissingItem", "Report", "RulebookInfo", "ProgramInfo", "render_text", "report_schema",
    "intake_sha256", "compute_report_id",
]

NOTICE = (
    "This screening supports a clinician's judgement and decides nothing. Each flag is a prompt "
    "to review, with its reasons and sources; no flag does not mean that a session is without risk. "
    "A qualified clinician reviews every intake."
)

Severity = Literal["info", "warning", "critical"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceItem(_Model):
    participant: str = Field(description="Whose answer this is.")
    field: str = Field(description="The intake field, as a dotted path.")
    question: str = Field(description="The question as asked.")
    answer: str | int | float | None = Field(description="The answer given ('unknown' when not answered).")


class Reference(_Model):
    title: str
    url: str
    says: str


class Flag(_Model):
    rule_id: str
    title: str
    category: str
    severity: Severity
    participant: str = Field(description="The participant's id, or 'pair' for a rule about the two together.")
    participants: list[str] = Field(description="Every participant whose answers the flag rests on.")
    summary: str
    explanation: str
    evidence: list[EvidenceItem]
    clinician_action: str
    limitations: list[str]
    references: list[Reference]
    rule_status: Literal["draft", "reviewed"]
    review: Literal["not reviewed", "approved", "changed since review", "changes requested", "rejected"] = Field(
        "not reviewed",
        description="The clinical review of the rule's current content ('changed since review': the rule changed after its last approval).",
    )


class MissingItem(_Model):
    participant: str
    field: str
    question: str
    needed_by: list[str] = Field(description="The rules that read this question.")


class RulebookInfo(_Model):
    version: str
    sha256: str = Field(description="sha256 over the rule files, so a report traces to the exact rules.")
    rules: int


class ProgramInfo(_Model):
    id: str = Field(description="The program whose parameters, severities and required questions applied ('default': the rulebook as written).")
    version: str
    sha256: str = Field(description="sha256 of the program file, so a report traces to the exact program.")


class SessionInfo(_Model):
    substance: str
    format: Literal["individual", "duo"]
    reference_date: dt.date = Field(description="Medication timing is counted up to this date.")


class Report(_Model):
    notice: str = Field(description="Fixed: the screening supports a clinician and decides nothing.")
    view: str = Field(description="'clinician' (everything) or 'participant:<id>' (that participant's own view).")
    report_id: str = Field(description=(
        "sha256 (hex) over the clinician report's compact JSON with this field and `engine` empty: the same intake, "
        "rulebook, program, library version and reference date always give the same id, on either engine, and any "
        "change gives another. "
        "A participant's view keeps the id of the clinician report it is drawn from."
    ))
    intake_sha256: str = Field(description=(
        "sha256 (hex) over the compact JSON of the validated intake (defaults filled in), so a report traces to "
        "the exact answers screened without holding them."
    ))
    library_version: str
    engine: str = Field(description="Which engine evaluated the rules: durable_rules or python.")
    engine_notice: str | None = Field(
        default=None, description="Why the reference evaluator ran alone, without the cross-check, when engine 'auto' could not use durable_rules."
    )
    rulebook: RulebookInfo
    program: ProgramInfo
    session: SessionInfo
    participants: list[str]
    flags: list[Flag]
    missing_information: list[MissingItem]
    counts: dict[Severity, int]

    def view_for(self, participant: str) -> Report:
        """This participant's view: only flags and gaps that rest on their own answers alone.

        ``participant`` is the id exactly as in the intake, or ``participant:<id>`` (the name
        the view is given); ids cannot be reserved words such as ``clinician``, so a view is
        never confused with the clinician's.
        """
        participant = participant.removeprefix("participant:")
        if participant not in self.participants:
            raise ValueError(f"no participant {participant!r} in this report")
        flags = [f for f in self.flags if set(f.participants) == {participant} and all(e.participant == participant for e in f.evidence)]
        missing = [m for m in self.missing_information if m.participant == participant]
        return self.model_copy(update={
            "view": f"participant:{participant}",
            "participants": [participant],
            "flags": flags,
            "missing_information": missing,
            "counts": _counts(flags),
        })

    def to_json(self, indent: int | None = 2) -> str:
        """Stable JSON: fields in schema order, flags in a fixed order.

        ``indent=None`` gives one compact line (batch output), serialised by pydantic's own
        encoder, several times faster than going through a dict and ``json.dumps``.
        """
        if indent is None:
            return self.model_dump_json()
        return json.dumps(self.model_dump(mode="json"), indent=indent, ensure_ascii=False)


def intake_sha256(intake) -> str:
    """sha256 over a validated intake's canonical form: its compact JSON as pydantic writes it
    (fields in model order, defaults filled in), so two spellings of the same answers agree."""
    return hashlib.sha256(intake.model_dump_json().encode("utf-8")).hexdigest()


def compute_report_id(report: "Report | dict | str") -> str:
    """sha256 over a clinician report's compact JSON (``to_json(indent=None)``) with
    ``report_id`` and ``engine`` set to the empty string.

    Accepts the model, its JSON data or its JSON text: a stored report can be checked against
    its id. The compact JSON is pydantic's own encoder (fast; the same bytes for the same
    content), which is why a check parses the report first instead of hashing the file.
    """
    if isinstance(report, str):
        report = json.loads(report)
    if not isinstance(report, Report):
        report = Report.model_validate(report)
    if report.view != "clinician":
        raise ValueError("a report id is computed over the clinician report, not a participant's view")
    # The engine's name is left out: both engines must give the same findings (a screening
    # fails closed when they differ), so the same screening has one id on every Python.
    report = report.model_copy(update={"report_id": "", "engine": ""})
    return hashlib.sha256(report.model_dump_json().encode("utf-8")).hexdigest()


def _counts(flags: list[Flag]) -> dict[str, int]:
    counts = {"critical": 0, "warning": 0, "info": 0}
    for flag in flags:
        counts[flag.severity] += 1
    return counts


def report_schema() -> dict[str, Any]:
    """The JSON Schema of a report (draft 2020-12, with ``$schema`` and ``$id``)."""
    from .schemas import with_header

    return with_header(Report.model_json_schema(), "report")


# ---------------------------------------------------------------------------- text


def _wrap(text: str, indent: str) -> str:
    # long words (URLs) stay whole, so a terminal can still open them
    return textwrap.fill(" ".join(text.split()), width=96, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def render_text(report: Report) -> str:
    """A readable rendering for a clinician or reviewer."""
    out = [
        f"Screening report ({report.view} view)",
        f"Session: {report.session.substance}, {report.session.format}; medication timing counted to {report.session.reference_date}",
        f"Participants: {', '.join(report.participants)}",
        f"Program: {report.program.id} {report.program.version}",
        "",
        _wrap(report.notice, ""),
        "",
    ]
    counts = report.counts
    if not report.flags:
        out.append("No rule matched. A clinician still reviews the whole intake.")
    else:
        out.append(f"Flags: {counts['critical']} critical, {counts['warning']} warning, {counts['info']} info")
    for flag in report.flags:
        who = "the pair" if flag.participant == "pair" else f"participant {flag.participant}"
        out += ["", f"[{flag.severity.upper()}] {flag.title} ({who})", _wrap(flag.summary, "  ")]
        out.append("  Found:")
        for item in flag.evidence:
            out.append(_wrap(f"- {item.participant}: {item.question} -> {item.answer}", "    "))
        out += [_wrap("Why it matters: " + flag.explanation, "  "), _wrap("For review: " + flag.clinician_action, "  ")]
        out.append("  Limitations:")
        out += [_wrap("- " + text, "    ") for text in flag.limitations]
        out.append("  Sources:")
        out += [_wrap(f"- {ref.title} <{ref.url}>", "    ") for ref in flag.references]
        out.append(f"  Rule: {flag.rule_id} ({flag.rule_status}; review: {flag.review})")
    if report.missing_information:
        out += ["", "Unanswered questions that rules depend on:"]
        for gap in report.missing_information:
            out.append(_wrap(f"- {gap.participant}: {gap.question} [{gap.field}]", "  "))
    if report.engine_notice:
        out += ["", _wrap("Engine: " + report.engine_notice, "")]
    out += [
        "",
        (
            f"Rulebook {report.rulebook.version} ({report.rulebook.rules} rules, sha256 {report.rulebook.sha256[:16]}...); "
            f"program {report.program.id} {report.program.version} (sha256 {report.program.sha256[:16]}...); "
            f"engine {report.engine}; screening {report.library_version}"
        ),
        f"Report id {report.report_id}; intake sha256 {report.intake_sha256}",
    ]
    # answers (and a rule folder's texts) may hold terminal escapes or bidi controls: shown escaped
    return "\n".join(display.text(line) for line in out) + "\n"
