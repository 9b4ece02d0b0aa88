"""The intake form, generated from the FHIR Questionnaire (itself generated from the intake
model): the same questions, help, units, limits and conditions; and the reading of a posted
form back into one participant's answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..i18n import N_, translator
from ..intake.fields import FOLLOW_UPS
from ..interop.fhir import questionnaire

__all__ = ["Question", "Section", "sections", "read_answers", "MEDICATION_FIELDS"]

_EXT = "http://hl7.org/fhir/StructureDefinition/"
_STOPPED_ONLY = ("medications.last_taken", "medications.stopped_with_prescriber")


@dataclass(frozen=True)
class Question:
    link_id: str
    text: str
    kind: str  # choice, integer, decimal, date, string
    prefix: str = ""
    options: tuple[tuple[str, str], ...] = ()
    unit: str = ""
    low: float | None = None
    high: float | None = None
    max_length: int | None = None
    condition: str = ""  # when it applies, in words (the form works without JavaScript)

    @property
    def name(self) -> str:
        return self.link_id.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Section:
    link_id: str
    text: str
    questions: tuple[Question, ...] = field(default_factory=tuple)


def _question(item: dict[str, Any], texts: dict[str, str], choices: dict[str, dict[str, str]], lang: str) -> Question:
    _ = translator(lang)
    ext = {e["url"].removeprefix(_EXT): e for e in item.get("extension", [])}
    low = ext.get("minValue", {})
    high = ext.get("maxValue", {})
    condition = ""
    if item["linkId"] in FOLLOW_UPS:
        parent, values = FOLLOW_UPS[item["linkId"]]
        # i18n: participant. Between the answers a follow-up question follows ("yes" or "don't know").
        shown = _(" or ").join(f"“{choices.get(parent, {}).get(v, v)}”" for v in values)
        # i18n: participant. A follow-up question's condition: the earlier question, then the answers it follows.
        condition = _("Only if your answer to “{question}” was {answers}.").format(
            question=texts.get(parent, parent), answers=shown
        )
    if item["linkId"] in _STOPPED_ONLY:
        # i18n: participant
        condition = _("Only for a medication you have stopped.")
    return Question(
        link_id=item["linkId"],
        text=item["text"],
        kind=item["type"],
        prefix=item.get("prefix", ""),
        options=tuple((o["valueCoding"]["code"], o["valueCoding"]["display"]) for o in item.get("answerOption", [])),
        unit=ext.get("questionnaire-unit", {}).get("valueCoding", {}).get("display", ""),
        low=low.get("valueInteger", low.get("valueDecimal")),
        high=high.get("valueInteger", high.get("valueDecimal")),
        max_length=item.get("maxLength"),
        condition=condition,
    )


def sections(program: str = "default", *, duo: bool, lang: str = "en") -> list[Section]:
    """The form's sections in the Questionnaire's order ('session' first, 'medications' last), in
    the participant's language: the texts are the translated Questionnaire's own. A display item
    just before a group (what to list as medications) is that section's heading."""
    items = questionnaire(program, lang=lang)["item"]
    questions = [q for group in items for q in group.get("item", [])]
    texts = {q["linkId"]: q["text"] for q in questions}
    choices = {
        q["linkId"]: {o["valueCoding"]["code"]: o["valueCoding"]["display"] for o in q.get("answerOption", [])} for q in questions
    }
    out = []
    for before, group in zip([None, *items], items, strict=False):
        if group["type"] != "group" or (group["linkId"] == "relationship" and not duo):
            continue
        heading = before["text"] if before and before["type"] == "display" else group["text"]
        out.append(Section(group["linkId"], heading, tuple(_question(q, texts, choices, lang) for q in group["item"])))
    return out


MEDICATION_FIELDS = tuple(q.link_id.split(".")[1] for q in sections(duo=False)[-1].questions)


def _value(question: Question, raw: str) -> Any:
    """One posted value as the intake wants it; ValueError with words a person understands."""
    if question.kind == "integer":
        return int(raw)
    if question.kind == "decimal":
        return float(raw.replace(",", "."))
    if question.kind == "date":
        return dt.date.fromisoformat(raw).isoformat()
    if question.kind == "string" and question.max_length and len(raw) > question.max_length:
        raise ValueError
    if question.kind == "choice" and raw not in {code for code, _ in question.options}:
        raise ValueError
    return raw


# What a field needs, in "please give ..." (a participant reads them).
_WHAT = {
    # i18n: participant
    "integer": N_("a whole number"),
    # i18n: participant
    "decimal": N_("a number"),
    # i18n: participant
    "date": N_("a date (YYYY-MM-DD)"),
    # i18n: participant
    "choice": N_("one of the choices"),
}
# i18n: participant
_SHORTER = N_("a shorter answer")


def read_answers(form: dict[str, list[str]], groups: list[Section], lang: str = "en") -> tuple[dict[str, Any], dict[str, str]]:
    """(the answers as intake sections, problems by field name, in ``lang``). Empty fields stay unanswered."""
    _ = translator(lang)
    answers: dict[str, Any] = {}
    problems: dict[str, str] = {}
    flat: dict[str, Any] = {}
    for section in groups:
        if section.link_id == "medications":
            continue
        values: dict[str, Any] = {}
        for question in section.questions:
            raw = (form.get(question.link_id) or [""])[-1].strip()
            if not raw:
                continue
            try:
                values[question.name] = flat[question.link_id] = _value(question, raw)
            except ValueError:
                # i18n: participant. A field's problem: the question, then what it needs.
                problems[question.link_id] = _("{question}: please give {what}").format(
                    question=question.text, what=_(_WHAT.get(question.kind, _SHORTER))
                )
        for link_id, (parent, allowed) in FOLLOW_UPS.items():  # a follow-up the earlier answer rules out is not asked
            if link_id.startswith(section.link_id + ".") and flat.get(parent, "unknown") not in allowed:
                values.pop(link_id.rsplit(".", 1)[-1], None)
        if values:
            answers[section.link_id] = values
    medication = next(s for s in groups if s.link_id == "medications")
    by_name = {q.name: q for q in medication.questions}
    lines = []
    for index in range(200):
        prefix = f"med.{index}."
        if not any(key.startswith(prefix) for key in form):
            break
        line: dict[str, Any] = {}
        for name in MEDICATION_FIELDS:
            raw = (form.get(prefix + name) or [""])[-1].strip()
            if raw:
                try:
                    line[name] = _value(by_name[name], raw)
                except ValueError:
                    # i18n: participant
                    problems[prefix + name] = _("Medication line {number}: please give {what}").format(
                        number=index + 1, what=_(_WHAT.get(by_name[name].kind, _SHORTER))
                    )
        if not line.get("name"):
            continue
        if line.get("status") != "stopped":
            for name in ("last_taken", "stopped_with_prescriber"):
                line.pop(name, None)
        lines.append(line)
    answers["medications"] = lines
    return answers, problems
