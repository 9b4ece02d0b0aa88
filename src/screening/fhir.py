"""FHIR R4 in and out: the intake as a Questionnaire, completed QuestionnaireResponses back in.

The Questionnaire is generated from the intake models, so it asks exactly what the rules can
read: each question's ``linkId`` is its dotted field path (``psychiatric.bipolar_1``, session
questions under ``session.*``), its text the question as the intake asks it. One person fills
in one QuestionnaireResponse in private; a duo sends a Bundle (type ``collection``) of the two.

Reading responses uses the optional ``fhir.resources`` package (``pip install
'screening[fhir]'``) to check the FHIR structure; it is imported only when a response is read.
The mapping to the intake is strict: an unknown linkId, an answer of the wrong type or a
missing required answer is an :class:`IntakeError` naming the linkId, never quoting the answer.
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from functools import cache
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel

from . import intake as intake_models
from .errors import IntakeError, Problem, ScreeningError
from .fields import FOLLOW_UPS, PARTICIPANT_GROUPS, _kind_of
from .intake import Intake

__all__ = [
    "BASE_URL",
    "QUESTIONNAIRE_URL",
    "ANSWER_SYSTEM",
    "FhirSupportMissing",
    "questionnaire",
    "answer_code_system",
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
ACCEPTED_STATUSES = ("completed", "amended")
REQUIRED = ("session.substance", "session.format", "participant_id")
# Lists and objects inside each other. A duo Bundle of this Questionnaire's responses has 13
# (answers nest inside items inside groups); the limit leaves room for other writers' layouts.
MAX_FHIR_DEPTH = 40

_TRI_STATE = (("yes", "Yes"), ("no", "No"), ("unsure", "Unsure / don't know"))
_TO_INTAKE = {"yes": "yes", "no": "no", "unsure": "unknown"}
_TO_CODE = {"yes": "yes", "no": "no", "unknown": "unsure"}
_VALUE_KEY = {
    "choice": "valueCoding",
    "integer": "valueInteger",
    "decimal": "valueDecimal",
    "date": "valueDate",
    "string": "valueString",
}
_EXT = "http://hl7.org/fhir/StructureDefinition/"


class FhirSupportMissing(ScreeningError, ImportError):
    """fhir.resources is not installed: it is an optional extra."""

    def __init__(self) -> None:
        super().__init__(
            "reading FHIR resources needs the optional fhir.resources package: pip install 'screening[fhir]'"
        )


# ---------------------------------------------------------------------------- Questionnaire out


def _enum_system(link_id: str) -> str:
    return f"{BASE_URL}/CodeSystem/{link_id}"


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
    return "Unsure / don't know" if code == "unknown" else code.replace("_", " ").capitalize()


def _question(link_id: str, info: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": info.description or link_id}
    kind, choices = _kind_of(info.annotation)
    real = _plain_type(info.annotation)
    bounds = {type(m).__name__: m for m in info.metadata}
    if kind == "answer":
        item["type"] = "choice"
        item["answerOption"] = [{"valueCoding": {"system": ANSWER_SYSTEM, "code": c, "display": d}} for c, d in _TRI_STATE]
    elif kind == "enum":
        item["type"] = "choice"
        system = _enum_system(link_id)
        item["answerOption"] = [{"valueCoding": {"system": system, "code": c, "display": _display(c)}} for c in choices]
    elif real is int or real is float:
        item["type"] = "integer" if real is int else "decimal"
        value_key = "valueInteger" if real is int else "valueDecimal"
        extensions = []
        if "Ge" in bounds:
            extensions.append({"url": _EXT + "minValue", value_key: bounds["Ge"].ge})
        if "Le" in bounds:
            extensions.append({"url": _EXT + "maxValue", value_key: bounds["Le"].le})
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


def _enable_when(item: dict[str, Any], link_id: str) -> None:
    if link_id in FOLLOW_UPS:
        parent, values = FOLLOW_UPS[link_id]
        conditions = [
            {"question": parent, "operator": "=", "answerCoding": {"system": ANSWER_SYSTEM, "code": _TO_CODE[v]}} for v in values
        ]
        if "unknown" in values:  # not answered at all counts as unknown too
            conditions.append({"question": parent, "operator": "exists", "answerBoolean": False})
        item["enableWhen"] = conditions
        if len(conditions) > 1:
            item["enableBehavior"] = "any"


def _group(link_id: str, model: type[BaseModel], prefix: str) -> dict[str, Any]:
    text = (model.__doc__ or link_id).strip().splitlines()[0]
    items = []
    for name, info in model.model_fields.items():
        question = _question(f"{prefix}.{name}", info)
        _enable_when(question, question["linkId"])
        items.append(question)
    return {"linkId": link_id, "text": text, "type": "group", "item": items}


def _medications_group() -> dict[str, Any]:
    group = _group("medications", intake_models.Medication, "medications")
    group["text"] = intake_models.Participant.model_fields["medications"].description
    group["repeats"] = True
    stopped = {
        "question": "medications.status",
        "operator": "=",
        "answerCoding": {"system": _enum_system("medications.status"), "code": "stopped"},
    }
    for item in group["item"]:
        if item["linkId"] in ("medications.last_taken", "medications.stopped_with_prescriber"):
            item["enableWhen"] = [stopped]
    return group


@cache
def _questionnaire_json() -> str:
    from . import __version__

    participant_id = _question("participant_id", intake_models.Participant.model_fields["participant_id"])
    items = [_group("session", intake_models.Session, "session"), participant_id]
    for name, model in PARTICIPANT_GROUPS.items():
        group = _group(name, model, name)
        if name == "relationship":
            group["text"] = "Duo only. " + group["text"]
            group["enableWhen"] = [
                {
                    "question": "session.format",
                    "operator": "=",
                    "answerCoding": {"system": _enum_system("session.format"), "code": "duo"},
                }
            ]
        items.append(group)
    items.append(_medications_group())
    resource = {
        "resourceType": "Questionnaire",
        "id": "screening-intake",
        "url": QUESTIONNAIRE_URL,
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


def questionnaire(program: Any = None, rulebook: Any = None) -> dict[str, Any]:
    """The intake as a FHIR R4 Questionnaire (a fresh dict each call).

    For a program other than 'default' it is that program's Questionnaire: the same linkIds, the
    framework's own wording and numbering where the program prescribes it, and its required
    questions marked required. Its responses are read like any other.
    """
    resource = json.loads(_questionnaire_json())
    if program is None or program == "default":
        return resource
    from . import programs, rulebook as rulebook_module

    chosen = programs.get_program(rulebook or rulebook_module.default(), program)
    if chosen.id == "default":
        return resource
    m = chosen.meta
    resource.update({
        "id": f"screening-intake-{m.id}",
        "url": f"{QUESTIONNAIRE_URL}-{m.id}",
        "name": "ScreeningIntake" + "".join(part.capitalize() for part in m.id.split("-")),
        "title": f"{resource['title']}: {m.title}",
        "derivedFrom": [QUESTIONNAIRE_URL],
        "description": f"{resource['description']} Program {m.id} {m.version} ({m.framework}).",
    })
    required = set(m.require.questions) if m.require else set()

    def adapt(items: list[dict[str, Any]]) -> None:
        for item in items:
            link = item["linkId"]
            if link in m.questions:
                item["text"] = m.questions[link].text
                item["prefix"] = m.questions[link].label
            if link in required:
                item["required"] = True
            adapt(item.get("item") or [])

    adapt(resource["item"])
    return resource


def answer_code_system() -> dict[str, Any]:
    """The small CodeSystem of the tri-state answers the Questionnaire offers."""
    return {
        "resourceType": "CodeSystem",
        "id": "tri-state-answer",
        "url": ANSWER_SYSTEM,
        "name": "TriStateAnswer",
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "description": "Yes, no, or unsure. Unsure is never read as no.",
        "concept": [{"code": c, "display": d} for c, d in _TRI_STATE],
    }


@cache
def _index() -> dict[str, dict[str, Any]]:
    """linkId -> Questionnaire item, for every question and group."""
    found: dict[str, dict[str, Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found[item["linkId"]] = item
            walk(item.get("item", []))

    walk(questionnaire()["item"])
    return found


# ---------------------------------------------------------------------------- responses in


def _validate_fhir(resource: dict[str, Any], where: str) -> None:
    """Check the FHIR structure with fhir.resources' R4B models (the optional extra)."""
    try:
        from fhir.resources.R4B.bundle import Bundle
        from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
    except ImportError:
        raise FhirSupportMissing() from None
    model = Bundle if resource.get("resourceType") == "Bundle" else QuestionnaireResponse
    parse = getattr(model, "model_validate", None) or model.parse_obj  # fhir.resources 8 / 7
    try:
        parse(resource)
    except Exception as error:  # pydantic v1 or v2 ValidationError, by fhir.resources version
        errors = getattr(error, "errors", None)
        problems = []
        if callable(errors):
            for item in errors()[:20]:
                loc = ".".join(str(p) for p in item.get("loc", ())) or "(resource)"
                problems.append(Problem(f"{where}: {loc}", None, str(item.get("msg", "invalid"))))
        raise IntakeError(problems or [Problem(where, None, "not a valid FHIR R4 resource")]) from None


