"""JSON Schemas for the files rule authors edit (``screening schema rule|vocabulary|program``), so an
editor can validate and complete a rule file as it is typed.

The schema is a help, not the judge: ``screening rules check`` applies everything here and
more (field types per question, classes that exist, wording, examples that run).
"""

from __future__ import annotations

from typing import Any

from ..intake.fields import catalogue
from ..rulebook import conditions
from ..rulebook.loading import RuleFile

__all__ = ["rule_schema", "vocabulary_schema", "program_schema", "condition_schema"]


def _field_names() -> list[str]:
    names = sorted(catalogue())
    sides = [f"{side}.{n}" for side in conditions.SIDES for n in names if not catalogue()[n].session]
    return names + sides


def _one(op: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {op: body}, "required": [op], "additionalProperties": False}


def condition_schema() -> dict[str, Any]:
    """The ``when:`` language: one operator per mapping, fields from the intake catalogue."""
    field = {"type": "string", "enum": _field_names()}
    pair = {"type": "object", "propertyNames": field, "minProperties": 1, "maxProperties": 1}
    scalar = {"type": ["string", "number", "boolean"]}
    ref = {"$ref": "#/$defs/condition"}
    days = {"type": "integer", "minimum": 0}
    medication = {
        "type": "object",
        "properties": {
            "class": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
            "within_days": days,
            "after_days": days,
        },
        "required": ["class"],
        "additionalProperties": False,
    }
    options = [
        _one("all", {"type": "array", "items": ref, "minItems": 1}),
        _one("any", {"type": "array", "items": ref, "minItems": 1}),
        _one("not", ref),
        _one("is", {**pair, "additionalProperties": scalar}),
        _one("in", {**pair, "additionalProperties": {"type": "array", "items": scalar, "minItems": 1}}),
        *[_one(op, {**pair, "additionalProperties": {"type": "number"}}) for op in conditions.THRESHOLDS],
        _one(
            "between",
            {**pair, "additionalProperties": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}},
        ),
        _one("answered", field),
        _one("unanswered", field),
        *[_one(op, medication) for op in conditions.MEDICATION_LEAVES],
        _one(
            "medications",
            {
                "type": "object",
                "properties": {
                    "count": {"enum": ["drugs", "classes"]},
                    "of": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "at_least": {"type": "integer", "minimum": 1},
                    "within_days": days,
                },
                "required": ["of", "at_least"],
                "additionalProperties": False,
            },
        ),
        _one("use", {"type": "string", "description": "a named condition from rules/conditions.yaml"}),
    ]
    return {"oneOf": options}


def rule_schema() -> dict[str, Any]:
    schema = RuleFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "A screening rule file (rules/<category>/<name>.yaml)"
    schema.setdefault("$defs", {})["condition"] = condition_schema()
    schema["properties"]["when"] = {"$ref": "#/$defs/condition", "description": "The condition; see rules/README.md."}
    return schema


def vocabulary_schema() -> dict[str, Any]:
    names = {"type": "array", "items": {"type": "string", "minLength": 1}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "The medication vocabulary (rules/vocabularies/medications.yaml)",
        "type": "object",
        "properties": {
            "classes": {
                "type": "object",
                "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                "additionalProperties": {
                    "type": "object",
                    "properties": {"label": {"type": "string", "minLength": 1}, "source": {"type": "string", "minLength": 1}},
                    "required": ["label", "source"],
                },
            },
            "medications": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "generic": {"type": "string", "minLength": 1},
                        "brands": names,
                        "aliases": names,
                        "classes": {**names, "minItems": 1},
                        "source": {"type": "string", "minLength": 1},
                        "note": {"type": "string"},
                    },
                    "required": ["generic", "classes", "source"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["classes", "medications"],
    }


def program_schema() -> dict[str, Any]:
    """A program file (rules/programs/<id>.yaml), from the model the loader validates it with."""
    from ..rulebook.programs import ProgramFile

    schema = ProgramFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "A program profile (rules/programs/<id>.yaml)"
    return schema
