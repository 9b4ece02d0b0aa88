"""Named values the rules read where programs differ (minimum age, thresholds, washout days).

``rules/parameters.yaml`` gives each parameter its type and default. A rule reads one by name
in ``when:`` (``below: {person.age: {param: program_minimum_age}}``) and may show its value in
its texts (``${program_minimum_age}``), so no rule copies a number a program may change. A
program (:mod:`screening.rulebook.programs`) sets other values; the rule is then compiled again with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .conditions import ConditionError, _suggest

__all__ = ["Parameter", "parse_parameters", "substitute", "fill_text", "TEXT_REF", "check_value"]

TYPES = ("number", "days", "years")
TEXT_REF = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # number | days (whole days, 0 or more) | years (whole years)
    default: int | float
    unit: str
    description: str
    line: int | None = None


def check_value(param: Parameter, value: Any) -> str | None:
    """What is wrong with ``value`` for this parameter, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{param.name} is a number ({param.unit}); {value!r} is not"
    if param.type in ("days", "years") and (not isinstance(value, int) or value < 0):
        return f"{param.name} is a whole number of {param.type}, 0 or more; got {value!r}"
    return None


_P = TypeVar("_P")


def parse_parameters(
    data: Any, problems: list[_P], rel: str, problem_type: Callable[[str, int | None, str], _P]
) -> dict[str, Parameter]:
    """Read the ``parameters:`` mapping of rules/parameters.yaml; problems carry file and line."""
    if not isinstance(data, Mapping) or not isinstance(data.get("parameters"), Mapping):
        problems.append(
            problem_type(rel, None, "parameters.yaml holds a 'parameters' mapping: name -> type, default, unit, description")
        )
        return {}
    out: dict[str, Parameter] = {}
    node = data["parameters"]
    for name, spec in node.items():
        line = getattr(node, "key_lines", {}).get(name)
        if not NAME.match(str(name)):
            problems.append(problem_type(rel, line, f"parameter name {name!r}: use lower case letters, digits and _"))
            continue
        if not isinstance(spec, Mapping):
            problems.append(problem_type(rel, line, f"parameter {name!r} needs type, default, unit and description"))
            continue
        extra = set(spec) - {"type", "default", "unit", "description"}
        missing = {"type", "default", "unit", "description"} - set(spec)
        if extra or missing:
            what = "; ".join(
                filter(
                    None,
                    [
                        f"unknown keys {', '.join(sorted(map(str, extra)))}{_suggest(str(min(extra)), ['type', 'default', 'unit', 'description'])}"
                        if extra
                        else "",
                        f"missing {', '.join(sorted(missing))}" if missing else "",
                    ],
                )
            )
            problems.append(problem_type(rel, line, f"parameter {name!r}: {what}"))
            continue
        if spec["type"] not in TYPES:
            problems.append(
                problem_type(
                    rel, line, f"parameter {name!r}: type is one of {', '.join(TYPES)}{_suggest(str(spec['type']), TYPES)}"
                )
            )
            continue
        param = Parameter(
            str(name), spec["type"], spec["default"], str(spec["unit"]), " ".join(str(spec["description"]).split()), line
        )
        wrong = check_value(param, spec["default"])
        if wrong:
            problems.append(problem_type(rel, line, f"default: {wrong}"))
            continue
        out[param.name] = param
    return out


def substitute(node: Any, values: Mapping[str, Any], used: set[str]) -> Any:
    """The ``when:`` tree with every ``{param: name}`` replaced by its value; names go in ``used``.

    The result keeps the YAML line bookkeeping of the nodes it copies, so the condition parser
    still reports lines. An unknown name raises ConditionError with a did-you-mean.
    """
    if isinstance(node, Mapping):
        if set(node) == {"param"}:
            name = node["param"]
            if name not in values:
                raise ConditionError(
                    f"unknown parameter {name!r}{_suggest(str(name), sorted(values))}; parameters are defined in rules/parameters.yaml",
                    getattr(node, "line", None),
                )
            used.add(name)
            return values[name]
        # The node's own class: the rulebook loader's dict subclass carries the YAML lines.
        copied: Any = type(node)() if type(node) is not dict else {}
        for attr in ("line", "key_lines"):
            if hasattr(node, attr):
                setattr(copied, attr, getattr(node, attr))
        for key, value in node.items():
            copied[key] = substitute(value, values, used)
        return copied
    if isinstance(node, list):
        copied_list = type(node)(substitute(v, values, used) for v in node)  # a list subclass with a line
        if hasattr(node, "line"):
            setattr(copied_list, "line", node.line)  # noqa: B010 (the list type declares no line attribute)
        return copied_list
    return node


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def fill_text(text: str, values: Mapping[str, Any], used: set[str] | None = None) -> str:
    """``${name}`` in a rule's text replaced by the parameter's value (KeyError for an unknown name)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if used is not None:
            used.add(name)
        return _show(values[name])

    return TEXT_REF.sub(one, text)
