"""Read JSON and YAML text into plain data strictly, before any model sees it.

- A key written twice in one mapping is an error naming its path (JSON and YAML): the last one
  silently winning would turn ``pregnant: yes, pregnant: no`` into "no".
- YAML scalars are read by the YAML 1.2 core rules, as written: only ``true``/``false`` are
  booleans (``yes``/``no`` stay the answers they spell), ``070`` is seventy (YAML 1.1: 56),
  ``2:06`` is text (YAML 1.1: 126), ``5e-5`` is a number, a date is text for the model to read,
  and ``<<`` merges nothing. Anchors and aliases are refused (no expansion bombs).
- An integer longer than :data:`MAX_INTEGER_DIGITS` digits becomes :class:`TooLong`, which
  every field refuses by name (Python stops converting at 4,300 digits with a traceback).
- Nesting deeper than the caller's limit is refused; so is a document too deep to parse.

Every problem is an :class:`IntakeError` that names a place, never the value found there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Hashable
from typing import Any

import yaml
from yaml.composer import ComposerError

from ..errors import IntakeError, Problem

__all__ = ["MAX_INTEGER_DIGITS", "TooLong", "load_json", "load_yaml", "check_shape", "load_json_checked"]

MAX_INTEGER_DIGITS = 30


class TooLong:
    """Stands in for an integer too long to be an answer; no field accepts it."""

    __slots__ = ("digits",)

    def __init__(self, digits: int):
        self.digits = digits

    def __repr__(self) -> str:  # shown in no message; a debugging aid only
        return f"<integer of {self.digits} digits>"


def _integer(text: str, base: int = 10) -> int | TooLong:
    digits = len(text.lstrip("+-"))
    if digits > MAX_INTEGER_DIGITS:
        return TooLong(digits)
    return int(text, base)


class _Twice(dict[Any, Any]):
    """A mapping in which some keys were written more than once (and where)."""

    twice: list[tuple[Any, int | None]]


class KeyTwice(ValueError):
    """A key written twice in one JSON object (raised by :func:`each_key_once`); never holds a value."""

    def __init__(self, key: str) -> None:
        super().__init__("a key written twice")
        self.key = key[:40]  # a member name, cut short


def each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses a key written twice at once (``json.loads`` keeps the
    last): for a body read whole, where :func:`check_shape`'s walk, which names each path, would cost more."""
    out: dict[str, Any] = dict(pairs)
    if len(out) == len(pairs):  # the common case, at C speed
        return out
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise KeyTwice(key)
        seen.add(key)
    return out  # not reached: a shorter dict means a key came twice


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = dict(pairs)
    if len(out) == len(pairs):  # the common case, at C speed: no key written twice
        return out
    out = {}
    twice: list[tuple[Any, int | None]] = []
    for key, value in pairs:
        if key in out:
            twice.append((key, None))
        out[key] = value
    if twice:
        out = _Twice(out)
        out.twice = twice
    return out


