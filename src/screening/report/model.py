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
import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import Field, model_validator
from pydantic_core import to_json

from ..i18n import N_, Translator, translator
from . import display
from .findings import first_point, limitations_of, references_of, rule_of, shortened, status_of
from .parts import (
    AnswersOverview,
    EvidenceItem,
    Finding,
    Flag,
    MedicationRead,
    MissingItem,
    Model,
    ParticipantCopies,
    ProgramInfo,
    ReportRule,
    RulebookInfo,
    SessionInfo,
    Severity,
    Summary,
    built,
)

if TYPE_CHECKING:
    from ..intake.models import Intake

__all__ = [
    "REPORT_VERSION",
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
    "compute_view_id",
    "ViewBinding",
    "is_version_1",
    "v1_report_id",
    "from_version_1",
]

NOTICE = N_(
    "This screening supports a clinician's judgement and decides nothing. Each flag is a prompt "
    "to review, with its reasons and sources; no flag does not mean that a session is without risk. "
    "A qualified clinician reviews every intake."
)


REPORT_VERSION: Final = 2


class Report(Model):
    report_version: Literal[2] = Field(
        default=REPORT_VERSION,
        description="The report contract's version: 2 (rule texts once under `rules`; flags and findings refer to them by id).",
    )
    notice: str = Field(description="Fixed: the screening supports a clinician and decides nothing.")
    view: str = Field(description="'clinician' (everything) or 'participant:<id>' (that participant's own view).")
    report_id: str = Field(
        description=(
            "sha256 (hex) over the clinician report's compact JSON with this field and `engine` empty: the same intake, "
            "rulebook, program, library version and reference date always give the same id, on either engine, and any "
            "change gives another. "
            "Empty in a participant's view: the clinician report's id rests on both participants' answers, so a view "
            "carries its own view_id instead (the clinician report binds each view_id to itself in participant_copies)."
        )
    )
    intake_sha256: str = Field(
        description=(
            "sha256 (hex) over the compact JSON of the validated intake (defaults filled in), so a report traces to "
            "the exact answers screened without holding them. Empty in a participant's view: a hash over low-entropy "
            "answers can be confirmed by guessing them, and in a duo it covers the other's answers too."
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
    rules: dict[str, ReportRule] = Field(
        description=(
            "The rules behind this report's flags, once each, by id: title, texts, limitations, sources and review "
            "status. Flags and findings refer to them by `rule_id` and carry only what is their own."
        )
    )
    questions: dict[str, str] = Field(
        description="Each intake field the flags' and findings' evidence names -> the question as asked (in the report's language)."
    )
    flags: list[Flag]
    missing_information: list[MissingItem]
    counts: dict[Severity, int]
    summary: Summary | None = Field(default=None, description="What needs attention, in a few lines (built from the findings).")
    findings: list[Finding] | None = Field(
        default=None,
        description="The flags as a clinician reads them: one per fact, grouped by whose it is (built from the flags).",
    )
    participant_copies: ParticipantCopies | None = Field(
        default=None,
        description="What a participant's own copy prints besides its points (program name, crisis numbers); in the clinician's report, each view's id.",
    )
    view_id: str | None = Field(
        default=None,
        description=(
            "A participant's view only: sha256 (hex) over this view's compact JSON with this field and `engine` empty, so "
            "over what the view itself shows and nothing of the other participant's answers."
        ),
    )
    language: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description=(
            "The language of the texts when not English ('nl'): the same report (same id) with its texts translated; "
            "a text with no translation is kept in English and marked. Left out for English."
        ),
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

            found = build(self.flags, self.missing_information, self.participants, self.rules)
            object.__setattr__(self, "findings", found)
            object.__setattr__(self, "summary", summarise(found, len(self.flags)))
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
        view = built(Report, self._view_fields(participant))
        return view.model_copy(update={"view_id": compute_view_id(view)})

    def _view_own(self, participant: str) -> dict[str, Any]:
        """What this participant's view rests on (its :class:`ViewBinding`): their own flags and
        gaps, medications and answers, and the copy's crisis numbers when their answers call for them."""
        participant = participant.removeprefix("participant:")
        if participant not in self.participants:
            raise ValueError(f"no participant {participant!r} in this report")
        copies = self.participant_copies
        return {
            "view": f"participant:{participant}",
            "library_version": self.library_version,
            "rulebook": self.rulebook,
            "program": self.program,
            "session": self.session,
            "participants": [participant],
            "flags": [
                f
                for f in self.flags
                if set(f.participants) == {participant} and all(e.participant == participant for e in f.evidence)
            ],
            "missing_information": [m for m in self.missing_information if m.participant == participant],
            # the crisis numbers only on the view of a participant whose answers call for them
            "participant_copies": built(
                ParticipantCopies,
                {
                    "program_title": copies.program_title,
                    "crisis": copies.crisis if harm_reported(self, participant) else None,
                    "view_ids": {},
                },
                in_order=True,
            )
            if copies is not None
            else None,
            "medications": [m for m in self.medications if m.participant == participant],
            "answers": [a for a in self.answers if a.participant == participant],
        }

    def _view_fields(self, participant: str) -> dict[str, Any]:
        """Every field of this participant's view (``view_id`` empty): what it rests on, and what follows from that."""
        from .findings import build, summarise

        own = self._view_own(participant)
        flags, missing = own["flags"], own["missing_information"]
        rules = {f.rule_id: self.rules[f.rule_id] for f in flags}
        asked = {e.field for f in flags for e in f.evidence} | {m.field for m in missing}
        found = build(flags, missing, own["participants"], rules)
        return {
            **self.__dict__,
            **own,
            # nothing computed over the other's answers: no report id, no intake hash
            "report_id": "",
            "intake_sha256": "",
            "rules": rules,
            "questions": {name: text for name, text in self.questions.items() if name in asked},
            "counts": severity_counts(flags),
            "findings": found,
            "summary": summarise(found, len(flags)),
            "view_id": None,
        }

    def in_language(self, lang: str | None) -> Report:
        """The same report with its texts in a language (English: unchanged); it records the language.
        Each rule's texts are translated once, under ``rules``; flags and findings only translate
        their questions and derived titles."""
        _ = translator(lang)
        if _.lang == "en":
            return self

        def rule(item: ReportRule) -> ReportRule:
            return item.model_copy(
                update={
                    "title": _(item.title),
                    "summary": _(item.summary),
                    "explanation": _(item.explanation),
                    "clinician_action": _(item.clinician_action),
                    "participant_text": _(item.participant_text),
                    "limitations": [_(t) for t in item.limitations],
                }
            )

        return self.model_copy(
            update={
                "notice": _(self.notice),
                "language": _.lang,
                "rules": {rule_id: rule(item) for rule_id, item in self.rules.items()},
                "questions": {name: _(text) for name, text in self.questions.items()},
                "findings": [f.model_copy(update={"title": finding_title(f.title, _)}) for f in _findings(self)],
                "missing_information": [m.model_copy(update={"question": _(m.question)}) for m in self.missing_information],
            }
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
    """The start of a report's compact JSON, up to and with ``engine`` (its first seven fields)."""
    return b"".join(
        (
            b'{"report_version":',
            to_json(report.report_version),
            b',"notice":',
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


def identified(fields: dict[str, Any], rules_json: bytes) -> tuple[Report, bytes]:
    """A clinician report built from its fields with its id computed, and its compact JSON.

    The JSON the id is computed over (``report_id`` and ``engine`` empty) differs from the
    report's own only in those two fields at its start, so the report's JSON is that one's with
    the start replaced: one serialisation for both (batch output writes the second for free).
    ``rules_json``: the compact JSON of ``fields["rules"]``, made from each rule's JSON written
    once per rulebook (rule texts are most of a report's bytes and never change with the answers).
    """
    fields = _bound_to_views({"view_id": None, **fields})
    blank = _blank_json(fields, rules_json)
    report = built(Report, {**fields, "report_id": hashlib.sha256(blank).hexdigest()})
    start = _head(report, "", "")
    if not blank.startswith(start):  # never expected: then serialise again rather than guess
        return report, compact_json(report)
    return report, _head(report, report.report_id, report.engine) + blank[len(start) :]


_FOR_ID = {"report_id": "", "engine": ""}
_NO_RULES = b',"rules":{},"questions":'


def _blank_json(fields: dict[str, Any], rules_json: bytes) -> bytes:
    """The compact JSON the report id is computed over, with ``rules_json`` in place of the rules.

    The rules are left empty and their JSON set in at the one place ``"rules":{}`` can stand: a
    quote inside a JSON string is always escaped, so ``,"rules":{},"questions":`` is a key and
    its value, and only the report itself has those two keys one after the other."""
    head, found, tail = compact_json(built(Report, {**fields, **_FOR_ID, "rules": {}})).partition(_NO_RULES)
    if found:
        return b"".join((head, b',"rules":', rules_json, b',"questions":', tail))
    return compact_json(built(Report, {**fields, **_FOR_ID}))  # never expected: serialise the rules too rather than guess


class ViewBinding(Model):
    """What a participant's ``view_id`` is computed over: everything the view rests on. The rest of
    the view (its rules and questions, counts, findings and summary) follows from these and the
    rulebook the binding names, so the id is computed without building the view (``screen`` binds
    every view of a duo). Like ``report_id``, it is computed over the English report; a view in
    another language carries the same id."""

    view: str
    library_version: str
    rulebook: RulebookInfo
    program: ProgramInfo
    session: SessionInfo
    participants: list[str]
    flags: list[Flag]
    missing_information: list[MissingItem]
    participant_copies: ParticipantCopies | None
    medications: list[MedicationRead]
    answers: list[AnswersOverview]


def _binding_id(fields: dict[str, Any]) -> str:
    binding = built(ViewBinding, fields)
    return hashlib.sha256(ViewBinding.__pydantic_serializer__.to_json(binding)).hexdigest()


def compute_view_id(view: Report) -> str:
    """sha256 over the compact JSON of a participant's view's :class:`ViewBinding`: over what the
    view rests on, so it confirms nothing about answers the view leaves out."""
    if not view.view.startswith("participant:"):
        raise ValueError("a view id is computed over a participant's view, not the clinician report")
    return _binding_id(view.__dict__)


def fast_view_id(report: Report, participant: str) -> str:
    """``compute_view_id(report.view_for(participant))`` without building the view."""
    return _binding_id(report._view_own(participant))


def _bound_to_views(fields: dict[str, Any]) -> dict[str, Any]:
    """The clinician report's fields with each participant's view id recorded in ``participant_copies``."""
    copies = fields.get("participant_copies")
    if copies is None:
        return fields
    draft = built(Report, {**fields, **_FOR_ID})
    ids = {pid: fast_view_id(draft, pid) for pid in draft.participants}
    bound = built(
        ParticipantCopies, {"program_title": copies.program_title, "crisis": copies.crisis, "view_ids": ids}, in_order=True
    )
    return {**fields, "participant_copies": bound}


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
    rules = update.get("rules", report.rules)
    found = build(flags, missing, participants, rules)
    return report.model_copy(
        update={
            **update,
            "counts": severity_counts(flags),
            "findings": found,
            "summary": summarise(found, len(flags)),
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

    return with_header(Report.model_json_schema(), "report", REPORT_VERSION)


# ---------------------------------------------------------------------------- text

_MARKS = {
    "[V]": "(read in the source)",
    "[R]": "(not read in the primary text)",
    "[S]": "(from a secondary source)",
    "[NF]": "(not found in the primary text)",
}
SUBSTANCE_NAMES = {"mdma": "MDMA", "lsd": "LSD", "dmt": "DMT"}
SEVERITY_WORDS = {"critical": N_("critical"), "warning": N_("warning"), "info": N_("info")}
FORMAT_WORDS = {"individual": N_("individual"), "duo": N_("duo")}
YES_NO = {"yes": N_("yes"), "no": N_("no")}
# A rule's status and review state, shown beside its id (marked here so that they are in the catalogue).
STATUS_WORDS = (
    N_("draft"),
    N_("in review"),
    N_("approved"),
    N_("changes requested"),
    N_("changed since approval"),
)


def plain(text: str) -> str:
    """Rule text for a reader: the research notes' evidence marks spelt out."""
    for mark, words in _MARKS.items():
        text = text.replace(mark, words)
    return text


def answer_text(item: EvidenceItem, lang: str | None = None) -> str:
    _ = translator(lang)
    if item.answer in ("unknown", None):
        return _("not answered (or unsure)")
    if isinstance(item.answer, str) and item.answer in YES_NO:
        return _(YES_NO[item.answer])
    return str(item.answer)


def whose(subject: str, participants: list[str] | None = None, lang: str | None = None) -> str:
    _ = translator(lang)
    if subject == "session":
        return _("session plan")
    if subject == "pair":
        joined = _(" and ").join(participants or [])
        return _("the pair") + (f" ({joined})" if participants else "")
    return _("participant {id}").format(id=subject)


def capitalised(text: str) -> str:
    """The first letter upper case, the rest as it is (participant ids keep their case)."""
    return text[:1].upper() + text[1:]


def severity_word(severity: str, lang: str | None = None) -> str:
    """The severity as the reader's language writes it (upper case in the text report)."""
    return translator(lang)(SEVERITY_WORDS.get(severity, severity))


def session_line(report: Report, lang: str | None = None) -> str:
    _ = translator(lang)
    substance = SUBSTANCE_NAMES.get(report.session.substance, report.session.substance.capitalize())
    people = ", ".join(report.participants)
    form = _(FORMAT_WORDS.get(report.session.format, report.session.format))
    date = _.date(report.session.reference_date)
    if len(report.participants) > 1:
        line = _("{substance}, {format} session; participants {people}; medication timing is counted up to {date}")
    else:
        line = _("{substance}, {format} session; participant {people}; medication timing is counted up to {date}")
    return line.format(substance=substance, format=form, people=people, date=date)


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

    return summarise(_findings(report), len(report.flags))


# i18n: code
NOT_ANSWERED = N_("Not answered: {title}")
# i18n: code
ONE_NOT_ANSWERED = N_("Not answered: {n} question the rules read")
# i18n: code
MANY_NOT_ANSWERED = N_("Not answered: {n} questions the rules read")


def finding_title(title: str, _: Translator) -> str:
    """A finding's title in the translator's language. Titles the findings builder derives
    ("Not answered: 3 questions the rules read", "Not answered: <a rule's title>") are
    translated from their parts."""
    if _.lang == "en" or _.has(title):
        return _(title)
    counted = re.fullmatch(r"Not answered: (\d+) questions? the rules read", title)
    if counted:
        n = int(counted.group(1))
        one = _(ONE_NOT_ANSWERED) if n == 1 else _(MANY_NOT_ANSWERED)
        return one.format(n=n)
    if title.startswith("Not answered: "):
        rest = title.removeprefix("Not answered: ")
        for original in (rest[:1].upper() + rest[1:], rest):
            if _.has(original):
                inner = _(original)
                return _(NOT_ANSWERED).format(title=inner[:1].lower() + inner[1:])
    return _(title)


@dataclass(frozen=True)
class SummaryLine:
    """One line of the summary as a reader sees it: built from the finding it names and its rule."""

    finding: str
    severity: Severity
    title: str
    review: str  # the first point of what to review, in full (its first sentence)


@dataclass(frozen=True)
class SummaryGroupText:
    subject: str
    heading: str
    lines: list[SummaryLine]


@dataclass(frozen=True)
class SummaryText:
    counts: dict[Severity, int]
    flags: int
    address_first: list[SummaryLine]
    groups: list[SummaryGroupText]


def summary_in(report: Report, lang: str | None = None) -> SummaryText:
    """The summary with its lines written out, in a language: each line is the finding's title
    and the first point of its rule's clinician action (the report's summary holds only ids)."""
    from .findings import heading

    _ = translator(lang)
    summary = _summary(report)
    by_id = {f.id: f for f in _findings(report)}

    def line(finding_id: str) -> SummaryLine:
        finding = by_id[finding_id]
        action = _(rule_of(finding, report.rules).clinician_action)
        return SummaryLine(finding_id, finding.severity, finding_title(finding.title, _), first_point(action))

    groups = [
        SummaryGroupText(
            group.subject,
            heading(group.subject, report.participants)
            if _.lang == "en"
            else capitalised(whose(group.subject, report.participants, lang)),
            [line(i) for i in group.findings],
        )
        for group in summary.groups
    ]
    return SummaryText(summary.counts, summary.flags, [line(i) for i in summary.address_first], groups)


def _summary_lines(report: Report, lang: str | None = None) -> list[str]:
    _ = translator(lang)
    summary = summary_in(report, lang)
    counts = summary.counts
    total = sum(counts.values())
    if not total:
        return [_("No rule matched. A clinician still reviews the whole intake.")]
    findings = _("{total} finding") if total == 1 else _("{total} findings")
    flags = _("{flags} rule flag") if summary.flags == 1 else _("{flags} rule flags")
    words = {s: _(w) for s, w in SEVERITY_WORDS.items()}
    out = [
        (
            findings.format(total=total) + f" ({counts['critical']} {words['critical']}, {counts['warning']} {words['warning']}, "
            f"{counts['info']} {words['info']}) "
            + _("from {flags}; details below.").format(flags=flags.format(flags=summary.flags))
        )
    ]
    if summary.address_first:
        out += ["", _("Address first:")]
        for n, line in enumerate(summary.address_first, 1):
            who = whose(line.finding.split(":", 1)[0], None, lang)
            out.append(_wrap(f"{n}. {words[line.severity].upper()} {line.title} ({who}): {line.review}.", "  ", "     "))
        out.append("")
    for group in summary.groups:
        out.append(group.heading)
        for line in group.lines:
            room = max(40, 100 - len(line.title))
            out.append(f"  {words[line.severity].upper():<8} {line.title} - {shortened(line.review, room)}")
    return out


def render_text(report: Report, lang: str | None = None) -> str:
    """The clinician's report as text: the summary first, then each finding in full.

    A participant's view (``report.view_for(id)``) renders as text addressed to them instead.
    ``lang``: the language (English by default); rule texts with no translation are marked.
    """
    if report.view.startswith("participant:"):
        return render_participant_text(report, lang=lang)
    _ = translator(lang)
    out = [
        _("Screening report for the clinician: {session}").format(session=session_line(report, lang)),
        _("Program: {program}").format(program=f"{report.program.id} {report.program.version}"),
        "",
    ]
    out += _summary_lines(report, lang)
    out += ["", _wrap(_(report.notice), "")]
    findings = _findings(report)
    by_id: dict[str, Finding] = {}
    for f in findings:
        by_id.setdefault(f.id, f)  # the first with an id, as a search from the top finds it
    rules = report.rules
    position: dict[str, int] = {}
    for n, f in enumerate(findings, 1):
        position.setdefault(f.id, n)
    for n, finding in enumerate(findings, 1):
        # the answers of the findings it builds on are shown there (most findings build on none)
        shown = (
            {(e.participant, e.field) for f in findings if f.id in finding.rests_on for e in f.evidence}
            if finding.rests_on
            else set()
        )
        out += [
            "",
            (
                f"{n}. [{severity_word(finding.severity, lang).upper()}] {finding_title(finding.title, _)} "
                f"({whose(finding.subject, finding.participants, lang)})"
            ),
            _wrap(_(rule_of(finding, rules).summary), "   "),
        ]
        below = []
        for ref in finding.rests_on:
            title = _(by_id[ref].title) if ref in by_id else ref
            if position.get(ref, 0) > n:  # a combination comes before the findings it combines
                below.append(f"{title} ({whose(ref.split(':', 1)[0], lang=lang)})")
                continue
            out.append(
                _wrap(
                    _("Builds on: {title} ({whose}, above)").format(title=title, whose=whose(ref.split(":", 1)[0], lang=lang)),
                    "   ",
                )
            )
        if below:
            out.append(_wrap(_("Builds on, below: {titles}").format(titles="; ".join(below)), "   "))
        evidence = [e for e in finding.evidence if (e.participant, e.field) not in shown]
        if evidence:
            out.append("   " + _("Found:"))
            for item in evidence:
                who = "" if item.participant == finding.subject else f"{item.participant}: "
                out.append(_wrap(f"- {who}{_(report.questions[item.field])} {answer_text(item, lang)}", "     ", "       "))
        rule = rule_of(finding, rules)
        out += [
            _wrap(_("Why it matters: ") + _(rule.explanation), "   "),
            _wrap(_("For review: ") + _(rule.clinician_action), "   "),
        ]
        others = [r for r in finding.rules[1:] if r.rule_id != finding.rules[0].rule_id]
        if others:
            covered = "; ".join(dict.fromkeys(f"{_(rules[r.rule_id].title)} ({severity_word(r.severity, lang)})" for r in others))
            out.append(_wrap(_("Also covers: ") + covered, "   "))
        out.append("   " + _("Limitations:"))
        out += [_wrap("- " + plain(_(text)), "     ", "       ") for text in limitations_of(finding, rules)]
        references = references_of(finding, rules)
        if references:
            out.append("   " + _("Sources:"))
            out += [_wrap(f"- {ref.title} <{ref.url}>", "     ", "       ") for ref in references]
        named = ", ".join(
            f"{r} ({_(rules[r].rule_status if r in rules else status_of(finding, rules))})"
            for r in dict.fromkeys(r.rule_id for r in finding.rules)
        )
        out.append("   " + _("Rules: {rules}").format(rules=named))
    out += _as_read_lines(report)
    if report.engine_notice:
        out += ["", _wrap(_("Engine: ") + report.engine_notice, "")]
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


# i18n: participant
PARTICIPANT_INTRO = N_(
    "Thank you for answering the intake questions. This page is for you. It is not a decision about you or your "
    "session: it lists the points that your facilitator will talk through with you before the session, so that "
    "the plan fits you. A clinician reads every intake."
)
# i18n: participant
PARTICIPANT_PRIVATE = N_(
    "Points about your relationship or about harm and personal safety are not printed on this copy; they are talked "
    "about with you in private, and you can ask for them to be included."
)
# What the copy says when it has no point of its own to print. Each is said only when it is true:
# "none came up" only when no finding rests on this participant at all; in a duo the copy cannot
# say that (findings about the two together rest on the other's answers too, which this copy
# must not reflect), so it says what holds either way.
# i18n: participant
PARTICIPANT_NONE = N_(
    "None of the screening's points came up in your answers. Your facilitator will still go through the intake with you."
)
# i18n: participant
PARTICIPANT_NONE_DUO = N_(
    "No point came up from your own answers alone. Your facilitator will still go through the intake with you, "
    "including anything about the two of you together."
)
# i18n: participant
PARTICIPANT_ONLY_OPEN = N_("The points that came up are the questions left open, below.")
# i18n: participant
PARTICIPANT_WITHHELD = N_(
    "There are points from your answers that your facilitator will talk through with you in private. They are not "
    "printed on this copy, and you can ask for them to be included."
)


# i18n: participant
PARTICIPANT_CRISIS = N_(
    "If you are thinking of harming yourself or someone else, you can talk with someone now, at any hour, "
    "as well as with your facilitator:"
)
# The answers that call for crisis numbers on the copy: current thoughts of harm (yes, or the
# question left open) or a suicide attempt in the last 12 months.
HARM_ANSWERS = {
    "psychiatric.thoughts_of_harm_now": ("yes", "unknown", None),
    "psychiatric.suicide_attempt_last_12_months": ("yes",),
}


def harm_reported(report: Report, participant: str) -> bool:
    """Whether this participant's answers call for crisis numbers on their copy."""
    if any(m.participant == participant and m.field == "psychiatric.thoughts_of_harm_now" for m in report.missing_information):
        return True
    return any(
        item.participant == participant and item.field in HARM_ANSWERS and item.answer in HARM_ANSWERS[item.field]
        for finding in _findings(report)
        for item in finding.evidence
    )


def crisis_lines(report: Report) -> list[str]:
    """The crisis numbers as the copy prints them, one line each."""
    copies = report.participant_copies
    if copies is None or copies.crisis is None:
        return []
    return [f"{c.name}: {c.number} ({c.how}) <{c.source}>" for c in copies.crisis.contacts]


# i18n: participant
PARTICIPANT_CONTACT = N_("Questions about this page go to your facilitator, or to the practice that gave it to you.")


def copy_record(report: Report, lang: str | None = None) -> str:
    """The copy's record in plain words: the program's name, a date and who to contact; no
    hash, engine or version (they mean nothing to the reader, and a hash can be guessed)."""
    _ = translator(lang)
    copies = report.participant_copies
    program = _(copies.program_title) if copies is not None else report.program.id  # the title is in the catalogue
    # i18n: participant
    line = _("Program: {program}; dates counted up to {date}.").format(
        program=program, date=copy_date(report.session.reference_date, lang)
    )
    return f"{line} {_(PARTICIPANT_CONTACT)}"


def copy_date(day: dt.date, lang: str | None = None) -> str:
    """A date as the copy's reader writes it (15 January 2027; 15 januari 2027)."""
    _ = translator(lang)
    return f"{day:%d %B %Y}" if _.lang == "en" else _.date(day)


class ParticipantCopy(Model):
    """What a participant's printed copy says, decided once for the text and the HTML page."""

    participant: str
    points: list[str] = Field(description="The sentences to talk through, in order.")
    missing: list[str] = Field(description="The questions left open, as the intake asked them.")
    opening: str | None = Field(description="Said when there is no point to print: only what is true.")
    withheld: bool = Field(description="Points rest on this participant's answers but are left off this copy.")
    crisis: list[str] = Field(description="Crisis numbers, when the answers report harm (even if those points are withheld).")


_COUNTED = re.compile(r"^(\d+): ")


# i18n: participant
UNRECOGNISED_COUNT = N_("{count} items on your medicine list were not recognised. Your facilitator will ask you what they are.")


def _point_text(finding: Finding, report_rules: dict[str, ReportRule], _: Translator) -> str:
    """A finding's sentence for the participant; a list answer's count is the data's, not the rule's."""
    for item in finding.evidence:
        if item.field == "medications.unrecognised" and isinstance(item.answer, str):
            found = _COUNTED.match(item.answer)
            count = int(found.group(1)) if found else 1
            if count != 1:
                return _(UNRECOGNISED_COUNT).format(count=count)
    return _(rule_of(finding, report_rules).participant_text)


def participant_points(report: Report, include_private: bool = False) -> tuple[list[Finding], list[MissingItem]]:
    """The findings a participant's own copy shows, and the questions they left open."""
    points, seen = [], set()
    for finding in _findings(report):
        if finding.id.endswith(":missing"):
            continue
        if finding.participant_copy == "on-request" and not include_private:
            continue
        text = rule_of(finding, report.rules).participant_text
        if text not in seen:  # two rules with one sentence: say it once
            seen.add(text)
            points.append(finding)
    in_points = {(e.participant, e.field) for f in points for e in f.evidence if e.answer in ("unknown", None)}
    missing = [
        m
        for m in report.missing_information
        if (m.participant, m.field) not in in_points and (include_private or m.field.split(".")[0] != "relationship")
    ]
    return points, missing


def participant_copy(report: Report, include_private: bool = False, lang: str | None = None) -> ParticipantCopy:
    """The content of a participant's copy (``report`` is their view, ``report.view_for(id)``),
    in the copy's language (English by default; see :mod:`screening.i18n`)."""
    _ = translator(lang)
    pid = report.view.split(":", 1)[1]
    points, missing = participant_points(report, include_private)
    own = [f for f in _findings(report) if pid in f.participants]
    shown = {rule_of(f, report.rules).participant_text for f in points}
    withheld = any(rule_of(f, report.rules).participant_text not in shown for f in own if not f.id.endswith(":missing")) or (
        not include_private and any(m.field.split(".")[0] == "relationship" for m in report.missing_information)
    )
    opening = None
    if not points:
        if missing:
            opening = PARTICIPANT_ONLY_OPEN
        elif withheld:
            opening = None
        elif report.session.format == "duo":
            opening = PARTICIPANT_NONE_DUO
        elif not own:
            opening = PARTICIPANT_NONE
    return ParticipantCopy(
        participant=pid,
        points=list(dict.fromkeys(_point_text(f, report.rules, _) for f in points)),
        missing=[_(m.question) for m in missing],
        opening=_(opening) if opening else None,
        withheld=withheld,
        crisis=crisis_lines(report) if harm_reported(report, pid) else [],
    )


def render_participant_text(report: Report, include_private: bool = False, lang: str | None = None) -> str:
    """A participant's own view, addressed to them: plain, with no sources or clinician notes.

    ``lang``: the language of the copy (English by default; see :mod:`screening.i18n`)."""
    _ = translator(lang)
    copy = participant_copy(report, include_private, lang)
    # i18n: participant
    heading = _("Your screening answers: what we will talk about (participant {pid})").format(pid=copy.participant)
    out = [heading, "", _wrap(_(PARTICIPANT_INTRO), "")]
    out.append("")
    if copy.crisis:
        out.append(_wrap(_(PARTICIPANT_CRISIS), ""))
        out += [_wrap("- " + line, "  ", "    ") for line in copy.crisis]
        out.append("")
    if copy.points:
        # i18n: participant
        out.append(_("To talk through with your facilitator:"))
        out += [_wrap("- " + text, "  ", "    ") for text in copy.points]
    if copy.withheld:
        out += ["", _wrap(_(PARTICIPANT_WITHHELD), "")] if copy.points else [_wrap(_(PARTICIPANT_WITHHELD), "")]
    if copy.opening:
        out.append(_wrap(copy.opening, ""))
    if copy.missing:
        # i18n: participant
        out += ["", _("Questions left open, which you can answer with your facilitator:")]
        out += [_wrap("- " + question, "  ", "    ") for question in copy.missing]
    if not include_private and not copy.withheld:
        out += ["", _wrap(_(PARTICIPANT_PRIVATE), "")]
    out += ["", _wrap(copy_record(report, lang), "")]
    return "\n".join(display.text(line) for line in out) + "\n"


# ---------------------------------------------------------------------------- version 1


def is_version_1(data: Any) -> bool:
    """A report written before contract version 2: no ``report_version``, texts inside each flag."""
    return isinstance(data, dict) and "report_version" not in data and isinstance(data.get("flags"), list)


def v1_report_id(data: dict[str, Any]) -> str:
    """A version-1 report's id, as version 1 computed it: sha256 over its compact JSON (in its own
    field order) with ``report_id`` and ``engine`` empty."""
    return hashlib.sha256(to_json({**data, "report_id": "", "engine": ""})).hexdigest()


def from_version_1(data: dict[str, Any]) -> Report:
    """A version-1 clinician report read as version 2: each rule's texts moved from its flags to
    ``rules``, the findings and summary rebuilt from the flags. It keeps its version-1
    ``report_id`` (decisions recorded on it are found by that id); check that id with
    :func:`v1_report_id` on the version-1 data, not with :func:`compute_report_id`."""
    rules: dict[str, Any] = {}
    questions: dict[str, str] = {m["field"]: m["question"] for m in data.get("missing_information", [])}
    flags = []
    for flag in data["flags"]:
        rules.setdefault(flag["rule_id"], {name: flag[name] for name in ReportRule.model_fields if name in flag})
        for item in flag.get("evidence", []):
            questions.setdefault(item["field"], item.pop("question", item["field"]))
        flags.append({name: flag[name] for name in Flag.model_fields if name in flag})
    fields = {name: value for name, value in data.items() if name in Report.model_fields}
    fields.update(rules=rules, questions=dict(sorted(questions.items())), flags=flags, findings=None, summary=None)
    copies = fields.get("participant_copies")
    if isinstance(copies, dict):
        fields["participant_copies"] = copies
    return Report.model_validate(fields)
