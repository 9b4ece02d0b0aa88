"""A report as a CDS Hooks response: one card per flag, for an EHR to show a clinician.

Cards carry no ``suggestions``: the screening proposes nothing to order or change, it only
asks a clinician to review. Without a hook instance a card's ``uuid`` is stable for the same
rule, participant and rulebook; a CDS Hooks service passes the ``hookInstance`` and the FHIR
patients, so each card's uuid is unique per hook instance, patient and flag (feedback then names
exactly one card). The stable key of the rule behind a card is in its ``extension``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Callable, Mapping

from . import display
from .fhir import BASE_URL
from .report import Flag, Report

__all__ = ["cards", "render_cds_hooks", "card_uuid", "DEFAULT_OVERRIDE_REASONS", "OVERRIDE_SYSTEM", "RULE_EXTENSION"]

OVERRIDE_SYSTEM = f"{BASE_URL}/CodeSystem/override-reason"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE_URL}/cds-hooks/card")
MAX_SUMMARY = 139  # CDS Hooks: "<140 characters"
# CDS Hooks reserves ``extension`` for custom data, named in reverse-domain notation.
RULE_EXTENSION = "invalid.screening.flag"

DEFAULT_OVERRIDE_REASONS = (
    "Reviewed with participant; risk accepted by clinician",
    "Answer was wrong or out of date; intake corrected",
    "Addressed in the session plan",
    "Not relevant for this participant or session",
)


def card_uuid(
    rule_id: str,
    participant: str,
    rulebook_sha256: str,
    program: str | None = None,
    hook_instance: str | None = None,
    patient: str = "",
) -> str:
    """The same rule for the same participant under the same rulebook (and program) gives the same uuid.

    ``program`` is the program's id and sha256 for any program but 'default', whose cards keep
    the uuids they had before programs existed. With ``hook_instance`` (and the FHIR ``patient``
    the flag is about) the uuid is unique per hook call, patient and flag: the same flag in
    another call is another card.
    """
    extra = f"\n{program}" if program else ""
    key = f"{rule_id}\n{participant}\n{rulebook_sha256}{extra}"
    if hook_instance is not None:
        key = f"{hook_instance}\n{patient}\n{key}"
    return str(uuid.uuid5(_NAMESPACE, key))


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


def cards(
    report: Report,
    rulebook=None,
    *,
    hook_instance: str | None = None,
    patients: Mapping[str, str] | None = None,
    rule_url: Callable[[Flag], str] | None = None,
) -> list[dict]:
    """One CDS Hooks card per flag, in the report's order (most severe first).

    ``rulebook``: where each rule's override reasons are read; defaults to the shipped one when
    it is the rulebook the report was made with, and to a general list otherwise.
    ``hook_instance`` and ``patients`` (participant id -> FHIR reference such as
    ``Patient/123``) make each uuid unique per hook call, patient and flag; ``rule_url`` gives
    the address of a rule's documentation page, linked from its card.
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
    patients = patients or {}
    for flag in report.flags:
        first = flag.references[0]
        about = sorted({patients.get(p, p) for p in flag.participants})
        card = {
            "uuid": card_uuid(flag.rule_id, flag.participant, report.rulebook.sha256, scope, hook_instance, " ".join(about)),
            "summary": _summary(flag, several),
            "indicator": flag.severity,
            "detail": _detail(flag, report.notice, shown),
            "source": {"label": display.text(first.title), "url": first.url},
            "overrideReasons": _override_reasons(flag.rule_id, rulebook),
            "extension": {RULE_EXTENSION: {
                "rule_id": flag.rule_id,
                "participant": flag.participant,
                "severity": flag.severity,
                "rulebook_sha256": report.rulebook.sha256,
                "program": program.id,
            }},
        }
        if patients:
            card["extension"][RULE_EXTENSION]["patients"] = about
        if rule_url is not None:
            card["links"] = [{"label": f"How the rule {flag.rule_id} works", "url": rule_url(flag), "type": "absolute"}]
        out.append(card)
    return out


def render_cds_hooks(report: Report, rulebook=None) -> str:
    """The CDS Hooks response body: ``{"cards": [...]}`` as JSON."""
    return json.dumps({"cards": cards(report, rulebook)}, indent=2, ensure_ascii=False) + "\n"