def load_json(text: str, where: str) -> Any:
    """JSON with duplicate keys refused and integer size bounded."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_int=_integer)
    except json.JSONDecodeError as error:
        raise IntakeError([Problem(where, error.lineno, f"not valid JSON: {error.msg}")]) from None
    except RecursionError:
        raise IntakeError([Problem(where, None, "nested too deeply to be an intake")]) from None


def load_json_checked(text: str, where: str, max_depth: int) -> Any:
    """:func:`load_json` then :func:`check_shape`, in one pass when nothing is wrong.

    Objects come from the parser as tuples of their pairs (a C call per object, not a Python
    hook) and become mappings in the walk that bounds the depth, so each object is handled
    once: a batch line's reading takes about a tenth less. Anything irregular (a key written
    twice, nesting too deep, text that is not JSON) is read again by the two of them, whose
    messages name each place.
    """
    try:
        return _parsed(_PAIRS_DECODER.decode(text), 1, max_depth)
    except (_Irregular, ValueError, RecursionError):  # a JSONDecodeError is a ValueError
        return check_shape(load_json(text, where), where, max_depth)


# built once: json.loads with hooks builds a decoder and its scanner on every call (~6 µs a line)
_PAIRS_DECODER = json.JSONDecoder(object_pairs_hook=tuple, parse_int=_integer)


class _Irregular(Exception):
    """A key written twice or nesting too deep: the slow reading says where."""


def _parsed(value: Any, depth: int, max_depth: int) -> Any:
    """A parsed value with each object (a tuple of its pairs) made a mapping, at most ``max_depth`` deep."""
    if type(value) not in _PARSED_CONTAINERS:
        return value
    if depth > max_depth:
        raise _Irregular
    if type(value) is tuple:
        out = dict(value)
        if len(out) != len(value):
            raise _Irregular
        if not _PARSED_CONTAINERS.isdisjoint(map(type, out.values())):
            for key, item in out.items():
                out[key] = _parsed(item, depth + 1, max_depth)
        return out
    if not _PARSED_CONTAINERS.isdisjoint(map(type, value)):
        value[:] = [_parsed(item, depth + 1, max_depth) for item in value]
    return value


_PARSED_CONTAINERS = frozenset({tuple, list})  # a JSON object, read as its pairs, and an array


# ---------------------------------------------------------------------------- YAML 1.2 core scalars

_CORE_SCALARS = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", list("~nN") + [""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
]


class StrictYamlLoader(yaml.SafeLoader):
    """Safe YAML, YAML 1.2 core scalars, no anchors or aliases, duplicate keys recorded."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event | None = self.peek_event()  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
        # The pure-Python loader's marks are yaml.error.Mark (the C loader's are another class).
        mark = event.start_mark if event is not None and isinstance(event.start_mark, yaml.error.Mark) else None
        if isinstance(event, yaml.events.AliasEvent):
            raise ComposerError(None, None, "YAML aliases are not accepted in an intake", mark)
        if getattr(event, "anchor", None):
            raise ComposerError(None, None, "YAML anchors are not accepted in an intake", mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep)
        out: dict[Hashable, Any] = {}
        twice: list[tuple[Any, int | None]] = []
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if key in out:
                twice.append((key, key_node.start_mark.line + 1))
            out[key] = self.construct_object(value_node, deep=deep)
        if twice:
            out = _Twice(out)
            out.twice = twice
        return out

    def construct_yaml_map(self, node: yaml.MappingNode) -> Generator[dict[Hashable, Any], None, None]:
        yield self.construct_mapping(node, deep=True)

    # The stubs say int; an over-long integer becomes a TooLong marker that the reader reports.
    def construct_yaml_int(self, node: yaml.ScalarNode) -> int | TooLong:  # type: ignore[override]
        text = self.construct_scalar(node)
        if text.startswith("0o"):
            return _integer(text[2:], 8)
        if text.startswith("0x"):
            return _integer(text[2:], 16)
        if not re.fullmatch(r"[-+]?[0-9]+", text):
            raise yaml.constructor.ConstructorError(None, None, "not an integer", node.start_mark)
        return _integer(text)


# Only the YAML 1.2 core resolvers, none inherited from SafeLoader's YAML 1.1 set (set here, outside the class,
# because the stubs declare it an instance variable and ruff would want a ClassVar).
StrictYamlLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in _CORE_SCALARS:
    StrictYamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)
StrictYamlLoader.add_constructor("tag:yaml.org,2002:int", StrictYamlLoader.construct_yaml_int)
StrictYamlLoader.add_constructor("tag:yaml.org,2002:map", StrictYamlLoader.construct_yaml_map)


def load_yaml(text: str, where: str) -> Any:
    """YAML read as written (see the module docstring)."""
    try:
        return yaml.load(text, Loader=StrictYamlLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        why = getattr(error, "problem", None) or "cannot be read"
        raise IntakeError([Problem(where, mark.line + 1 if mark else None, f"not valid YAML: {why}")]) from None
    except RecursionError:
        raise IntakeError([Problem(where, None, "nested too deeply to be an intake")]) from None


# ---------------------------------------------------------------------------- shape


_ANSWER_TYPES = frozenset({str, int, float, bool, type(None), TooLong})


def check_shape(data: Any, where: str, max_depth: int) -> Any:
    """Refuse keys written twice (naming each path) and nesting deeper than ``max_depth``.

    The walk recurses at most ``max_depth`` levels (it stops where the nesting goes deeper),
    so depth is measured rather than discovered by a crash. The path is one list, extended and
    shortened as the walk goes, and read only for a problem: a FHIR duo Bundle has about 800
    mappings and lists, and building each one's path cost more than the rest of the walk.
    """
    problems: list[Problem] = []
    path: list[Any] = []

    def walk(node: dict[Any, Any] | list[Any], depth: int) -> None:
        if depth > max_depth:
            shown = path if len(path) <= 6 else [*path[:6], "..."]
            dotted = ".".join(str(p) for p in shown) or "(top level)"
            raise IntakeError(
                [Problem(where, None, f"{dotted}: nested more than {max_depth} levels deep; an intake is far flatter")]
            )
        if isinstance(node, _Twice):
            for key, line in node.twice:
                dotted = ".".join(str(p) for p in (*path, key))
                problems.append(Problem(where, line, f"{dotted}: the key is written more than once; give each answer once"))
        # only mappings and lists can be too deep or hold a key twice: a section of plain answers
        # is recognised by the kinds of its values alone (one pass in C), and not walked
        values = node.values() if isinstance(node, dict) else node
        if set(map(type, values)) <= _ANSWER_TYPES:
            return
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(value, (dict, list)):
                path.append(key)
                walk(value, depth + 1)
                path.pop()

    if isinstance(data, (dict, list)):
        walk(data, 1)
    if problems:
        raise IntakeError(sorted(problems, key=lambda p: (p.line or 0, p.message)))
    return data