def _as_dict(resource: Any) -> dict[str, Any]:
    if isinstance(resource, Mapping):
        return dict(resource)
    if hasattr(resource, "model_dump_json"):
        return json.loads(resource.model_dump_json(exclude_none=True))
    if hasattr(resource, "json"):  # fhir.resources 7 (pydantic v1 API)
        return json.loads(resource.json())
    raise IntakeError([Problem("resource", None, "expected a FHIR QuestionnaireResponse or Bundle (a dict or a fhir.resources model)")])


def _value(link_id: str, item: dict[str, Any], answer: dict[str, Any], where: str) -> Any:
    expected = _VALUE_KEY[item["type"]]
    given = [k for k in answer if k.startswith("value")]
    if given != [expected]:
        got = ", ".join(given) or "no value"
        raise IntakeError([Problem(where, None, f"{link_id}: expected an answer of type {item['type']} ({expected}), got {got}")])
    value = answer[expected]
    if item["type"] == "choice":
        if not isinstance(value, Mapping):
            raise IntakeError([Problem(where, None, f"{link_id}: valueCoding is not a Coding")])
        options = {o["valueCoding"]["code"]: o["valueCoding"]["system"] for o in item["answerOption"]}
        code, system = value.get("code"), value.get("system")
        if code not in options or (system is not None and system != options[code]):
            raise IntakeError([Problem(where, None, f"{link_id}: the answer is not one of the question's answer options")])
        return _TO_INTAKE[code] if options[code] == ANSWER_SYSTEM else code
    return value


