"""The published JSON Schemas (draft 2020-12) of an intake and of a report.

pydantic generates each from the models; this module adds what JSON Schema can also say and
pydantic does not emit (a duo has two participants, an individual none with relationship
answers, a current medication no last dose, reserved participant ids), the ``$schema`` and
``$id``, and a ``$comment`` naming the checks only the library makes (comparisons between two
answers, and dates against today). tests/test_schema_agreement.py holds the schema and the
library to the same verdict on one mutation suite.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from ..intake import models as intake_models
from ..version import DIALECT, SCHEMA_BASE, schema_id, with_header

__all__ = ["DIALECT", "SCHEMA_BASE", "LIBRARY_ONLY_CHECKS", "schema_id", "intake_schema", "with_header"]


# What the library refuses and JSON Schema cannot express; each is tested both ways.
LIBRARY_ONLY_CHECKS = (
    "participant_id values differ from each other, ignoring case",
    "systolic_bp is higher than diastolic_bp",
    "text is read with surrounding spaces removed, so a participant_id such as ' A' is read as 'A'",
)

_ANSWER_ENUM = ["yes", "no", "unknown"]


def _case_insensitive(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


def _answers_may_be_null(node: Any) -> None:
    """null is "not answered" (read as unknown) in the library; the schema says the same."""
    if isinstance(node, dict):
        if node.get("enum") == _ANSWER_ENUM and node.get("type") == "string":
            node["type"] = ["string", "null"]
            node["enum"] = [*_ANSWER_ENUM, None]
        for value in node.values():
            _answers_may_be_null(value)
    elif isinstance(node, list):
        for value in node:
            _answers_may_be_null(value)


def _session_format_is(value: str) -> dict[str, Any]:
    return {
        "properties": {"session": {"properties": {"format": {"const": value}}, "required": ["format"]}},
        "required": ["session"],
    }


@cache
def _intake_schema() -> dict[str, Any]:
    schema = intake_models.Intake.model_json_schema()
    defs = schema["$defs"]
    _answers_may_be_null(schema)
    schema["allOf"] = [
        {"if": _session_format_is("duo"), "then": {"properties": {"participants": {"minItems": 2}}}},
        {
            "if": _session_format_is("individual"),
            "then": {
                "properties": {"participants": {"maxItems": 1, "items": {"properties": {"relationship": {"type": "null"}}}}}
            },
        },
    ]
    defs["Medication"]["allOf"] = [
        {
            "if": {"properties": {"status": {"const": "current"}}, "required": ["status"]},
            "then": {"properties": {"last_taken": {"type": "null"}}},
        }
    ]
    # grams of mushrooms or truffles only with a unit that says what was weighed (never read as mg)
    defs["Plan"]["allOf"] = [
        {
            "if": {"properties": {"dose_grams": {"type": "number"}}, "required": ["dose_grams"]},
            "then": {
                "required": ["dose_unit"],
                "properties": {"dose_unit": {"enum": ["g_dried_mushrooms", "g_fresh_mushrooms", "g_truffles"]}},
            },
        }
    ]
    # the library strips surrounding spaces, so a name of spaces only is empty: say so here
    defs["Medication"]["properties"]["name"]["pattern"] = r"\S"
    reserved = sorted(getattr(intake_models, "RESERVED_PARTICIPANT_IDS", ()))
    if reserved:
        words = "|".join(_case_insensitive(word) for word in reserved)
        defs["Participant"]["properties"]["participant_id"]["not"] = {"pattern": f"^({words})$"}
    schema["$comment"] = (
        "Checked by the library only (JSON Schema cannot compare two values): " + "; ".join(LIBRARY_ONLY_CHECKS) + "."
    )
    return with_header(schema, "intake")


def intake_schema() -> dict[str, Any]:
    """The JSON Schema of an intake (a fresh copy each call)."""
    return copy.deepcopy(_intake_schema())
