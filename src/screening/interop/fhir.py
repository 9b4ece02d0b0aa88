"""FHIR R4 in and out: the intake as a Questionnaire, completed QuestionnaireResponses back in.

The Questionnaire is generated from the intake models, so it asks exactly what the rules can
read: each question's ``linkId`` is its dotted field path (``psychiatric.bipolar_1``, session
questions under ``session.*``), its text the question as the intake asks it. One person fills
in one QuestionnaireResponse in private; a duo sends a Bundle (type ``collection``, or the
``searchset`` a FHIR search returns) of the two. Every CodeSystem the Questionnaire's answers
use is published with a ValueSet (:func:`terminology`); a publisher may re-issue all of it
under its own canonical base (the ``base`` argument) and responses to that base are read.

Forms tools write answers in more than one way; the reader accepts ``valueBoolean`` for yes/no
questions and ``valueQuantity`` in UCUM units (``kg``, ``[lb_av]``, ``mm[Hg]``, ``kPa`` ...) for
measured numbers, converting to the intake's unit.

The R4 structure of what is read (types, required elements, codes) is checked by the small
typed models of :mod:`screening.interop.fhir_structure`; the tests check with the full R4 models
(fhir.resources) that what these accept is valid. The mapping to the intake is strict: an unknown linkId, an answer of the wrong type or a
missing required answer is an :class:`IntakeError` naming the linkId, never quoting the answer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import typing
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..errors import IntakeError, Problem
from ..i18n import Translator, translator
from ..intake import models as intake_models
from ..intake.fields import FOLLOW_UPS, PARTICIPANT_GROUPS, kind_of
from ..intake.models import Intake
from ..report.model import Report
from .fhir_structure import check_structure

if TYPE_CHECKING:
    from ..engines.engine import EngineName
    from ..rulebook.loading import Rulebook
    from ..rulebook.programs import Program

__all__ = [
    "BASE_URL",
    "QUESTIONNAIRE_URL",
    "program_questionnaire_url",
    "ANSWER_SYSTEM",
    "UCUM",
    "questionnaire",
    "questionnaire_url",
    "answer_code_system",
    "code_systems",
    "value_sets",
    "terminology",
    "intake_from_fhir",
    "screen_fhir",
    "response_from_intake",
    "read_intake_file",
    "is_fhir",
]

# A canonical URL names a resource; it need not resolve. ".invalid" is reserved (RFC 2606), so
# these names cannot collide with anyone else's; publishers may re-issue under their own base.
BASE_URL = "https://screening.invalid/fhir"
QUESTIONNAIRE_URL = f"{BASE_URL}/Questionnaire/screening-intake"
ANSWER_SYSTEM = f"{BASE_URL}/CodeSystem/tri-state-answer"
UCUM = "http://unitsofmeasure.org"
ACCEPTED_STATUSES = ("completed", "amended")
REQUIRED = ("session.substance", "session.format", "participant_id")
# The ValueSets' expansions are a pure function of this version's CodeSystems: a fixed time keeps
# the published files the same from one build to the next.
EXPANSION_TIMESTAMP = "2026-12-01T00:00:00Z"
# Lists and objects inside each other. A duo Bundle of this Questionnaire's responses has 13
# (answers nest inside items inside groups); the limit leaves room for other writers' layouts.
MAX_FHIR_DEPTH = 40

# One don't-know code in every system: "unknown", the intake's own word (shown as unsure).
DONT_KNOW = "unknown"
_TRI_STATE = (("yes", "Yes"), ("no", "No"), (DONT_KNOW, "Unsure / don't know"))

# How each closed choice reads on a form; a code missing here is a test failure (test_fhir).
DISPLAYS = {
    DONT_KNOW: "Unsure / don't know",
    "psilocybin": "Psilocybin",
    "mdma": "MDMA",
    "ketamine": "Ketamine",
    "lsd": "LSD",
    "ayahuasca": "Ayahuasca",
    "dmt": "DMT",
    "individual": "Individual (one person)",
    "duo": "Duo (two people together)",
    "clinic": "Clinic",
    "service_center": "Service center",
    "retreat": "Retreat",
    "home": "Home",
    "other": "Other",
    "romantic_partner": "Romantic partner",
    "friend": "Friend",
    "parent_child": "Parent and child",
    "sibling": "Sibling",
    "other_family": "Other family member",
    "employer_employee": "Employer and employee",
    "colleague": "Colleague",
    "low": "Low",
    "moderate": "Moderate",
    "high": "High",
    "current": "Current (taking it now)",
    "stopped": "Stopped",
    "mg_active_substance": "Milligrams of the active substance",
    "g_dried_mushrooms": "Grams of dried mushrooms",
    "g_fresh_mushrooms": "Grams of fresh mushrooms",
    "g_truffles": "Grams of truffles",
}

# Measured numbers: the intake's UCUM unit and the units a response may use, with their factor to it.
UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "person.weight_kg": ("kg", {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237}),
    "physical.systolic_bp": ("mm[Hg]", {"mm[Hg]": 1.0, "kPa": 7.50061683}),
    "physical.diastolic_bp": ("mm[Hg]", {"mm[Hg]": 1.0, "kPa": 7.50061683}),
    "plan.dose_mg": ("mg", {"mg": 1.0, "g": 1000.0, "ug": 0.001}),
    "plan.dose_grams": ("g", {"g": 1.0, "kg": 1000.0}),
    "session.session_hours": ("h", {"h": 1.0, "min": 1 / 60}),
}
_VALUE_KEY = {
    "choice": "valueCoding",
    "integer": "valueInteger",
    "decimal": "valueDecimal",
    "date": "valueDate",
    "string": "valueString",
}
_EXT = "http://hl7.org/fhir/StructureDefinition/"


# ---------------------------------------------------------------------------- Questionnaire out


def _checked_base(base: str | None) -> str:
    """A canonical base: an absolute http(s) URL, kept without a trailing slash."""
    if base is None:
        return BASE_URL
    text = base.rstrip("/")
    if not text.startswith(("https://", "http://")) or any(c.isspace() for c in text) or "|" in text:
        raise ValueError("the FHIR canonical base must be an absolute http(s) URL, for example https://example.org/fhir")
    return text


def questionnaire_url(base: str | None = None) -> str:
    """The Questionnaire's canonical URL under a base (default: :data:`BASE_URL`)."""
    return f"{_checked_base(base)}/Questionnaire/screening-intake"