class _Reader:
    """Walks one QuestionnaireResponse and collects the intake answers it holds."""

    def __init__(self, where: str):
        self.where = where
        self.session: dict[str, Any] = {}
        self.participant: dict[str, Any] = {}
        self.medications: list[dict[str, Any]] = []

    def read(self, items: list[dict[str, Any]], medication: dict[str, Any] | None = None) -> None:
        for entry in items:
            link_id = entry.get("linkId")
            item = _index().get(link_id)
            if item is None:
                raise IntakeError([Problem(self.where, None, f"unknown linkId {link_id!r}: not a question of {QUESTIONNAIRE_URL}")])
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
            if in_medications != (medication is not None):
                place = "outside" if in_medications else "inside"
                raise IntakeError([Problem(self.where, None, f"{link_id}: answered {place} a medications group")])
            answers = entry.get("answer", [])
            if len(answers) > 1:
                raise IntakeError([Problem(self.where, None, f"{link_id}: one answer expected, got {len(answers)}")])
            for answer in answers:
                self._store(link_id, _value(link_id, item, answer, self.where), medication)
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
    if resource.get("type") != "collection":
        raise IntakeError([Problem("Bundle.type", None, "a duo's responses come as a Bundle of type 'collection'")])
    found = []
    for index, entry in enumerate(resource.get("entry") or []):
        inner = entry.get("resource") or {}
        if inner.get("resourceType") != "QuestionnaireResponse":
            raise IntakeError([Problem(f"Bundle.entry[{index}]", None, "each entry is a QuestionnaireResponse")])
        found.append((f"Bundle.entry[{index}]", inner))
    if len(found) not in (1, 2):
        raise IntakeError([Problem("Bundle.entry", None, f"one or two QuestionnaireResponses expected (one per participant), got {len(found)}")])
    return found


