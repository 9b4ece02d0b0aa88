"""A report as a CDS Hooks response: one card per finding, for an EHR to show a clinician.

Cards follow the report's summary: the session plan, each participant, then the pair, most
serious first in each, and every card's summary starts with whose it is. Cards carry no
``suggestions``: the screening proposes nothing to order or change, it only asks a clinician
to review. Without a hook instance a card's ``uuid`` is stable for the same main rule, subject
and rulebook; a CDS Hooks service passes the ``hookInstance`` and the FHIR patients, so each
card's uuid is unique per hook instance, patient and finding (feedback then names exactly one
card). The stable key of the rule behind a card (its main rule and that flag's participant) is
in its ``extension``. With ``lang`` the cards are in a language: the fixed strings and the rule
texts through the catalogue, a text with no translation in English and marked; the codes, ids and
uuids are the same in every language.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, Literal, NotRequired, Required, TypedDict

from ..i18n import N_, Translator, translator
from ..report import display
from ..report.findings import limitations_of, references_of, rule_of, status_of
from ..report.model import Report, answer_text, capitalised, plain, severity_word, whose
from ..report.parts import CoveredRule, Finding, ReportRule, Severity
from .fhir import BASE_URL

if TYPE_CHECKING:
    from ..rulebook.loading import Rulebook

__all__ = [
    "cards",
    "render_cds_hooks",
    "card_uuid",
    "Card",
    "CardSource",
    "CardLink",
    "Coding",
    "FlagExtension",
    "CardExtension",
    "DEFAULT_OVERRIDE_REASONS",
    "OVERRIDE_SYSTEM",
    "RULE_EXTENSION",
]

OVERRIDE_SYSTEM = f"{BASE_URL}/CodeSystem/override-reason"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE_URL}/cds-hooks/card")
MAX_SUMMARY = 139  # CDS Hooks: "<140 characters"
# CDS Hooks reserves ``extension`` for custom data, named in reverse-domain notation.
RULE_EXTENSION: Final = "invalid.screening.flag"

DEFAULT_OVERRIDE_REASONS = (
    N_("Reviewed with participant; risk accepted by clinician"),
    N_("Answer was wrong or out of date; intake corrected"),
    N_("Addressed in the session plan"),
    N_("Not relevant for this participant or session"),
)


class Coding(TypedDict):
    """An override reason offered on a card (a FHIR Coding)."""

    system: str
    code: str
    display: str


class CardSource(TypedDict, total=False):
    label: Required[str]
    url: str


class CardLink(TypedDict):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class FlagExtension(TypedDict):
    """The stable key of the rule behind a card, under :data:`RULE_EXTENSION`."""

    rule_id: str
    participant: str
    finding: str
    covers: list[str]
    severity: Severity
    rulebook_sha256: str
    program: str
    patients: NotRequired[list[str]]  # the FHIR patients, when the caller gave them


# The extension's key is reverse-domain notation, not an identifier: the functional form.
CardExtension = TypedDict("CardExtension", {"invalid.screening.flag": FlagExtension})


class Card(TypedDict):
    """One CDS Hooks 2.0 card as :func:`cards` makes it (no ``suggestions``)."""

    uuid: str
    summary: str
    indicator: Severity
    detail: str
    source: CardSource
    overrideReasons: list[Coding]
    extension: CardExtension
    links: NotRequired[list[CardLink]]


def card_uuid(
    rule_id: str,
    participant: str,
    rulebook_sha256: str,
    program: str | None = None,
    hook_instance: str | None = None,
    patient: str = "",
    report_id: str = "",
) -> str:
    """The same rule for the same participant under the same rulebook (and program) gives the same uuid.

    ``program`` is the program's id and sha256 for any program but 'default', whose cards keep
    the uuids they had before programs existed. With ``hook_instance`` (and the FHIR ``patient``
    the flag is about) the uuid is unique per hook call, patient and flag: the same flag in
    another call is another card. The ``report_id`` binds it to the screening it came from too:
    a ``hookInstance`` reused with other answers gives other cards, so feedback on the first
    screening's cards cannot land on the second's (CDS Hooks 2.0 §"hookInstance" names one hook
    call, https://cds-hooks.hl7.org/2.0/#hookinstance; the client, not this service, makes it).
    """
    extra = f"\n{program}" if program else ""
    key = f"{rule_id}\n{participant}\n{rulebook_sha256}{extra}"
    if hook_instance is not None:
        key = f"{hook_instance}\n{report_id}\n{patient}\n{key}"
    return str(uuid.uuid5(_NAMESPACE, key))


def reason_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64] or "reason"


def _override_reasons(rule_id: str, rulebook: Rulebook | None, _: Translator) -> list[Coding]:
    """The reasons offered; the code is the English reason's slug in every language."""
    reasons: tuple[str, ...] | list[str] = ()
    if rulebook is not None:
        try:
            reasons = rulebook.rule(rule_id).meta.override_reasons
        except KeyError:
            reasons = ()
    return [
        {"system": OVERRIDE_SYSTEM, "code": reason_slug(r), "display": display.text(_(r))}
        for r in (reasons or DEFAULT_OVERRIDE_REASONS)
    ]


def _whose(finding: Finding, lang: str = "en") -> str:
    if lang != "en":
        return capitalised(whose(finding.subject, finding.participants, lang))
    if finding.subject == "session":
        return "Session plan"
    if finding.subject == "pair":
        return f"Pair ({' and '.join(finding.participants)})"
    return f"Participant {finding.subject}"


def _summary(finding: Finding, rule: ReportRule, lang: str = "en") -> str:
    who = _whose(finding, lang)
    shared = (
        finding.subject == "pair" and finding.rules and finding.rules[0].participant != "pair"
    )  # both said it: the title reads for two
    for text in [finding.title] if finding.not_answered or shared else [rule.summary, finding.title]:
        text = display.text(" ".join(text.split()))
        if len(f"{who}: {text}") <= MAX_SUMMARY:
            return f"{who}: {text}"
    text = f"{who}: {display.text(finding.title)}"
    return text[: MAX_SUMMARY - 1].rstrip() + "…"


_md = display.markdown  # plain text in Markdown: no markup, no links, no control characters
# The same for a rulebook's or the library's own texts, which every card of every call repeats: each
# escaped once. Never used for an answer, so no intake text is kept between calls.
_md_fixed = functools.lru_cache(maxsize=8192)(display.markdown)


def bold(label: str) -> str:
    """A label in bold ("**For review:**"), its trailing space outside the markup."""
    return f"**{label.rstrip()}**"


def _findings(report: Report) -> list[Finding]:
    if report.findings is None:  # the report's validator always fills them
        raise ValueError("the report has no findings")
    return report.findings


def _detail(report: Report, finding: Finding, by_id: Mapping[str, Finding], program: str, _: Translator) -> str:
    """A card's detail; ``by_id``: the report's findings by id (built once per report, not per card).

    The report's texts are already in the card's language (``Report.in_language``); ``_`` gives the fixed strings.
    """
    shown = {(e.participant, e.field) for ref in finding.rests_on if ref in by_id for e in by_id[ref].evidence}
    english = _.lang == "en"
    rules = report.rules
    rule = rule_of(finding, rules)
    lines = [f"**{_md(_whose(finding, _.lang))}:** {_md_fixed(finding.title)}", "", _md_fixed(rule.explanation)]
    if finding.rests_on:
        titles = "; ".join(_md_fixed(by_id[r].title if r in by_id else r) for r in finding.rests_on)
        lines += ["", bold(_("Builds on:")) + " " + titles]
    evidence = [e for e in finding.evidence if (e.participant, e.field) not in shown]
    if evidence:
        lines += ["", bold(_("Found in the intake:")), ""]
        for item in evidence:
            if english:
                answer = "not answered (or unsure)" if item.answer in ("unknown", None) else item.answer
            else:
                answer = answer_text(item, _.lang)
            lines.append(f"- {_md(item.participant)}: {_md_fixed(report.questions[item.field])} → **{_md(answer)}**")
    lines += ["", bold(_("For review: ")) + " " + _md_fixed(rule.clinician_action)]
    others = list(
        dict.fromkeys(
            f"{rules[r.rule_id].title} ({r.severity if english else severity_word(r.severity, _.lang)})"
            for r in finding.rules[1:]
            if r.rule_id != finding.rules[0].rule_id
        )
    )
    if others:
        lines += ["", bold(_("Also covers: ")) + " " + _md_fixed("; ".join(others))]
    lines += ["", bold(_("Limitations:")), ""]
    lines += [f"- {_md_fixed(plain(text))}" for text in limitations_of(finding, rules)]
    references = references_of(finding, rules)
    if references:
        lines += ["", bold(_("Sources:")), ""]
        lines += [f"- [{_md_fixed(ref.title)}]({display.link_target(ref.url)}): {_md_fixed(ref.says)}" for ref in references]
    named = ", ".join(f"`{r}`" for r in dict.fromkeys(r.rule_id for r in finding.rules))
    status = status_of(finding, rules)
    status = status if english else _(status)
    about = _("Rules {rules} ({status}), program {program}.").format(rules=named, status=status, program=f"`{_md(program)}`")
    lines += ["", f"{about} *{_md_fixed(report.notice)}*"]
    return "\n".join(lines)


def cards(
    report: Report,
    rulebook: Rulebook | None = None,
    *,
    hook_instance: str | None = None,
    patients: Mapping[str, str] | None = None,
    rule_url: Callable[[CoveredRule], str] | None = None,
    lang: str | None = None,
) -> list[Card]:
    """One CDS Hooks card per finding, in the summary's order (session, participants, pair).

    ``rulebook``: where each rule's override reasons are read; defaults to the shipped one when
    it is the rulebook the report was made with, and to a general list otherwise.
    ``hook_instance`` and ``patients`` (participant id -> FHIR reference such as
    ``Patient/123``) make each uuid unique per hook call, patient and flag; ``rule_url`` gives
    the address of a rule's documentation page, linked from its card. ``lang``: the cards'
    language (English by default; an unknown one raises :class:`~screening.i18n.UnknownLanguage`).
    """
    _ = translator(lang)
    report = report.in_language(_.lang)
    if rulebook is None:
        from ..rulebook.loading import default

        shipped = default()
        rulebook = shipped if shipped.sha256 == report.rulebook.sha256 else None
    program = report.program
    scope = None if program.id == "default" else f"{program.id}\n{program.sha256}"
    shown = f"{program.id} {program.version}"
    out: list[Card] = []
    patients = patients or {}
    found = _findings(report)
    by_id = {f.id: f for f in found}
    for finding in found:
        main = finding.rules[0] if finding.rules else None
        main_id = main.rule_id if main else finding.id
        references = references_of(finding, report.rules)
        source = references[0] if references else None
        about = sorted({patients.get(p, p) for p in finding.participants})
        card: Card = {
            "uuid": card_uuid(
                main_id, finding.subject, report.rulebook.sha256, scope, hook_instance, " ".join(about), report.report_id
            ),
            "summary": _summary(finding, rule_of(finding, report.rules), _.lang),
            "indicator": finding.severity,
            "detail": _detail(report, finding, by_id, shown, _),
            "source": {"label": display.text(source.title), "url": source.url}
            if source
            else {"label": _("screening rulebook {version}").format(version=report.rulebook.version)},
            "overrideReasons": _override_reasons(main_id, rulebook, _),
            "extension": {
                RULE_EXTENSION: {
                    "rule_id": main_id,
                    "participant": main.participant if main else finding.subject,
                    "finding": finding.id,
                    "covers": [f"{r.rule_id} ({r.participant})" for r in finding.rules],
                    "severity": finding.severity,
                    "rulebook_sha256": report.rulebook.sha256,
                    "program": program.id,
                }
            },
        }
        if patients:
            card["extension"][RULE_EXTENSION]["patients"] = about
        if rule_url is not None and main is not None:
            label = _("How the rule {rule} works").format(rule=main_id)
            card["links"] = [{"label": label, "url": rule_url(main), "type": "absolute"}]
        out.append(card)
    return out


def render_cds_hooks(report: Report, rulebook: Rulebook | None = None, *, lang: str | None = None) -> str:
    """The CDS Hooks response body: ``{"cards": [...]}`` as JSON, in ``lang`` (English by default)."""
    return json.dumps({"cards": cards(report, rulebook, lang=lang)}, indent=2, ensure_ascii=False) + "\n"