def _answer_system(base: str) -> str:
    return f"{base}/CodeSystem/tri-state-answer"


def _enum_system(link_id: str, base: str = BASE_URL) -> str:
    return f"{base}/CodeSystem/{link_id}"


def _plain_type(annotation: Any) -> Any:
    """The one real type behind Optional/Annotated."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _plain_type(args[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return _plain_type(args[0]) if len(args) == 1 else annotation
    return annotation


def _display(code: str) -> str:
    return DISPLAYS.get(code) or code.replace("_", " ").capitalize()


def _question(link_id: str, info: Any, base: str) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": info.description or link_id}
    kind, choices = kind_of(info.annotation)
    real = _plain_type(info.annotation)
    bounds = {type(m).__name__: m for m in info.metadata}
    if kind == "answer":
        item["type"] = "choice"
        item["answerOption"] = [{"valueCoding": {"system": _answer_system(base), "code": c, "display": d}} for c, d in _TRI_STATE]
    elif kind == "enum":
        item["type"] = "choice"
        system = _enum_system(link_id, base)
        item["answerOption"] = [{"valueCoding": {"system": system, "code": c, "display": _display(c)}} for c in choices]
    elif real is int or real is float:
        item["type"] = "integer" if real is int else "decimal"
        value_key = "valueInteger" if real is int else "valueDecimal"
        extensions = []
        if "Ge" in bounds:
            extensions.append({"url": _EXT + "minValue", value_key: bounds["Ge"].ge})
        if "Le" in bounds:
            extensions.append({"url": _EXT + "maxValue", value_key: bounds["Le"].le})
        if link_id in UNITS:
            unit = UNITS[link_id][0]
            shown = {"mm[Hg]": "mmHg", "h": "hours"}.get(unit, unit)
            extensions.append(
                {"url": _EXT + "questionnaire-unit", "valueCoding": {"system": UCUM, "code": unit, "display": shown}}
            )
        if extensions:
            item["extension"] = extensions
    elif real is dt.date:
        item["type"] = "date"
    elif real is str:
        item["type"] = "string"
        if "MaxLen" in bounds:
            item["maxLength"] = bounds["MaxLen"].max_length
        for meta in info.metadata:
            if getattr(meta, "pattern", None):
                item["extension"] = [{"url": _EXT + "regex", "valueString": meta.pattern}]
    else:  # pragma: no cover - a new field type needs a mapping here
        raise TypeError(f"no FHIR item type for {link_id}")
    if link_id in REQUIRED or info.is_required():
        item["required"] = True
    return item


def _enable_when(item: dict[str, Any], link_id: str, asked: dict[str, dict[str, Any]]) -> None:
    """``asked``: the questions before it in its group, one of which it follows; each answer is
    coded in that question's own system (a forms tool compares the system too)."""
    if link_id in FOLLOW_UPS:
        parent, values = FOLLOW_UPS[link_id]
        systems = {o["valueCoding"]["code"]: o["valueCoding"]["system"] for o in asked[parent]["answerOption"]}
        conditions: list[dict[str, Any]] = [
            {"question": parent, "operator": "=", "answerCoding": {"system": systems[v], "code": v}} for v in values
        ]
        if "unknown" in values:  # not answered at all counts as unknown too
            conditions.append({"question": parent, "operator": "exists", "answerBoolean": False})
        item["enableWhen"] = conditions
        if len(conditions) > 1:
            item["enableBehavior"] = "any"