def intake_from_fhir(resource: Any, *, today: dt.date | None = None) -> Intake:
    """Map a completed QuestionnaireResponse (individual) or a Bundle of two (duo) to an Intake."""
    from .reading import check_shape

    data = check_shape(_as_dict(resource), "resource", MAX_FHIR_DEPTH)
    responses = _responses(data)
    _validate_fhir(data, data.get("resourceType", "resource"))
    session: dict[str, Any] = {}
    participants = []
    for where, response in responses:
        status = response.get("status")
        if status not in ACCEPTED_STATUSES:
            raise IntakeError([Problem(f"{where}.status", None, f"only a completed or amended response is screened, this one is {status!r}")])
        canonical = str(response.get("questionnaire") or QUESTIONNAIRE_URL).split("|")[0]
        if canonical != QUESTIONNAIRE_URL and not canonical.startswith(QUESTIONNAIRE_URL + "-"):
            raise IntakeError([Problem(f"{where}.questionnaire", None, f"answers another questionnaire; expected {QUESTIONNAIRE_URL}")])
        reader = _Reader(where)
        reader.read(response.get("item") or [])
        for key, value in reader.session.items():
            if key in session and session[key] != value:
                raise IntakeError([Problem(f"session.{key}", None, "the two responses give different answers to a shared session question")])
            session[key] = value
        if "participant_id" not in reader.participant:
            raise IntakeError([Problem(where, None, "participant_id: required answer missing")])
        if reader.medications:
            reader.participant["medications"] = reader.medications
        participants.append(reader.participant)
    for link_id in ("session.substance", "session.format"):
        if link_id.split(".")[1] not in session:
            raise IntakeError([Problem(link_id, None, "required answer missing")])
    from .screener import parse_intake

    return parse_intake({"session": session, "participants": participants}, today=today)


def screen_fhir(resource: Any, **options: Any):
    """Screen a FHIR QuestionnaireResponse or duo Bundle; options as for :func:`screening.screen`."""
    from .screener import screen

    return screen(intake_from_fhir(resource, today=options.get("today")), **options)


def is_fhir(data: Any) -> bool:
    return isinstance(data, Mapping) and "resourceType" in data


def read_intake_file(path: str | Path, *, today: dt.date | None = None) -> Intake:
    """Read an intake file: the library's JSON/YAML intake, or a FHIR response or Bundle (JSON).

    Both are read strictly and within the same limits (size, nesting, integer length,
    duplicate keys): see :mod:`screening.reading`.
    """
    from .screener import load_intake_data, parse_intake, read_intake

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError:
        return read_intake(path)  # the same clear error as for any intake
    looks_fhir = b'"resourceType"' in raw[:4096] or (b"resourceType" in raw and raw.lstrip()[:1] == b"{")
    data = load_intake_data(raw, str(path), MAX_FHIR_DEPTH if looks_fhir else None)
    if looks_fhir and is_fhir(data):
        return intake_from_fhir(data, today=today)
    return parse_intake(data, str(path), today=today)


# ---------------------------------------------------------------------------- responses out


def _code(item: dict[str, Any], value: Any) -> dict[str, Any]:
    for option in item["answerOption"]:
        coding = option["valueCoding"]
        if coding["code"] == (_TO_CODE[value] if coding["system"] == ANSWER_SYSTEM else value):
            return dict(coding)
    raise ValueError(f"{item['linkId']}: no answer option for this value")


def _answer_item(link_id: str, value: Any) -> dict[str, Any] | None:
    """One response item, or None when the intake holds no answer (unknown / not given)."""
    item = _index()[link_id]
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


def _section(link_id: str, model: BaseModel, prefix: str) -> dict[str, Any] | None:
    values = {f"{prefix}.{n}": getattr(model, n) for n in type(model).model_fields}
    items = [
        answered
        for path, value in values.items()
        if _enabled(path, values) and (answered := _answer_item(path, value)) is not None
    ]
    return {"linkId": link_id, "text": _index()[link_id]["text"], "item": items} if items else None


def _response(intake: Intake, participant: intake_models.Participant) -> dict[str, Any]:
    items = [_section("session", intake.session, "session"), _answer_item("participant_id", participant.participant_id)]
    for name in PARTICIPANT_GROUPS:
        section = getattr(participant, name)
        if section is not None:
            items.append(_section(name, section, name))
    for medication in participant.medications:
        group = _section("medications", medication, "medications")
        if medication.status != "stopped":  # disabled follow-ups carry no answer (FHIR)
            group["item"] = [i for i in group["item"] if i["linkId"] not in ("medications.last_taken", "medications.stopped_with_prescriber")]
        items.append(group)
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed",
        "item": [i for i in items if i is not None],
    }


def response_from_intake(intake: Intake | Mapping[str, Any]) -> dict[str, Any]:
    """An intake as FHIR: a QuestionnaireResponse for one person, a Bundle of two for a duo.

    Unknown answers are left unanswered, and answers to questions the Questionnaire disables
    (a follow-up that the earlier answer rules out) are left out, as FHIR requires.
    """
    from .screener import parse_intake

    parsed = parse_intake(intake)
    responses = [_response(parsed, p) for p in parsed.participants]
    if len(responses) == 1:
        return responses[0]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in responses]}
