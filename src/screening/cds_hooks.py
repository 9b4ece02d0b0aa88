"""A report as a CDS Hooks response: one card per finding, for an EHR to show a clinician.

Cards follow the report's summary: the session plan, each participant, then the pair, most
serious first in each, and every card's summary starts with whose it is. Cards carry no
``suggestions``: the screening proposes nothing to order or change, it only asks a clinician
to review. Each card's ``uuid`` is stable for the same main rule, subject and rulebook, so an
EHR can recognise a card it has shown before and the override given to it.
"""

from __future__ import annotations

import json
import re
import uuid

from . import display
from .fhir import BASE_URL
from .report import Finding, Report, plain

__all__ = ["cards", "render_cds_hooks", "card_uuid", "DEFAULT_OVERRIDE_REASONS", "OVERRIDE_SYSTEM"]

OVERRIDE_SYSTEM = f"{BASE_URL}/CodeSystem/override-reason"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE_URL}/cds-hooks/card")
MAX_SUMMARY = 139  # CDS Hooks: "<140 characters"

DEFAULT_OVERRIDE_REASONS = (
    "Reviewed with participant; risk accepted by clinician",
    "Answer was wrong or out of date; intake corrected",
    "Addressed in the session plan",
    "Not relevant for this participant or session",
)


def card_uuid(rule_id: str, participant: str, rulebook_sha256: str, program: str | None = None) -> str:
    """The same rule for the same participant under the same rulebook (and program) gives the same uuid.

    ``program`` is the program's id and sha256 for any program but 'default', whose cards keep
    the uuids they had before programs existed.
    """
    extra = f"\n{program}" if program else ""
    return str(uuid.uuid5(_NAMESPACE, f"{rule_id}\n{participant}\n{rulebook_sha256}{extra}"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64] or "reason"


def _override_reasons(rule_id: str, rulebook=None) -> list[dict[str, str]]:
    reasons: tuple[str, ...] | list[str] = ()
    if rulebook is not None:
        try:
            reasons = rulebook.rule(rule_id).meta.override_reasons
        except KeyError:
            reasons = ()
    return [{"system": OVERRIDE_SYSTEM, "code": _slug(r), "display": display.text(r)} for r in (reasons or DEFAULT_OVERRIDE_REASONS)]


def _whose(finding: Finding) -> str:
    if finding.subject == "session":
        return "Session plan"
    if finding.subject == "pair":
        return f"Pair ({' and '.join(finding.participants)})"
    return f"Participant {finding.subject}"


def _summary(finding: Finding) -> str:
    who = _whose(finding)
    shared = finding.subject == "pair" and finding.rules and finding.rules[0].participant != "pair"  # both said it: the title reads for two
    for text in ([finding.title] if finding.not_answered or shared else [finding.summary, finding.title]):
        text = display.text(" ".join(text.split()))
        if len(f"{who}: {text}") <= MAX_SUMMARY:
            return f"{who}: {text}"
    text = f"{who}: {display.text(finding.title)}"
    return text[: MAX_SUMMARY - 1].rstrip() + "…"


_md = display.markdown  # plain text in Markdown: no markup, no links, no control characters


def _detail(report: Report, finding: Finding, program: str) -> str:
    by_id = {f.id: f for f in report.findings}
    shown = {(e.participant, e.field) for ref in finding.rests_on if ref in by_id for e in by_id[ref].evidence}
    lines = [f"**{_md(_whose(finding))}:** {_md(finding.title)}", "", _md(finding.explanation)]
    if finding.rests_on:
        lines += ["", "**Builds on:** " + "; ".join(_md(by_id[r].title if r in by_id else r) for r in finding.rests_on)]
    evidence = [e for e in finding.evidence if (e.participant, e.field) not in shown]
    if evidence:
        lines += ["", "**Found in the intake:**", ""]
        for item in evidence:
            answer = "not answered (or unsure)" if item.answer in ("unknown", None) else item.answer
            lines.append(f"- {_md(item.participant)}: {_md(item.question)} → **{_md(answer)}**")
    lines += ["", f"**For review:** {_md(finding.clinician_action)}"]
    others = list(dict.fromkeys(f"{r.title} ({r.severity})" for r in finding.rules[1:] if r.rule_id != finding.rules[0].rule_id))
    if others:
        lines += ["", "**Also covers:** " + _md("; ".join(others))]
    lines += ["", "**Limitations:**", ""]
    lines += [f"- {_md(plain(text))}" for text in finding.limitations]
    if finding.references:
        lines += ["", "**Sources:**", ""]
        lines += [f"- [{_md(ref.title)}]({display.link_target(ref.url)}): {_md(ref.says)}" for ref in finding.references]
    rules = ", ".join(f"`{r}`" for r in dict.fromkeys(r.rule_id for r in finding.rules))
    lines += ["", f"Rules {rules} ({finding.rule_status}), program `{_md(program)}`. *{_md(report.notice)}*"]
    return "\n".join(lines)


def cards(report: Report, rulebook=None) -> list[dict]:
    """One CDS Hooks card per finding, in the summary's order (session, participants, pair).

    ``rulebook``: where each rule's override reasons are read; defaults to the shipped one when
    it is the rulebook the report was made with, and to a general list otherwise.
    """
    if rulebook is None:
        from .rulebook import default

        shipped = default()
        rulebook = shipped if shipped.sha256 == report.rulebook.sha256 else None
    program = report.program
    scope = None if program.id == "default" else f"{program.id}\n{program.sha256}"
    shown = f"{program.id} {program.version}"
    out = []
    for finding in report.findings:
        main = finding.rules[0].rule_id if finding.rules else finding.id
        source = finding.references[0] if finding.references else None
        out.append({
            "uuid": card_uuid(main, finding.subject, report.rulebook.sha256, scope),
            "summary": _summary(finding),
            "indicator": finding.severity,
            "detail": _detail(report, finding, shown),
            "source": {"label": display.text(source.title), "url": source.url} if source else {"label": "screening rulebook " + report.rulebook.version},
            "overrideReasons": _override_reasons(main, rulebook),
        })
    return out


def render_cds_hooks(report: Report, rulebook=None) -> str:
    """The CDS Hooks response body: ``{"cards": [...]}`` as JSON."""
    return json.dumps({"cards": cards(report, rulebook)}, indent=2, ensure_ascii=False) + "\n"