def _group(link_id: str, model: type[BaseModel], prefix: str, base: str) -> dict[str, Any]:
    text = (model.__doc__ or link_id).strip().splitlines()[0]
    items = []
    asked: dict[str, dict[str, Any]] = {}
    for name, info in model.model_fields.items():
        question = _question(f"{prefix}.{name}", info, base)
        _enable_when(question, question["linkId"], asked)
        asked[question["linkId"]] = question
        items.append(question)
    return {"linkId": link_id, "text": text, "type": "group", "item": items}


def _medications_items(base: str) -> list[dict[str, Any]]:
    """What to list (a display item), then the repeating medications group under a short name.

    The group's text is short because forms tools label the button that adds a repetition with
    it: LHC-Forms 40.1.3 shows "+ " and the group's prefix and text, and has no other label for
    that button (its lhc-item, lhc-group-vertical and lhc-group-horizontal templates,
    ``buttonLabel= '+ {{item._text}}'``; ``_text`` is set in lhc-form-data.ts). So the button
    reads "+ Medication or substance" rather than the whole instruction above it."""
    intro = {
        "linkId": "medications_intro",
        "text": intake_models.Participant.model_fields["medications"].description,
        "type": "display",
    }
    group = _group("medications", intake_models.Medication, "medications", base)
    group["text"] = "Medication or substance"  # one repetition's heading, and the add button's label
    group["repeats"] = True
    stopped = {
        "question": "medications.status",
        "operator": "=",
        "answerCoding": {"system": _enum_system("medications.status", base), "code": "stopped"},
    }
    for item in group["item"]:
        if item["linkId"] in ("medications.last_taken", "medications.stopped_with_prescriber"):
            item["enableWhen"] = [stopped]
        # Required inside an optional repeating group reads, in forms tools, as required of everyone
        # (LHC-Forms refuses a form with no medication); the reader still refuses a medication without a name.
        item.pop("required", None)
    return [intro, group]


@cache
def _questionnaire_json(base: str) -> str:
    from ..version import __version__

    participant_id = _question("participant_id", intake_models.Participant.model_fields["participant_id"], base)
    session = _group("session", intake_models.Session, "session", base)
    # Not marked required itself (its substance and format are, and the reader refuses a response
    # without them, naming them): LHC-Forms reads a required group as a question wanting its own
    # answer, so its validity check would fail for every form.
    items = [session, participant_id]
    for name, model in PARTICIPANT_GROUPS.items():
        group = _group(name, model, name, base)
        if name == "relationship":
            group["text"] = "Duo only. " + group["text"]
            group["enableWhen"] = [
                {
                    "question": "session.format",
                    "operator": "=",
                    "answerCoding": {"system": _enum_system("session.format", base), "code": "duo"},
                }
            ]
        items.append(group)
    items += _medications_items(base)
    resource = {
        "resourceType": "Questionnaire",
        "id": "screening-intake",
        "url": questionnaire_url(base),
        "version": __version__,
        "name": "ScreeningIntake",
        "title": "Intake for a psychedelic-assisted session (one person's own answers)",
        "status": "active",
        "subjectType": ["Patient"],
        "description": (
            "Each participant answers in private. In a duo each person fills in their own response, "
            "including the relationship questions about the other; the two are sent together as a Bundle. "
            "The answers are screened against published contraindication criteria for a clinician to review; "
            "the screening decides nothing."
        ),
        "item": items,
    }
    return json.dumps(resource)


