"""The FHIR R4 structure of what the reader uses, checked in microseconds.

Typed pydantic models of exactly the parts of a QuestionnaireResponse, a Bundle and an
OperationOutcome that :mod:`screening.interop.fhir` reads: the types, required elements and
codes R4 gives them. Everything else is allowed through unread (a forms tool's extensions, the
subject, meta ...). The full R4 models (fhir.resources) cost about 30 times more and are used
by the tests instead, to show that every response read here is valid R4 and that every broken
structure the tests use is still refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..errors import IntakeError, Problem

__all__ = ["check_structure"]

# R4 primitive types, as their JSON is written (https://hl7.org/fhir/R4/datatypes.html)
# (a string is non-empty: R4's regex for it, which also bars a few control characters, costs more than the rest)
String = Annotated[str, StringConstraints(min_length=1)]
Code = Annotated[str, StringConstraints(pattern=r"^[^\s]+( [^\s]+)*$")]
Uri = Annotated[str, StringConstraints(pattern=r"^\S*$")]
Date = Annotated[str, StringConstraints(pattern=r"^([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$")]
DateTime = Annotated[
    str,
    StringConstraints(
        pattern=r"^([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:"
        r"([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$"
    ),
]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-\.]{1,64}$")]


class _Element(BaseModel):
    # strict: JSON types as R4 writes them (no "3" for 3, no 1 for true); other elements pass
    # unread and uncopied (texts and displays are not read: the Questionnaire's own are used)
    model_config = ConfigDict(extra="ignore", strict=True)


class Coding(_Element):
    system: Uri | None = None
    code: Code | None = None


class Quantity(_Element):
    value: float | None = None
    comparator: Literal["<", "<=", ">=", ">"] | None = None
    system: Uri | None = None
    code: Code | None = None


class Reference(_Element):
    reference: String | None = None


class Answer(_Element):
    valueBoolean: bool | None = None
    valueDecimal: float | None = None
    valueInteger: int | None = None
    valueDate: Date | None = None
    valueDateTime: DateTime | None = None
    valueString: String | None = None
    valueUri: Uri | None = None
    valueCoding: Coding | None = None
    valueQuantity: Quantity | None = None
    valueReference: Reference | None = None
    item: list[Item] | None = None


class Item(_Element):
    linkId: String
    answer: list[Answer] | None = None
    item: list[Item] | None = None


class QuestionnaireResponse(_Element):
    resourceType: Literal["QuestionnaireResponse"]
    id: Id | None = None
    questionnaire: Uri | None = None
    status: Literal["in-progress", "completed", "amended", "entered-in-error", "stopped"]
    subject: Reference | None = None
    authored: DateTime | None = None
    item: list[Item] | None = None


class Issue(_Element):
    severity: Literal["fatal", "error", "warning", "information"]
    code: Code


class OperationOutcome(_Element):
    resourceType: Literal["OperationOutcome"]
    issue: list[Issue] = Field(min_length=1)


class Search(_Element):
    mode: Literal["match", "include", "outcome"] | None = None
    score: float | None = None


class Resource(_Element):
    resourceType: Code


class Entry(_Element):
    fullUrl: Uri | None = None
    resource: Resource | None = None
    search: Search | None = None


class Bundle(_Element):
    resourceType: Literal["Bundle"]
    id: Id | None = None
    type: Literal[
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    ]
    total: Annotated[int, Field(ge=0)] | None = None
    entry: list[Entry] | None = None


_READ: dict[Any, type[BaseModel]] = {"QuestionnaireResponse": QuestionnaireResponse, "OperationOutcome": OperationOutcome}


def _problems(error: ValidationError, where: str) -> list[Problem]:
    out = []
    for item in error.errors(include_url=False, include_input=False)[:20]:  # never the value: it may be an answer
        loc = ".".join(str(p) for p in item["loc"]) or "(resource)"
        out.append(Problem(f"{where}: {loc}", None, item["msg"]))
    return out


def check_structure(resource: dict[str, Any], where: str) -> None:
    """Refuse a QuestionnaireResponse or Bundle whose read parts break R4's structure: an
    :class:`IntakeError` naming each element's path, never quoting a value."""
    model: type[BaseModel] = Bundle if resource.get("resourceType") == "Bundle" else QuestionnaireResponse
    try:
        model.model_validate(resource)
    except ValidationError as error:
        raise IntakeError(_problems(error, where)) from None
    if model is QuestionnaireResponse:
        return
    problems = []
    for index, entry in enumerate(resource.get("entry") or []):
        inner = entry.get("resource") or {}
        kind = _READ.get(inner.get("resourceType"))
        if kind is not None:
            try:
                kind.model_validate(inner)
            except ValidationError as error:
                problems += _problems(error, f"{where}: entry.{index}.resource")
    if problems:
        raise IntakeError(problems)
