"""A report as one self-contained, printable HTML page (for the client file, or to print).

No external assets: the styles are inline, so the file opens and prints the same anywhere.
Every piece of text passes through :func:`_text` (display escapes, then ``html.escape``), the one place markup meets
answers; markup is only ever built by :func:`_el` from escaped parts. Printing puts page numbers
and the record identifiers in the page margins (A4 or Letter).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable

from ..i18n import N_, translator
from . import display
from .findings import limitations_of, references_of, rule_of, status_of
from .model import (
    PARTICIPANT_CRISIS,
    PARTICIPANT_INTRO,
    PARTICIPANT_PRIVATE,
    PARTICIPANT_WITHHELD,
    Finding,
    Report,
    Summary,
    answer_text,
    copy_date,
    drug_text,
    finding_title,
    medication_status,
    medication_use,
    overview_text,
    participant_copy,
    plain,
    session_line,
    severity_word,
    summary_in,
    whose,
)

__all__ = ["render_html", "PAPER_SIZES"]

PAPER_SIZES = {"a4": "A4", "letter": "letter"}


class _Markup(str):
    """Already-escaped HTML: the only strings :func:`_el` does not escape."""


def _text(value: object) -> str:
    """Escape any text for HTML: the one place answers and rule texts become markup.

    Control, bidi and zero-width characters are shown as escapes first (screening.report.display), so an
    answer cannot reorder or hide what is printed around it."""
    return html.escape(display.text(value), quote=True)


def _el(tag: str, *children: object, **attrs: str | None) -> _Markup:
    parts = [tag]
    for name, value in attrs.items():
        if value is not None:
            parts.append(f'{name.rstrip("_").replace("_", "-")}="{_text(value)}"')
    inner = "".join(c if isinstance(c, _Markup) else _text(c) for c in children if c is not None)
    return _Markup(f"<{' '.join(parts)}>{inner}</{tag}>")


def _join(items: Iterable[_Markup]) -> _Markup:
    return _Markup("".join(items))


_CSS = """
@page { size: @SIZE@; margin: 10mm 12mm 14mm 12mm;
  @bottom-left { content: "@FOOTER@"; font: 8pt sans-serif; color: #333; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt sans-serif; color: #333; } }
html { font: 10.5pt/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; background: #fff; }
body { max-width: 48rem; margin: 1.5rem auto; padding: 0 1rem; }
@media print { body { margin: 0; max-width: none; padding: 0; } a { color: #111; } }
h1 { font-size: 1.45rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin: 1.4rem 0 .4rem; border-bottom: 2px solid #111; }
h3 { font-size: 1rem; margin: 1rem 0 .2rem; break-after: avoid; } p { margin: .3rem 0; }
.meta, .notice { color: #222; } .notice { border-left: 4px solid #444; padding: .3rem .6rem; background: #f2f2f2; }
.sev { display: inline-block; min-width: 5.2em; padding: 0 .35em; font-weight: bold; font-size: .8rem; text-align: center;
  border: 1.5px solid #111; border-radius: 3px; margin-right: .4em; }
.critical { background: #8b0000; color: #fff; border-color: #8b0000; } .warning { background: #fff3c4; color: #111; }
.info { background: #fff; color: #111; }
table.summary { border-collapse: collapse; width: 100%; } .summary th, .summary td { text-align: left; vertical-align: top;
  padding: .15rem .3rem; border-bottom: 1px solid #bbb; } .summary th[scope=rowgroup] { background: #e8e8e8; padding-top: .35rem; }
section.finding { border-top: 1px solid #999; margin-top: .5rem; padding-top: .1rem; }
h2, h3 { break-after: avoid-page; } h2 + *, h3 + p { break-before: avoid-page; }
section.finding dl { display: grid; grid-template-columns: 8.5em 1fr; gap: .1rem .6rem; margin: .3rem 0; }
section.finding dt { margin: 0; } section.finding dd { margin: 0; }
dl { margin: .3rem 0; } dt { font-weight: bold; margin-top: .3rem; } dd { margin: 0 0 0 1rem; }
dt, dd, li, tr, p.note, p.signoff { break-inside: avoid-page; } p.note { margin: .1rem 0; color: #222; }
p.signoff { margin: .35rem 0 0; font-size: .85rem; } .blank { display: inline-block; border-bottom: 1px solid #111;
  width: 22em; height: 1em; vertical-align: bottom; margin-right: 1em; } .blank.short { width: 5em; }
ol.first { padding-left: 1.4rem; } ol.first li { margin: .2rem 0; }
@media print { html { font-size: 9pt; line-height: 1.25; } h2 { margin-top: .8rem; } }
ul { margin: .2rem 0; padding-left: 1.2rem; } .small { font-size: .85rem; } .url { word-break: break-all; }
footer { margin-top: 1rem; border-top: 2px solid #111; padding-top: .2rem; font-size: .8rem; } footer h2 { margin: .3rem 0 .2rem; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 0 .8rem; } footer dd { margin: 0; word-break: break-all; }
footer dt { margin: 0; }
"""


def _sev(severity: str, lang: str | None = None) -> _Markup:
    return _el("span", severity_word(severity, lang).upper(), class_=f"sev {severity}")


def _findings(report: Report) -> list[Finding]:
    if report.findings is None:  # the report's validator always fills them
        raise ValueError("the report has no findings")
    return report.findings


def _summary(report: Report) -> Summary:
    if report.summary is None:  # the report's validator always fills it
        raise ValueError("the report has no summary")
    return report.summary


def _summary_table(report: Report, lang: str | None = None) -> _Markup:
    _ = translator(lang)
    rows = []
    for group in summary_in(report, lang).groups:
        rows.append(_el("tr", _el("th", group.heading, scope="rowgroup", colspan="3")))
        for line in group.lines:
            rows.append(
                _el(
                    "tr",
                    _el("td", _sev(line.severity, lang)),
                    _el("td", _el("a", line.title, href=f"#{_anchor(line.finding)}")),
                    _el("td", line.review),
                )
            )
    head = _el(
        "tr",
        _el("th", _("Severity"), scope="col"),
        _el("th", _("Finding"), scope="col"),
        _el("th", _("First point to review"), scope="col"),
    )
    return _el("table", _el("thead", head), _el("tbody", _join(rows)), class_="summary")


def _address_first(report: Report, lang: str | None = None) -> _Markup | None:
    _ = translator(lang)
    lines = summary_in(report, lang).address_first
    if not lines:
        return None
    items = [
        _el(
            "li",
            _sev(line.severity, lang),
            _el("a", line.title, href=f"#{_anchor(line.finding)}"),
            f" ({whose(line.finding.split(':', 1)[0], None, lang)}): ",
            line.review,
            ".",
        )
        for line in lines
    ]
    return _el(
        "section",
        _el("h2", _("Address first"), id="address-first"),
        _el("ol", _join(items), class_="first"),
        class_="address-first",
        aria_labelledby="address-first",
    )


def _as_read(report: Report) -> _Markup:
    glance = [_el("li", f"Participant {a.participant}: ", overview_text(a)) for a in report.answers]
    items = [
        _el(
            "li",
            f"{med.participant}: ",
            _el("strong", med.written),
            f" ({medication_status(med)}): {drug_text(med)}",
            f"; set aside: {', '.join(med.set_aside)}" if med.set_aside else "",
            "; ",
            _el("em", medication_use(med)),
        )
        for med in report.medications
    ]
    meds = _el("ul", _join(items)) if items else _el("p", "No medication or other substance was listed.")
    return _el(
        "section",
        _el("h2", "Answers at a glance", id="answers"),
        _el("ul", _join(glance)),
        _el("h2", "Medications as read", id="medications"),
        meds,
        class_="as-read",
    )


def _anchor(finding_id: str) -> str:
    return "f-" + "".join(c if c.isalnum() else "-" for c in finding_id)


def _finding(report: Report, finding: Finding, n: int, lang: str | None = None) -> _Markup:
    _ = translator(lang)
    by_id = {f.id: f for f in _findings(report)}
    shown = {(e.participant, e.field) for ref in finding.rests_on if ref in by_id for e in by_id[ref].evidence}
    evidence = [e for e in finding.evidence if (e.participant, e.field) not in shown]
    rules = report.rules
    rule = rule_of(finding, rules)
    parts = [
        _el(
            "h3",
            _sev(finding.severity, lang),
            f"{n}. {finding_title(finding.title, _)} ",
            _el("span", f"({whose(finding.subject, finding.participants, lang)})", class_="small"),
            id=_anchor(finding.id),
        ),
        _el("p", _(rule.summary)),
    ]
    terms = []
    if finding.rests_on:
        links = [
            _el(
                "li",
                _el("a", _(by_id[r].title) if r in by_id else r, href=f"#{_anchor(r)}"),
                f" ({whose(r.split(':', 1)[0], lang=lang)})",
            )
            for r in finding.rests_on
        ]
        terms += [_el("dt", _("Builds on")), _el("dd", _el("ul", _join(links)))]
    if evidence:
        items = [
            _el(
                "li",
                "" if e.participant == finding.subject else f"{e.participant}: ",
                _(report.questions[e.field]),
                " ",
                _el("strong", answer_text(e, lang)),
            )
            for e in evidence
        ]
        terms += [_el("dt", _("Found in the intake")), _el("dd", _el("ul", _join(items)))]
    terms += [
        _el("dt", _("Why it matters")),
        _el("dd", _(rule.explanation)),
        _el("dt", _("For review")),
        _el("dd", _(rule.clinician_action)),
    ]
    others = list(
        dict.fromkeys(
            f"{_(rules[r.rule_id].title)} ({severity_word(r.severity, lang)})"
            for r in finding.rules[1:]
            if r.rule_id != finding.rules[0].rule_id
        )
    )
    if others:
        terms += [_el("dt", _("Also covers")), _el("dd", "; ".join(others))]
    rule_ids = list(dict.fromkeys(r.rule_id for r in finding.rules))
    notes = [
        _el(
            "p",
            _el("strong", _("Limitations") + ": "),
            " · ".join(plain(_(t)) for t in limitations_of(finding, rules)),
            class_="small note",
        ),
    ]
    references = references_of(finding, rules)
    if references:
        refs = [_el("a", ref.title, href=ref.url) for ref in references]
        sources = _join(_join((_Markup(" · ") if i else _Markup(""), ref)) for i, ref in enumerate(refs))
        notes.append(_el("p", _el("strong", _("Sources") + ": "), sources, class_="small note"))
    folders = dict.fromkeys(f"docs/rules/{rules[r].category if r in rules else rule.category}/" for r in rule_ids)
    notes.append(
        _el(
            "p",
            _el("strong", _("Rules") + ": "),
            _("{rules} ({status}); each source's quote and locator on the rule's page (<rule>.md in {folders})").format(
                rules=", ".join(rule_ids), status=_(status_of(finding, rules)), folders=", ".join(folders)
            ),
            class_="small note",
        )
    )
    signoff = _el(
        "p",
        _("Clinician's initials") + " ",
        _el("span", "", class_="blank short"),
        " " + _("Decision and note") + " ",
        _el("span", "", class_="blank"),
        class_="signoff",
    )
    return _el(
        "section",
        *parts,
        _el("dl", _join(terms)),
        *notes,
        signoff,
        class_="finding",
        aria_labelledby=_anchor(finding.id),
    )


def _participant_record(report: Report, printed: dt.datetime, lang: str | None = None) -> tuple[_Markup, str]:
    """A participant's copy's record, in plain words: dates, the program's name, who to contact."""
    _ = translator(lang)
    copies = report.participant_copies
    program = _(copies.program_title) if copies is not None else report.program.id  # the title is in the catalogue
    day = copy_date(printed.date(), lang)
    # i18n: participant
    pairs = [
        (_("Printed"), day),
        # i18n: participant
        (_("Dates counted up to"), copy_date(report.session.reference_date, lang)),
        # i18n: participant
        (_("Program"), program),
        # i18n: participant
        (_("Questions about this page"), _("Your facilitator, or the practice that gave it to you.")),
    ]
    items = _join(_join((_el("dt", k), _el("dd", v))) for k, v in pairs)
    # i18n: participant
    margin = _("Your screening copy · {program} · printed {day}").format(program=program, day=day)
    # i18n: participant
    about = _("About this copy")
    return _el("footer", _el("h2", about), _el("dl", items), aria_label=about), margin


def _record(report: Report, printed: dt.datetime, lang: str | None = None) -> tuple[_Markup, str]:
    if report.view.startswith("participant:"):
        return _participant_record(report, printed, lang)
    _ = translator(lang)
    when = printed.strftime("%Y-%m-%d %H:%M UTC") if _.lang == "en" else f"{_.date(printed.date())} {printed:%H:%M} UTC"
    pairs = [(_("Printed"), when)]
    for name, label in (("screened_at", N_("Screened")), ("report_id", N_("Report id")), ("intake_sha256", N_("Intake sha256"))):
        value = getattr(report, name, None)
        if value:
            pairs.append((_(label), str(value)))
    program = report.program
    pairs.append((_("Program"), f"{program.id} {program.version} (sha256 {program.sha256})"))
    view = (
        _("the clinician's report")
        if report.view == "clinician"
        else _("participant {id}'s own copy").format(id=report.view.split(":", 1)[1])
    )
    pairs += [
        (_("Rulebook"), _("{version}, {rules} rules").format(version=report.rulebook.version, rules=report.rulebook.rules)),
        (_("Rulebook sha256"), report.rulebook.sha256),
        (_("Engine"), report.engine),
        (_("Screening library"), report.library_version),
        (_("View"), view),
    ]
    items = _join(_join((_el("dt", k), _el("dd", v))) for k, v in pairs)
    ident = getattr(report, "report_id", None) or report.rulebook.sha256[:12]
    margin = _("Screening record {id} · rulebook {version} · printed {when}").format(
        id=ident, version=report.rulebook.version, when=pairs[0][1]
    )
    return _el("footer", _el("h2", _("Record")), _el("dl", items), aria_label=_("Record")), margin


def _page(title: str, body: _Markup, margin: str, paper: str, lang: str = "en") -> str:
    safe = "".join(c for c in margin if c.isalnum() or c in " .:·_-")  # a CSS string in a <style>: nothing that ends either
    css = _CSS.replace("@SIZE@", PAPER_SIZES[paper]).replace("@FOOTER@", safe)
    head = _el(
        "head",
        _Markup('<meta charset="utf-8">'),
        _Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        _el("title", title),
        _el("style", _Markup(css)),
    )
    return "<!DOCTYPE html>\n" + _el("html", head, _el("body", body), lang=lang) + "\n"


def render_html(
    report: Report,
    *,
    paper: str = "a4",
    include_private: bool = False,
    printed: dt.datetime | None = None,
    lang: str | None = None,
) -> str:
    """The report as a printable HTML page: the summary first, then each finding in full.

    A participant's view (``report.view_for(id)``) gives their own copy, addressed to them;
    relationship, violence and harm points are left out unless ``include_private``.
    ``paper``: 'a4' or 'letter'. ``printed``: the time on the record (default now, UTC).
    ``lang``: the language of the page (English by default), also its ``<html lang>``.
    """
    _ = translator(lang)
    paper = paper.lower()
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_SIZES)}")
    printed = printed or dt.datetime.now(dt.UTC)
    footer, margin = _record(report, printed, lang)
    if report.view.startswith("participant:"):
        return _participant_page(report, include_private, footer, margin, paper, lang)
    summary = _summary(report)
    counts = summary.counts
    total = sum(counts.values())
    body = [
        _el("header", _el("h1", _("Screening report for the clinician")), _el("p", session_line(report, lang), class_="meta")),
        _el(
            "main",
            _el("h2", _("Summary"), id="summary"),
            _el(
                "p",
                (_("{total} finding") if total == 1 else _("{total} findings")).format(total=total)
                + f": {counts['critical']} {severity_word('critical', lang)}, {counts['warning']} {severity_word('warning', lang)}, "
                f"{counts['info']} {severity_word('info', lang)} " + _("(from {flags} rule flags).").format(flags=summary.flags),
            )
            if total
            else _el("p", _("No rule matched. A clinician still reviews the whole intake.")),
            _address_first(report, lang),
            _summary_table(report, lang) if total else None,
            _el("p", _(report.notice), class_="notice"),
            _el("h2", _("Findings in full"), id="details") if total else None,
            _join(_finding(report, f, n, lang) for n, f in enumerate(_findings(report), 1)),
            _as_read(report),
        ),
        footer,
    ]
    return _page(_("Screening report"), _join(b for b in body if b is not None), margin, paper, _.lang)


def _participant_page(
    report: Report, include_private: bool, footer: _Markup, margin: str, paper: str, lang: str | None = None
) -> str:
    _ = translator(lang)
    copy = participant_copy(report, include_private, lang)
    content = [_el("p", _(PARTICIPANT_INTRO))]
    if copy.crisis:
        content += [
            # i18n: participant
            _el("h2", _("Someone to talk with now")),
            _el("p", _(PARTICIPANT_CRISIS)),
            _el("ul", _join(_el("li", line) for line in copy.crisis)),
        ]
    # i18n: participant
    content.append(_el("h2", _("To talk through with your facilitator")))
    if copy.points:
        content.append(_el("ul", _join(_el("li", text) for text in copy.points)))
    if copy.withheld:
        content.append(_el("p", _(PARTICIPANT_WITHHELD)))
    if copy.opening:
        content.append(_el("p", copy.opening))
    if copy.missing:
        content += [
            # i18n: participant
            _el("h2", _("Questions left open")),
            # i18n: participant
            _el("p", _("You can answer these with your facilitator.")),
            _el("ul", _join(_el("li", question) for question in copy.missing)),
        ]
    if not include_private and not copy.withheld:
        content.append(_el("p", _(PARTICIPANT_PRIVATE), class_="notice"))
    body = _join(
        [
            _el(
                "header",
                # i18n: participant
                _el("h1", _("Your screening answers: what we will talk about")),
                # i18n: participant
                _el("p", _("Participant {id}").format(id=copy.participant), class_="meta"),
            ),
            _el("main", *content),
            footer,
        ]
    )
    # i18n: participant
    return _page(_("Your screening answers"), body, margin, paper, _.lang)