def questionnaire(
    program: str | Program | None = None,
    rulebook: Rulebook | None = None,
    *,
    base: str | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """The intake as a FHIR R4 Questionnaire (a fresh dict each call).

    For a program other than 'default' it is that program's Questionnaire: the same linkIds, the
    framework's own wording and numbering where the program prescribes it, and its required
    questions marked required. Its responses are read like any other. ``base``: the canonical
    base it is published under (default :data:`BASE_URL`). ``lang``: the language of its texts
    (``Questionnaire.language``); the linkIds and answer codes are the same in every language,
    so a response in any language screens the same.
    """
    base = _checked_base(base)
    _ = translator(lang)  # an unknown language is refused before anything is built
    resource = _in_language(json.loads(_questionnaire_json(base)), _)
    if program is None or program == "default":
        return resource
    from ..rulebook import loading as rulebook_module
    from ..rulebook import programs

    chosen = programs.get_program(rulebook or rulebook_module.default(), program)
    if chosen.id == "default":
        return resource
    m = chosen.meta
    # the program's title and its prescribed wording in the form's language (the catalogue has them:
    # screening i18n extract reads rules/programs); its framework is a citation, kept as written
    about = _("Program {program} {version} ({framework}).").format(program=m.id, version=m.version, framework=m.framework)
    resource.update(
        {
            "id": f"screening-intake-{m.id}",
            "url": f"{questionnaire_url(base)}-{m.id}",
            "name": "ScreeningIntake" + "".join(part.capitalize() for part in m.id.split("-")),
            "title": f"{resource['title']}: {_(m.title)}",
            "derivedFrom": [questionnaire_url(base)],
            "description": f"{resource['description']} {about}",
        }
    )
    required = set(m.require.questions) if m.require else set()

    def adapt(items: list[dict[str, Any]]) -> None:
        for item in items:
            link = item["linkId"]
            if link in m.questions:
                item["text"] = _(m.questions[link].text)
                item["prefix"] = m.questions[link].label
            if link in required:
                item["required"] = True
            adapt(item.get("item") or [])

    adapt(resource["item"])
    return resource


def _in_language(resource: dict[str, Any], _: Translator) -> dict[str, Any]:
    """The Questionnaire with its texts, answer displays and unit displays in the translator's
    language (English: as it is)."""
    if _.lang == "en":
        return resource

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            item["text"] = _(item["text"])
            for option in item.get("answerOption", []):
                option["valueCoding"]["display"] = _(option["valueCoding"]["display"])
            for unit in question_units(item):
                unit["display"] = _(unit["display"])
            walk(item.get("item") or [])

    walk(resource["item"])
    translated = {"resourceType": resource["resourceType"], "id": resource["id"], "language": _.lang}
    translated.update({k: v for k, v in resource.items() if k not in translated})
    translated["title"] = _(resource["title"])
    translated["description"] = _(resource["description"])
    return translated


def question_units(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The unit a number question is asked in (its Coding; a form shows its display beside the field)."""
    return [e["valueCoding"] for e in item.get("extension", []) if e["url"] == _EXT + "questionnaire-unit"]


def _systems(base: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Every CodeSystem the Questionnaire's answers use: url -> (first linkId, concepts)."""
    found: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for link_id, item in _index(base).items():
        for option in item.get("answerOption", []):
            coding = option["valueCoding"]
            _, concepts = found.setdefault(coding["system"], (link_id, []))
            if (coding["code"], coding["display"]) not in concepts:
                concepts.append((coding["code"], coding["display"]))
    return found


def _resource_id(url: str) -> str:
    return url.rsplit("/", 1)[1].replace(".", "-").replace("_", "-")


def code_systems(base: str | None = None) -> list[dict[str, Any]]:
    """Every CodeSystem the Questionnaire refers to (the tri-state answers first)."""
    from ..version import __version__

    base = _checked_base(base)
    out = []
    systems = _systems(base)
    tri_state = _answer_system(base)
    for url, (link_id, concepts) in sorted(systems.items(), key=lambda kv: kv[0] != tri_state):
        if url == _answer_system(base):
            name, description = "TriStateAnswer", "Yes, no, or unsure / don't know. Unsure is never read as no."
        else:
            name = "".join(part.capitalize() for part in _resource_id(url).split("-"))
            description = f"The answers to {link_id}: {_index(base)[link_id]['text']}"
        out.append(
            {
                "resourceType": "CodeSystem",
                "id": _resource_id(url),
                "url": url,
                "version": __version__,
                "name": name,
                "status": "active",
                "content": "complete",
                "caseSensitive": True,
                "description": description,
                "count": len(concepts),
                "concept": [{"code": c, "display": d} for c, d in concepts],
            }
        )
    return out


def value_sets(base: str | None = None) -> list[dict[str, Any]]:
    """One ValueSet per CodeSystem holding all its codes, for tools that bind answers by ValueSet."""
    base = _checked_base(base)
    return [
        {
            "resourceType": "ValueSet",
            "id": system["id"],
            "url": f"{base}/ValueSet/{system['url'].rsplit('/', 1)[1]}",
            "version": system["version"],
            "name": system["name"],
            "status": "active",
            "description": f"Every code of {system['url']}.",
            "compose": {"include": [{"system": system["url"]}]},
            # expanded here, so a forms tool loads the answers through answerValueSet without a terminology server
            "expansion": {
                "identifier": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{system['url']}|{system['version']}")),
                "timestamp": EXPANSION_TIMESTAMP,
                "total": len(system["concept"]),
                "contains": [
                    {"system": system["url"], "version": system["version"], "code": c["code"], "display": c["display"]}
                    for c in system["concept"]
                ],
            },
        }
        for system in code_systems(base)
    ]


def terminology(base: str | None = None) -> dict[str, Any]:
    """Every CodeSystem and ValueSet the Questionnaire uses, as one Bundle (type collection)."""
    resources = [*code_systems(base), *value_sets(base)]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": r["url"], "resource": r} for r in resources]}


def answer_code_system(base: str | None = None) -> dict[str, Any]:
    """The small CodeSystem of the tri-state answers the Questionnaire offers."""
    return code_systems(base)[0]


@cache
def _index(base: str = BASE_URL) -> dict[str, dict[str, Any]]:
    """linkId -> Questionnaire item, for every question, group and display item."""
    found: dict[str, dict[str, Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found[item["linkId"]] = item
            walk(item.get("item", []))

    walk(questionnaire(base=base)["item"])
    return found


# ---------------------------------------------------------------------------- responses in


def _as_dict(resource: Any) -> dict[str, Any]:
    if isinstance(resource, Mapping):
        return dict(resource)
    data: dict[str, Any]
    if hasattr(resource, "model_dump_json"):
        data = json.loads(resource.model_dump_json(exclude_none=True))
        return data
    if hasattr(resource, "json"):  # fhir.resources 7 (pydantic v1 API)
        data = json.loads(resource.json())
        return data
    raise IntakeError(
        [Problem("resource", None, "expected a FHIR QuestionnaireResponse or Bundle (a dict or a pydantic model of one)")]
    )


def _problem(where: str, message: str) -> IntakeError:
    return IntakeError([Problem(where, None, message)])


def _quantity(link_id: str, item: dict[str, Any], quantity: Any, where: str) -> int | float:
    """A valueQuantity in a UCUM unit, converted to the intake's unit (integers rounded)."""
    unit, factors = UNITS[link_id]
    if (
        not isinstance(quantity, Mapping)
        or isinstance(quantity.get("value"), bool)
        or not isinstance(quantity.get("value"), (int, float))
    ):
        raise _problem(where, f"{link_id}: valueQuantity needs a numeric value")
    if quantity.get("comparator") is not None:
        raise _problem(where, f"{link_id}: a valueQuantity with a comparator (<, >) is not an exact measurement")
    code, system = quantity.get("code"), quantity.get("system")
    if system != UCUM or code not in factors:
        accepted = ", ".join(factors)
        raise _problem(where, f"{link_id}: valueQuantity needs a UCUM unit ({UCUM}) with code one of {accepted}")
    value = float(quantity["value"]) * factors[code]
    if item["type"] != "integer":
        return round(value, 6)
    if code == unit and value != int(value):
        raise _problem(where, f"{link_id}: a whole number of {unit} is expected")
    return round(value)


def _value(link_id: str, item: dict[str, Any], answer: dict[str, Any], where: str, base: str) -> Any:
    expected = _VALUE_KEY[item["type"]]
    given = [k for k in answer if k.startswith("value")]
    tri_state = item["type"] == "choice" and item["answerOption"][0]["valueCoding"]["system"] == _answer_system(base)
    accepted = [expected] + (["valueBoolean"] if tri_state else []) + (["valueQuantity"] if link_id in UNITS else [])
    if len(given) != 1 or given[0] not in accepted:
        got = ", ".join(given) or "no value"
        raise _problem(where, f"{link_id}: expected an answer of type {item['type']} ({' or '.join(accepted)}), got {got}")
    key, value = given[0], answer[given[0]]
    if key == "valueBoolean":
        if not isinstance(value, bool):
            raise _problem(where, f"{link_id}: valueBoolean is not true or false")
        return "yes" if value else "no"
    if key == "valueQuantity":
        return _quantity(link_id, item, value, where)
    if item["type"] == "choice":
        if not isinstance(value, Mapping):
            raise _problem(where, f"{link_id}: valueCoding is not a Coding")
        options = {o["valueCoding"]["code"]: o["valueCoding"]["system"] for o in item["answerOption"]}
        code, system = value.get("code"), value.get("system")
        if system is None:
            raise _problem(
                where, f"{link_id}: valueCoding has no system (the answer's code system, {options[next(iter(options))]})"
            )
        if code not in options or system != options[code]:
            raise _problem(where, f"{link_id}: the answer is not one of the question's answer options")
        return code
    return value


class _Reader:
    """Walks one QuestionnaireResponse and collects the intake answers it holds."""

    def __init__(self, where: str, base: str):
        self.where = where
        self.base = base
        self.session: dict[str, Any] = {}
        self.participant: dict[str, Any] = {}
        self.medications: list[dict[str, Any]] = []

    def read(self, items: list[dict[str, Any]], medication: dict[str, Any] | None = None) -> None:
        for entry in items:
            link_id = entry.get("linkId")
            if not isinstance(link_id, str) or (item := _index(self.base).get(link_id)) is None:
                raise IntakeError(
                    [Problem(self.where, None, f"unknown linkId {link_id!r}: not a question of {questionnaire_url(self.base)}")]
                )
            in_medications = link_id.startswith("medications.")
            if item["type"] == "group":
                if "answer" in entry:
                    raise IntakeError([Problem(self.where, None, f"{link_id}: a group has items, not answers")])
                if link_id == "medications":
                    if medication is not None:
                        raise IntakeError([Problem(self.where, None, "medications: a medication group cannot hold another")])
                    new: dict[str, Any] = {}
                    self.read(entry.get("item", []), new)
                    if new:
                        self.medications.append(new)
                else:
                    self.read(entry.get("item", []), medication)
                continue
            if item["type"] == "display":  # text to read (what to list as medications): nothing to answer
                if entry.get("answer") or entry.get("item"):
                    raise IntakeError([Problem(self.where, None, f"{link_id}: a display item has no answers")])
                continue
            if in_medications != (medication is not None):
                place = "outside" if in_medications else "inside"
                raise IntakeError([Problem(self.where, None, f"{link_id}: answered {place} a medications group")])
            answers = entry.get("answer", [])
            if len(answers) > 1:
                raise IntakeError([Problem(self.where, None, f"{link_id}: one answer expected, got {len(answers)}")])
            for answer in answers:
                self._store(link_id, _value(link_id, item, answer, self.where, self.base), medication)
                self.read(answer.get("item", []), medication)
            self.read(entry.get("item", []), medication)

    def _store(self, link_id: str, value: Any, medication: dict[str, Any] | None) -> None:
        if medication is not None:
            target, key = medication, link_id.split(".", 1)[1]
        elif link_id == "participant_id":
            target, key = self.participant, link_id
        else:
            group, key = link_id.split(".", 1)
            target = self.session if group == "session" else self.participant.setdefault(group, {})
        if key in target:
            raise IntakeError([Problem(self.where, None, f"{link_id}: answered more than once")])
        target[key] = value


def _responses(resource: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    kind = resource.get("resourceType")
    if kind == "QuestionnaireResponse":
        return [("QuestionnaireResponse", resource)]
    if kind != "Bundle":
        raise IntakeError([Problem("resource", None, f"expected a QuestionnaireResponse or a Bundle, got resourceType {kind!r}")])
    bundle_type = resource.get("type")
    if bundle_type not in ("collection", "searchset"):
        raise IntakeError(
            [
                Problem(
                    "Bundle.type",
                    None,
                    "a duo's responses come as a Bundle of type 'collection' (or a 'searchset' search result)",
                )
            ]
        )
    found = []
    for index, entry in enumerate(resource.get("entry") or []):
        inner = entry.get("resource") or {}
        mode = (entry.get("search") or {}).get("mode", "match") if bundle_type == "searchset" else "match"
        if mode == "include":
            continue  # resources a search brought along (the Patient, the Questionnaire) are not answers
        if mode == "outcome" or inner.get("resourceType") == "OperationOutcome":
            issues = inner.get("issue") or []
            if any(issue.get("severity") in ("error", "fatal") for issue in issues) or mode != "outcome":
                raise IntakeError(
                    [
                        Problem(
                            f"Bundle.entry[{index}]",
                            None,
                            "the search reported an error (OperationOutcome): its results are incomplete",
                        )
                    ]
                )
            continue
        if inner.get("resourceType") != "QuestionnaireResponse":
            raise IntakeError([Problem(f"Bundle.entry[{index}]", None, "each entry is a QuestionnaireResponse")])
        found.append((f"Bundle.entry[{index}]", inner))
    if len(found) not in (1, 2):
        raise IntakeError(
            [Problem("Bundle.entry", None, f"one or two QuestionnaireResponses expected (one per participant), got {len(found)}")]
        )
    return found


def program_questionnaire_url(program: str | None = None, base: str | None = None) -> str:
    """The canonical URL of a program's Questionnaire: ``<url>-<program>``; the base
    Questionnaire's for the default program (``None``)."""
    url = questionnaire_url(base)
    return url if program in (None, "default") else f"{url}-{program}"


def _check_questionnaire(response: dict[str, Any], where: str, base: str, program: str | None) -> None:
    """The response answers this Questionnaire: the base one, or the screening program's own
    (``<url>-<program>``), and the same version if it names one. A response to another program's
    Questionnaire is refused, never re-read under this program's rules."""
    from ..version import __version__

    expected = questionnaire_url(base)
    own = program_questionnaire_url(program, base)
    canonical, _, version = str(response.get("questionnaire") or expected).partition("|")
    if canonical not in (expected, own):
        if canonical.startswith(expected + "-"):
            named = canonical.removeprefix(expected + "-")[:64]
            if re.fullmatch(r"[a-z0-9][a-z0-9-]*", named):
                raise _problem(
                    f"{where}.questionnaire",
                    f"answers the Questionnaire of program {named!r}; this screening runs under program "
                    f"{program or 'default'!r} (screen it under --program {named}, or use that program's Questionnaire)",
                )
        raise _problem(f"{where}.questionnaire", f"answers another questionnaire; expected {own}")
    if version and version != __version__:
        raise _problem(
            f"{where}.questionnaire", f"answers version {version} of the Questionnaire; this library reads version {__version__}"
        )


def intake_from_fhir(
    resource: Any, *, base: str | None = None, today: dt.date | None = None, program: str | None = None
) -> Intake:
    """Map a completed QuestionnaireResponse (individual) or a Bundle of two (duo) to an Intake.

    ``base`` is the canonical base the Questionnaire was published under (default :data:`BASE_URL`);
    ``program`` the id of the program that will screen it (default: the default program): a
    response to another program's Questionnaire is an :class:`IntakeError`.
    """
    from ..intake.reading import check_shape

    base = _checked_base(base)
    data = check_shape(_as_dict(resource), "resource", MAX_FHIR_DEPTH)
    responses = _responses(data)
    check_structure(data, data.get("resourceType", "resource"))
    session: dict[str, Any] = {}
    participants = []
    missing: list[Problem] = []
    for where, response in responses:
        status = response.get("status")
        if status not in ACCEPTED_STATUSES:
            raise IntakeError(
                [Problem(f"{where}.status", None, f"only a completed or amended response is screened, this one is {status!r}")]
            )
        _check_questionnaire(response, where, base, program)
        reader = _Reader(where, base)
        reader.read(response.get("item") or [])
        for key, value in reader.session.items():
            if key in session and session[key] != value:
                raise IntakeError(
                    [Problem(f"session.{key}", None, "the two responses give different answers to a shared session question")]
                )
            session[key] = value
        if "participant_id" not in reader.participant:
            missing.append(Problem(where, None, "participant_id: required answer missing"))
        if reader.medications:
            reader.participant["medications"] = reader.medications
        participants.append(reader.participant)
    for link_id in ("session.substance", "session.format"):
        if link_id.split(".")[1] not in session:
            missing.append(Problem(link_id, None, "required answer missing"))
    if missing:
        raise IntakeError(missing)
    from ..pipeline.screener import parse_intake

    return parse_intake({"session": session, "participants": participants}, today=today)


def screen_fhir(
    resource: Any,
    *,
    base: str | None = None,
    rulebook: Rulebook | None = None,
    engine: EngineName = "auto",
    today: dt.date | None = None,
    program: str | Program | None = None,
) -> Report:
    """Screen a FHIR QuestionnaireResponse or duo Bundle; the options as for :func:`screening.screen`."""
    from ..pipeline.screener import screen

    program_id = program if isinstance(program, str) or program is None else program.id
    intake = intake_from_fhir(resource, base=base, today=today, program=program_id)
    return screen(intake, rulebook=rulebook, engine=engine, today=today, program=program)


def is_fhir(data: Any) -> bool:
    return isinstance(data, Mapping) and "resourceType" in data


def read_intake_file(
    path: str | Path, *, base: str | None = None, today: dt.date | None = None, program: str | None = None
) -> Intake:
    """Read an intake file ("-" is stdin): the library's JSON/YAML intake, or a FHIR response or
    Bundle (JSON). Both are read strictly and within the same limits (size, nesting, integer
    length, duplicate keys): see :mod:`screening.intake.reading`.
    """
    from ..pipeline.screener import MAX_INTAKE_BYTES, load_intake_data, parse_intake, read_intake

    if str(path) == "-":
        raw, where = sys.stdin.buffer.read(MAX_INTAKE_BYTES + 1), "<stdin>"
    else:
        try:
            raw, where = Path(path).read_bytes(), str(path)
        except OSError:
            return read_intake(path, today=today)  # the same clear error as for any intake
    looks_fhir = b'"resourceType"' in raw[:4096] or (b"resourceType" in raw and raw.lstrip()[:1] == b"{")
    data = load_intake_data(raw, where, MAX_FHIR_DEPTH if looks_fhir else None)
    if looks_fhir and is_fhir(data):
        return intake_from_fhir(data, base=base, today=today, program=program)
    return parse_intake(data, where, today=today)


# ---------------------------------------------------------------------------- responses out


def _code(item: dict[str, Any], value: Any) -> dict[str, Any]:
    for option in item["answerOption"]:
        coding = option["valueCoding"]
        if coding["code"] == value:
            return dict(coding)
    raise ValueError(f"{item['linkId']}: no answer option for this value")


def _answer_item(link_id: str, value: Any, base: str) -> dict[str, Any] | None:
    """One response item, or None when the intake holds no answer (unknown / not given)."""
    item = _index(base)[link_id]
    value = getattr(value, "value", value)  # Substance enum -> its code
    if value is None or (item["type"] == "choice" and value == "unknown"):
        return None  # unsure and unanswered are the same to the intake; leave it unanswered
    if item["type"] == "choice":
        answer = {"valueCoding": _code(item, value)}
    elif item["type"] == "date":
        answer = {"valueDate": value.isoformat()}
    else:
        answer = {_VALUE_KEY[item["type"]]: value}
    return {"linkId": link_id, "text": item["text"], "answer": [answer]}


def _enabled(link_id: str, answers: dict[str, Any]) -> bool:
    if link_id in FOLLOW_UPS:
        parent, values = FOLLOW_UPS[link_id]
        return answers.get(parent, "unknown") in values
    return True


def _section(link_id: str, model: BaseModel, prefix: str, base: str) -> dict[str, Any] | None:
    values = {f"{prefix}.{n}": getattr(model, n) for n in type(model).model_fields}
    items = [
        answered
        for path, value in values.items()
        if _enabled(path, values) and (answered := _answer_item(path, value, base)) is not None
    ]
    return {"linkId": link_id, "text": _index(base)[link_id]["text"], "item": items} if items else None


def _response(intake: Intake, participant: intake_models.Participant, base: str) -> dict[str, Any]:
    items = [
        _section("session", intake.session, "session", base),
        _answer_item("participant_id", participant.participant_id, base),
    ]
    for name in PARTICIPANT_GROUPS:
        section = getattr(participant, name)
        if section is not None:
            items.append(_section(name, section, name, base))
    for medication in participant.medications:
        group = _section("medications", medication, "medications", base)
        if group is None:  # pragma: no cover - a medication always has a name
            continue
        if medication.status != "stopped":  # disabled follow-ups carry no answer (FHIR)
            group["item"] = [
                i for i in group["item"] if i["linkId"] not in ("medications.last_taken", "medications.stopped_with_prescriber")
            ]
        items.append(group)
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire_url(base),
        "status": "completed",
        "item": [i for i in items if i is not None],
    }


def response_from_intake(intake: Intake | Mapping[str, Any], *, base: str | None = None) -> dict[str, Any]:
    """An intake as FHIR: a QuestionnaireResponse for one person, a Bundle of two for a duo.

    Unknown answers are left unanswered, and answers to questions the Questionnaire disables
    (a follow-up that the earlier answer rules out) are left out, as FHIR requires.
    """
    from ..pipeline.screener import parse_intake

    parsed = parse_intake(intake)
    checked = _checked_base(base)
    responses = [_response(parsed, p, checked) for p in parsed.participants]
    if len(responses) == 1:
        return responses[0]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in responses]}
