"""A report as a CDS Hooks response: one card per flag, for an EHR to show a clinician.

Cards carry no ``suggestions``: the screening proposes nothing to order or change, it only
asks a clinician to review. Each card's ``uuid`` is stable for the same rule, participant and
rulebook, so an EHR can recognise a card it has shown before and the override given to it.
"""

from __future__ import annotations

import json
import re
import uuid

from . import display
from .fhir import BASE_URL
from .report import Flag, Report

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


def _summary(flag: Flag, several: bool) -> str:
    who = "Pair" if flag.participant == "pair" else f"Participant {flag.participant}"
    summary = display.text(" ".join(flag.summary.split()))
    text = f"{who}: {summary}" if several else summary
    if len(text) > MAX_SUMMARY:
        text = summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 1].rstrip() + "…"
    return text


_md = display.markdown  # plain text in Markdown: no markup, no links, no control characters


def _detail(flag: Flag, notice: str, program: str) -> str:
    lines = [_md(flag.explanation), "", "**Found in the intake:**", ""]
    for item in flag.evidence:
        lines.append(f"- {_md(item.participant)}: {_md(item.question)} → **{_md(item.answer)}**")
    lines += ["", f"**For review:** {_md(flag.clinician_action)}", "", "**Limitations:**", ""]
    lines += [f"- {_md(text)}" for text in flag.limitations]
    lines += ["", "**Sources:**", ""]
    lines += [f"- [{_md(ref.title)}]({display.link_target(ref.url)}): {_md(ref.says)}" for ref in flag.references]
    lines += ["", f"Rule `{flag.rule_id}` ({flag.rule_status}), program `{_md(program)}`. *{_md(notice)}*"]
    return "\n".join(lines)


def cards(report: Report, rulebook=None) -> list[dict]:
    """One CDS Hooks card per flag, in the report's order (most severe first).

    ``rulebook``: where each rule's override reasons are read; defaults to the shipped one when
    it is the rulebook the report was made with, and to a general list otherwise.
    """
    if rulebook is None:
        from .rulebook import default

        shipped = default()
        rulebook = shipped if shipped.sha256 == report.rulebook.sha256 else None
    several = len(report.participants) > 1
    program = report.program
    scope = None if program.id == "default" else f"{program.id}\n{program.sha256}"
    shown = f"{program.id} {program.version}"
    out = []
    for flag in report.flags:
        first = flag.references[0]
        out.append({
            "uuid": card_uuid(flag.rule_id, flag.participant, report.rulebook.sha256, scope),
            "summary": _summary(flag, several),
            "indicator": flag.severity,
            "detail": _detail(flag, report.notice, shown),
            "source": {"label": display.text(first.title), "url": first.url},
            "overrideReasons": _override_reasons(flag.rule_id, rulebook),
        })
    return out


def render_cds_hooks(report: Report, rulebook=None) -> str:
    """The CDS Hooks response body: ``{"cards": [...]}`` as JSON."""
    return json.dumps({"cards": cards(report, rulebook)}, indent=2, ensure_ascii=False) + "\n"
