"""The report: the contract with intake systems, and its renderings (JSON and text).

A report lists flags, each with its explanation, evidence and sources, and the questions left
unanswered. It never says that anyone is eligible, cleared or safe: with no flags it says that
no rule matched and that a clinician still reviews. For a duo, :meth:`Report.view_for` gives
the view for one participant, leaving out everything that rests on the other's answers.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator
from pydantic_core import to_json

from . import display
from .findings import shortened
from .parts import (
    AnswersOverview,
    EvidenceItem,
    Finding,
    Flag,
    MedicationRead,
    MissingItem,
    Model,
    ProgramInfo,
    RulebookInfo,
    SessionInfo,
    Severity,
    Summary,
    built,
)

if TYPE_CHECKING:
    from ..intake.models import Intake

__all__ = [
    "NOTICE",
    "Flag",
    "Finding",
    "EvidenceItem",
    "MissingItem",
    "Report",
    "RulebookInfo",
    "ProgramInfo",
    "Summary",
    "render_text",
    "report_schema",
    "intake_sha256",
    "compute_report_id",
]

NOTICE = (
    "This screening supports a clinician's judgement and decides nothing. Each flag is a prompt "
    "to review, with its reasons and sources; no flag does not mean that a session is without risk. "
    "A qualified clinician reviews every intake."
)


class Report(Model):
    notice: str = Field(description="Fixed: the screening supports a clinician and decides nothing.")
    view: str = Field(description="'clinician' (everything) or 'participant:<id>' (that participant's own view).")
    report_id: str = Field(
        description=(
            "sha256 (hex) over the clinician report's compact JSON with this field and `engine` empty: the same intake, "
            "rulebook, program, library version and reference date always give the same id, on either engine, and any "
            "change gives another. "
            "A participant's view keeps the id of the clinician report it is drawn from."
        )
    )
    intake_sha256: str = Field(
        description=(
            "sha256 (hex) over the compact JSON of the validated intake (defaults filled in), so a report traces to "
            "the exact answers screened without holding them."
        )
    )
    library_version: str
    engine: str = Field(description="Which engine evaluated the rules: durable_rules or python.")
    engine_notice: str | None = Field(
        default=None,
        description="Why the reference evaluator ran alone, without the cross-check, when engine 'auto' could not use durable_rules.",
    )
    rulebook: RulebookInfo
    program: ProgramInfo
    session: SessionInfo
    participants: list[str]
    flags: list[Flag]
    missing_information: list[MissingItem]
    counts: dict[Severity, int]
    summary: Summary | None = Field(default=None, description="What needs attention, in a few lines (built from the findings).")
    findings: list[Finding] | None = Field(
        default=None,
        description="The flags as a clinician reads them: one per fact, grouped by whose it is (built from the flags).",
    )
    medications: list[MedicationRead] = Field(
        default_factory=list,
        description="Every medication line as written and as read: the drugs, their classes, what was set aside, the rules that used it.",
    )
    answers: list[AnswersOverview] = Field(
        default_factory=list,
        description="Per participant: blood pressure, weight, planned dose (per kg where known), questions left open.",
    )

    @model_validator(mode="after")
    def _derive(self) -> Report:
        # findings are a pure function of the flags and the missing list; fill them when absent
        if self.findings is None or self.summary is None:
            from .findings import build, summarise

            found = build(self.flags, self.missing_information, self.participants)
            object.__setattr__(self, "findings", found)
            object.__setattr__(self, "summary", summarise(found, self.participants, len(self.flags)))
        return self

    def with_flags(self, flags: list[Flag]) -> Report:
        """The same report with other flags (a program's overrides): findings are rebuilt."""
        return _rebuilt(self, {"flags": flags})

    def view_for(self, participant: str) -> Report:
        """This participant's view: only flags and gaps that rest on their own answers alone.

        ``participant`` is the id exactly as in the intake, or ``participant:<id>`` (the name
        the view is given); ids cannot be reserved words such as ``clinician``, so a view is
        never confused with the clinician's.
        """
        participant = participant.removeprefix("participant:")
        if participant not in self.participants:
            raise ValueError(f"no participant {participant!r} in this report")
        flags = [
            f
            for f in self.flags
            if set(f.participants) == {participant} and all(e.participant == participant for e in f.evidence)
        ]
        missing = [m for m in self.missing_information if m.participant == participant]
        return _rebuilt(
            self,
            {
                "view": f"participant:{participant}",
                "participants": [participant],
                "flags": flags,
                "missing_information": missing,
                "medications": [m for m in self.medications if m.participant == participant],
                "answers": [a for a in self.answers if a.participant == participant],
            },
        )

    def to_json(self, indent: int | None = 2) -> str:
        """Stable JSON: fields in schema order, flags in a fixed order.

        ``indent=None`` gives one compact line (batch output), serialised by pydantic's own
        encoder, several times faster than going through a dict and ``json.dumps``.
        """
        if indent is None:
            return compact_json(self).decode("utf-8")
        return json.dumps(self.model_dump(mode="json"), indent=indent, ensure_ascii=False)


def compact_json(report: Report) -> bytes:
    """The report's compact JSON: ``model_dump_json`` encoded, without decoding it first."""
    return Report.__pydantic_serializer__.to_json(report)


def _head(report: Report, report_id: str, engine: str) -> bytes:
    """The start of a report's compact JSON, up to and with ``engine`` (its first six fields)."""
    return b"".join(
        (
            b'{"notice":',
            to_json(report.notice),
            b',"view":',
            to_json(report.view),
            b',"report_id":',
            to_json(report_id),
            b',"intake_sha256":',
            to_json(report.intake_sha256),
            b',"library_version":',
            to_json(report.library_version),
            b',"engine":',
            to_json(engine),
        )
    )


def identified(fields: dict[str, Any]) -> tuple[Report, bytes]:
    """A clinician report built from its fields with its id computed, and its compact JSON.

    The JSON the id is computed over (``report_id`` and ``engine`` empty) differs from the
    report's own only in those two fields at its start, so the report's JSON is that one's with
    the start replaced: one serialisation for both (batch output writes the second for free).
    """
    blank = compact_json(built(Report, {**fields, **_FOR_ID}))
    report = built(Report, {**fields, "report_id": hashlib.sha256(blank).hexdigest()})
    start = _head(report, "", "")
    if not blank.startswith(start):  # never expected: then serialise again rather than guess
        return report, compact_json(report)
    return report, _head(report, report.report_id, report.engine) + blank[len(start) :]


_FOR_ID = {"report_id": "", "engine": ""}


def intake_sha256(intake: Intake) -> str:
    """sha256 over a validated intake's canonical form: its compact JSON as pydantic writes it
    (fields in model order, defaults filled in), so two spellings of the same answers agree."""
    return hashlib.sha256(intake.__pydantic_serializer__.to_json(intake)).hexdigest()


def compute_report_id(report: Report | dict[str, Any] | str) -> str:
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
    return hashlib.sha256(compact_json(report.model_copy(update=_FOR_ID))).hexdigest()


def _rebuilt(report: Report, update: dict[str, Any]) -> Report:
    from .findings import build, summarise

    flags = update.get("flags", report.flags)
    missing = update.get("missing_information", report.missing_information)
    participants = update.get("participants", report.participants)
    found = build(flags, missing, participants)
    return report.model_copy(
        update={
            **update,
            "counts": severity_counts(flags),
            "findings": found,
            "summary": summarise(found, participants, len(flags)),
        }
    )


def severity_counts(flags: list[Flag]) -> dict[str, int]:
    counts = {"critical": 0, "warning": 0, "info": 0}
    for flag in flags:
        counts[flag.severity] += 1
    return counts


def report_schema() -> dict[str, Any]:
    """The JSON Schema of a report (draft 2020-12, with ``$schema`` and ``$id``)."""
    from ..version import with_header

    return with_header(Report.model_json_schema(), "report")


# ---------------------------------------------------------------------------- text

_MARKS = {
    "[V]": "(read in the source)",
    "[R]": "(not read in the primary text)",
    "[S]": "(from a secondary source)",
    "[NF]": "(not found in the primary text)",
}
SUBSTANCE_NAMES = {"mdma": "MDMA", "lsd": "LSD", "dmt": "DMT"}


def plain(text: str) -> str:
    """Rule text for a reader: the research notes' evidence marks spelt out."""
    for mark, words in _MARKS.items():
        text = text.replace(mark, words)
    return text


def answer_text(item: EvidenceItem) -> str:
    if item.answer in ("unknown", None):
        return "not answered (or unsure)"
    return str(item.answer)


def whose(subject: str, participants: list[str] | None = None) -> str:
    if subject == "session":
        return "session plan"
    if subject == "pair":
        return "the pair" + (f" ({' and '.join(participants)})" if participants else "")
    return f"participant {subject}"


def session_line(report: Report) -> str:
    substance = SUBSTANCE_NAMES.get(report.session.substance, report.session.substance.capitalize())
    people = ", ".join(report.participants)
    return (
        f"{substance}, {report.session.format} session; participant{'s' if len(report.participants) > 1 else ''} {people}; "
        f"medication timing is counted up to {report.session.reference_date}"
    )


def _wrap(text: str, indent: str, later: str | None = None) -> str:
    # long words (URLs) stay whole, so a terminal can still open them
    return textwrap.fill(
        " ".join(text.split()),
        width=96,
        initial_indent=indent,
        subsequent_indent=later if later is not None else indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _findings(report: Report) -> list[Finding]:
    """A report's findings: never None once it is built (``None`` only asks the validator for them)."""
    return report.findings if report.findings is not None else []


def _summary(report: Report) -> Summary:
    if report.summary is not None:
        return report.summary
    from .findings import summarise

    return summarise(_findings(report), report.participants, len(report.flags))


def _summary_lines(report: Report) -> list[str]:
    summary = _summary(report)
    counts = summary.counts
    total = sum(counts.values())
    if not total:
        return ["No rule matched. A clinician still reviews the whole intake."]
    out = [
        (
            f"{total} finding{'s' if total != 1 else ''} ({counts['critical']} critical, {counts['warning']} warning, "
            f"{counts['info']} info) from {summary.flags} rule flag{'s' if summary.flags != 1 else ''}; details below."
        )
    ]
    if summary.address_first:
        out += ["", "Address first:"]
        for n, line in enumerate(summary.address_first, 1):
            who = whose(line.finding.split(":", 1)[0])
            out.append(_wrap(f"{n}. {line.severity.upper()} {line.title} ({who}): {line.review}.", "  ", "     "))
        out.append("")
    for group in summary.groups:
        out.append(group.heading)
        for line in group.lines:
            room = max(40, 100 - len(line.title))
            out.append(f"  {line.severity.upper():<8} {line.title} - {shortened(line.review, room)}")
    return out


def render_text(report: Report) -> str:
    """The clinician's report as text: the summary first, then each finding in full.

    A participant's view (``report.view_for(id)``) renders as text addressed to them instead.
    """
    if report.view.startswith("participant:"):
        return render_participant_text(report)
    out = [
        f"Screening report for the clinician: {session_line(report)}",
        f"Program: {report.program.id} {report.program.version}",
        "",
    ]
    out += _summary_lines(report)
    out += ["", _wrap(report.notice, "")]
    findings = _findings(report)
    by_id: dict[str, Finding] = {}
    for f in findings:
        by_id.setdefault(f.id, f)  # the first with an id, as a search from the top finds it
    reviews = {f.rule_id: f.review for f in report.flags}
    for n, finding in enumerate(findings, 1):
        # the answers of the findings it builds on are shown there (most findings build on none)
        shown = (
            {(e.participant, e.field) for f in findings if f.id in finding.rests_on for e in f.evidence}
            if finding.rests_on
            else set()
        )
        out += [
            "",
            f"{n}. [{finding.severity.upper()}] {finding.title} ({whose(finding.subject, finding.participants)})",
            _wrap(finding.summary, "   "),
        ]
        for ref in finding.rests_on:
            title = by_id[ref].title if ref in by_id else ref
            out.append(_wrap(f"Builds on: {title} ({whose(ref.split(':', 1)[0])}, above)", "   "))
        evidence = [e for e in finding.evidence if (e.participant, e.field) not in shown]
        if evidence:
            out.append("   Found:")
            for item in evidence:
                who = "" if item.participant == finding.subject else f"{item.participant}: "
                out.append(_wrap(f"- {who}{item.question} {answer_text(item)}", "     ", "       "))
        out += [_wrap("Why it matters: " + finding.explanation, "   "), _wrap("For review: " + finding.clinician_action, "   ")]
        others = [r for r in finding.rules[1:] if r.rule_id != finding.rules[0].rule_id]
        if others:
            out.append(_wrap("Also covers: " + "; ".join(dict.fromkeys(f"{r.title} ({r.severity})" for r in others)), "   "))
        out.append("   Limitations:")
        out += [_wrap("- " + plain(text), "     ", "       ") for text in finding.limitations]
        if finding.references:
            out.append("   Sources:")
            out += [_wrap(f"- {ref.title} <{ref.url}>", "     ", "       ") for ref in finding.references]
        rules = ", ".join(
            f"{r} (review: {reviews.get(r, 'not reviewed')})" for r in dict.fromkeys(r.rule_id for r in finding.rules)
        )
        out.append(f"   Rules: {rules}; {finding.rule_status}")
    out += _as_read_lines(report)
    if report.engine_notice:
        out += ["", _wrap("Engine: " + report.engine_notice, "")]
    out += ["", record_line(report)]
    # answers (and a rule folder's texts) may hold terminal escapes or bidi controls: shown escaped
    return "\n".join(display.text(line) for line in out) + "\n"


def drug_text(med: MedicationRead) -> str:
    """How one written line was read, in words: 'Lexapro: read as escitalopram (Serotonergic antidepressant)'."""
    parts = []
    for drug in med.drugs:
        if drug.read_as is None:
            continue
        how = "read as" if drug.status == "recognised" else "read, unconfirmed, as"
        classes = f" ({', '.join(drug.classes)})" if drug.classes else ""
        parts.append(f"{drug.written}: {how} {drug.read_as}{classes}")
    return "; ".join(parts) if parts else "no drug read"


def medication_status(med: MedicationRead) -> str:
    if med.status == "stopped":
        return f"stopped, last taken {med.last_taken}" if med.last_taken else "stopped, date not given"
    return "current" if med.status == "current" else "taking now or not: not answered"


def medication_use(med: MedicationRead) -> str:
    return "used by " + ", ".join(med.used_by) if med.used_by else "no rule used it"


def overview_text(item: AnswersOverview) -> str:
    parts = [f"blood pressure {item.bp_mmhg or 'not given'}", f"weight {_number(item.weight_kg, 'kg')}"]
    if item.dose_mg is not None:
        per_kg = f" ({item.dose_mg_per_kg:g} mg/kg)" if item.dose_mg_per_kg is not None else ""
        parts.append(f"planned dose {item.dose_mg:g} mg{per_kg}")
    parts.append(f"{item.left_open} question{'s' if item.left_open != 1 else ''} the rules read left open")
    return "; ".join(parts)


def _number(value: float | None, unit: str) -> str:
    return "not given" if value is None else f"{value:g} {unit}"


def _as_read_lines(report: Report) -> list[str]:
    out = ["", "Answers at a glance"]
    out += [_wrap(f"- Participant {a.participant}: {overview_text(a)}", "  ", "    ") for a in report.answers]
    out += ["", "Medications as read"]
    if not report.medications:
        out.append("  No medication or other substance was listed.")
    for med in report.medications:
        aside = f"; set aside: {', '.join(med.set_aside)}" if med.set_aside else ""
        out.append(
            _wrap(
                f'- {med.participant}: "{med.written}" ({medication_status(med)}): {drug_text(med)}{aside}; {medication_use(med)}',
                "  ",
                "    ",
            )
        )
    return out


def record_line(report: Report) -> str:
    extra = [f"{name} {getattr(report, name)}" for name in ("report_id", "intake_sha256") if getattr(report, name, None)]
    return "; ".join(
        [
            f"Program {report.program.id} {report.program.version}",
            f"rulebook {report.rulebook.version} ({report.rulebook.rules} rules, sha256 {report.rulebook.sha256[:16]}...)",
            f"engine {report.engine}",
            f"screening {report.library_version}",
            *extra,
        ]
    )


PARTICIPANT_INTRO = (
    "Thank you for answering the intake questions. This page is for you. It is not a decision about you or your "
    "session: it lists the points that your facilitator will talk through with you before the session, so that "
    "the plan fits you. A clinician reads every intake."
)
PARTICIPANT_PRIVATE = (
    "Points about your relationship or about harm and personal safety are not printed on this copy; they are talked "
    "about with you in private, and you can ask for them to be included."
)


def participant_points(report: Report, include_private: bool = False) -> tuple[list[Finding], list[MissingItem]]:
    """The findings a participant's own copy shows, and the questions they left open."""
    points, seen = [], set()
    for finding in _findings(report):
        if finding.category == "missing-information" and finding.id.endswith(":missing"):
            continue
        if finding.participant_copy == "on-request" and not include_private:
            continue
        if finding.participant_text not in seen:  # two rules with one sentence: say it once
            seen.add(finding.participant_text)
            points.append(finding)
    in_points = {(e.participant, e.field) for f in points for e in f.evidence if e.answer in ("unknown", None)}
    missing = [
        m
        for m in report.missing_information
        if (m.participant, m.field) not in in_points and (include_private or m.field.split(".")[0] != "relationship")
    ]
    return points, missing


def render_participant_text(report: Report, include_private: bool = False) -> str:
    """A participant's own view, addressed to them: plain, with no sources or clinician notes."""
    pid = report.view.split(":", 1)[1]
    points, missing = participant_points(report, include_private)
    out = [f"Your screening answers: what we will talk about (participant {pid})", "", _wrap(PARTICIPANT_INTRO, "")]
    out.append("")
    if points:
        out.append("To talk through with your facilitator:")
        out += [_wrap("- " + f.participant_text, "  ", "    ") for f in points]
    else:
        out.append(
            "None of the screening's points came up in your answers. Your facilitator will still go through the intake with you."
        )
    if missing:
        out += ["", "Questions left open, which you can answer with your facilitator:"]
        out += [_wrap("- " + m.question, "  ", "    ") for m in missing]
    if not include_private:
        out += ["", _wrap(PARTICIPANT_PRIVATE, "")]
    return "\n".join(display.text(line) for line in out) + "\n"
