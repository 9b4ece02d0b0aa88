"""The intake form, generated from the FHIR Questionnaire (itself generated from the intake
model): the same questions, help, units, limits and conditions; and the reading of a posted
form back into one participant's answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

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


def _question(item: dict[str, Any], texts: dict[str, str]) -> Question:
    ext = {e["url"].removeprefix(_EXT): e for e in item.get("extension", [])}
    low = ext.get("minValue", {})
    high = ext.get("maxValue", {})
    condition = ""
    if item["linkId"] in FOLLOW_UPS:
        parent, values = FOLLOW_UPS[item["linkId"]]
        shown = " or ".join("don't know" if v == "unknown" else v for v in values)
        condition = f"Only if your answer to “{texts.get(parent, parent)}” was {shown}."
    if item["linkId"] in _STOPPED_ONLY:
        condition = "Only for a medication you have stopped."
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


def sections(program: str = "default", *, duo: bool) -> list[Section]:
    """The form's sections in the Questionnaire's order: 'session' first, 'medications' last."""
    items = questionnaire(program)["item"]
    texts = {q["linkId"]: q["text"] for group in items for q in group.get("item", [])}
    out = []
    for group in items:
        if group["type"] != "group" or (group["linkId"] == "relationship" and not duo):
            continue
        out.append(Section(group["linkId"], group["text"], tuple(_question(q, texts) for q in group["item"])))
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


_WHAT = {"integer": "a whole number", "decimal": "a number", "date": "a date (YYYY-MM-DD)", "choice": "one of the choices"}


def read_answers(form: dict[str, list[str]], groups: list[Section]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the answers as intake sections, problems by field name). Empty fields stay unanswered."""
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
                problems[question.link_id] = f"{question.text}: please give {_WHAT.get(question.kind, 'a shorter answer')}"
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
                    problems[prefix + name] = (
                        f"Medication line {index + 1}: please give {_WHAT.get(by_name[name].kind, 'a shorter answer')}"
                    )
        if not line.get("name"):
            continue
        if line.get("status") != "stopped":
            for name in ("last_taken", "stopped_with_prescriber"):
                line.pop(name, None)
        lines.append(line)
    answers["medications"] = lines
    return answers, problems
