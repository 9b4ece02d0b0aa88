"""The ``when:`` language: parse and type-check, evaluate directly, compile to durable_rules.

A condition is a small tree. Branches: ``all`` (every item holds), ``any`` (at least one
holds), ``not``. Leaves, each on one intake field from :mod:`screening.intake.fields`:

=============================  ===========================================================
``is: {field: value}``         the answer equals the value (yes / no / unknown, a choice, a number)
``in: {field: [v1, v2]}``      the answer is one of the values
``at_least / above / below /   numeric thresholds (>=, >, <, <=); an unanswered number
at_most: {field: number}``     meets no threshold
``answered: field``            the question has an answer (not unknown)
``unanswered: field``          the question was not answered, or answered "unsure"
``taking: {class: c,           a medication of class ``c`` is current, or its last dose was
within_days: n}``              at most ``n`` days before the session (default 0: current)
``stopped_on_own: {class: c,   a medication of class ``c`` was stopped without the
within_days: n}``              prescriber, at most ``n`` days before the session
``taking: {class: [c1, c2]}``  a list of classes: a medication of any of them
``taking: {class: c,           one medication of class ``c`` had its last dose between
after_days: a, within_days: b}`` ``a`` and ``b`` days before the session (both included)
``medications: {count: drugs,  at least ``k`` distinct drugs (or, ``count: classes``,
of: [c...], at_least: k,       distinct classes of the list) are current or taken within
within_days: n}``              ``n`` days (``after_days`` bounds it from below)
``between: {field: [lo, hi]}`` lo <= number <= hi (an unanswered number is never between)
``use: name``                  a named condition from ``rules/conditions.yaml``
=============================  ===========================================================

A list of classes, ``between`` and ``use`` are written in terms of the other operators when
parsed (an ``any`` over the classes, an ``all`` of two thresholds, the named tree), so both
engines run exactly what the basic operators mean.

The same semantics exist twice: :func:`evaluate` is the reference, written for clarity; and
:func:`to_durable` compiles to a durable_rules pattern over the sparse facts of
:mod:`screening.engines.facts` (tri-state ``no`` and unanswered numbers are absent there), pushing
``not`` down to the leaves because durable_rules has no general negation inside a pattern.
A differential test holds the two together.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ..intake.fields import FieldSpec, catalogue

__all__ = [
    "Condition",
    "ConditionError",
    "Values",
    "parse",
    "evaluate",
    "explain",
    "to_durable",
    "fields_read",
    "sides_read",
    "Dose",
    "COUNTS",
]

THRESHOLDS = {"at_least": ">=", "above": ">", "below": "<", "at_most": "<="}
MEDICATION_LEAVES = ("taking", "stopped_on_own")
COUNT = "medications"  # a count over the listed medications (see Dose)
MEDICATION_OPS = (*MEDICATION_LEAVES, COUNT)
LEAVES = ("is", "in", *THRESHOLDS, "between", "answered", "unanswered", *MEDICATION_LEAVES, COUNT, "use")
BRANCHES = ("all", "any", "not")
SIDES = ("self", "other")


class ConditionError(ValueError):
    """A problem in a ``when:`` condition; ``line`` is the YAML line when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


# ---------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Leaf:
    op: str  # one of LEAVES
    # A dotted path; for medication leaves the class id; for a count, its CountOf. Typed Any
    # because readers elsewhere index it by its op (count_of() reads a count's parts typed).
    field: Any
    value: Any = None  # a value, a tuple of values, a number, or within_days; a count's CountWindow
    side: str | None = None  # "self" / "other" in pair rules, else None

    def __str__(self) -> str:
        prefix = f"{self.side}." if self.side else ""
        if self.op == COUNT:
            what, classes, least, after, within = count_of(self)
            lower = f"{after} to " if after else ""
            return f"at least {least} {what} of {', '.join(classes)} within {lower}{within} days"
        if self.op in MEDICATION_LEAVES:
            return f"{self.op} {self.field} within {self.value} days"
        if self.op in ("answered", "unanswered"):
            return f"{self.op} {prefix}{self.field}"
        return f"{prefix}{self.field} {self.op} {self.value}"


@dataclass(frozen=True)
class Branch:
    op: str  # "all" | "any" | "not"
    items: tuple[Condition, ...]


Condition = Leaf | Branch


@dataclass(frozen=True)
class Dose:
    """One drug a participant listed: its classes and days since its last dose (0: current or
    not dated). Counts and two-sided windows are read per drug, not per class."""

    generic: str
    written: str
    classes: frozenset[str]
    days: int


@dataclass
class Values:
    """One participant's answers as the language sees them (semantic, complete)."""

    pid: str
    fields: dict[str, Any]  # dotted path -> "yes"/"no"/"unknown", a choice, a number or None
    taking: dict[str, int]  # class -> days since the last dose (0: current or timing unknown)
    stopped_on_own: dict[str, int]  # class -> days since a dose stopped without the prescriber
    medication_names: dict[str, list[str]]  # class -> the names as written, for evidence
    notes: dict[str, list[str]] = field(default_factory=dict)  # count field -> what it counted
    class_labels: Mapping[str, str] = field(default_factory=dict)  # class -> its label, for evidence
    doses: tuple[Dose, ...] = ()  # every recognised drug listed, for counts and windows


# ---------------------------------------------------------------------------- parsing


def _line(node: Any) -> int | None:
    return getattr(node, "line", None)


def _suggest(name: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _split_side(path: str, pair: bool, line: int | None) -> tuple[str | None, str]:
    head, _, rest = path.partition(".")
    if head in SIDES:
        if not pair:
            raise ConditionError(f"{path!r}: 'self.' and 'other.' are only used in rules that apply to a pair", line)
        return head, rest
    if pair and not path.startswith("session."):
        raise ConditionError(f"{path!r}: in a pair rule, write self.{path} or other.{path} (or a session field)", line)
    return None, path


def _field(path: Any, pair: bool, line: int | None) -> tuple[str | None, FieldSpec]:
    if not isinstance(path, str):
        raise ConditionError(f"a field name must be text, not {path!r}", line)
    side, bare = _split_side(path, pair, line)
    spec = catalogue().get(bare)
    if spec is None:
        raise ConditionError(f"unknown intake field {bare!r}{_suggest(bare, list(catalogue()))}", line)
    return side, spec


def _value_for(spec: FieldSpec, value: Any, line: int | None) -> Any:
    if spec.kind == "answer":
        value = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
        if value not in ("yes", "no", "unknown"):
            raise ConditionError(f"{spec.path} is a yes/no/unknown question; {value!r} is not an answer", line)
        return value
    if spec.kind == "enum":
        if value not in spec.choices:
            raise ConditionError(
                f"{spec.path} takes one of {', '.join(spec.choices)}; {value!r} is not one{_suggest(str(value), spec.choices)}",
                line,
            )
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConditionError(f"{spec.path} is a number; {value!r} is not", line)
    return value


def _single(node: Mapping[str, Any], op: str, line: int | None) -> tuple[Any, Any]:
    body = node[op]
    if not isinstance(body, Mapping) or len(body) != 1:
        raise ConditionError(f"'{op}' takes exactly one 'field: value' pair", _line(body) or line)
    return next(iter(body.items()))


def parse(
    node: Any,
    *,
    pair: bool = False,
    classes: frozenset[str] | None = None,
    named: Mapping[str, Any] | None = None,
    _using: tuple[str, ...] = (),
) -> Condition:
    """Parse and type-check a ``when:`` condition; raise ConditionError with a line.

    ``named``: the named conditions ``use:`` may refer to (raw ``when:`` trees)."""
    line = _line(node)
    if not isinstance(node, Mapping) or len(node) != 1:
        raise ConditionError(f"a condition is a mapping with exactly one operator ({', '.join(BRANCHES + LEAVES)})", line)
    op = next(iter(node))
    if op not in BRANCHES + LEAVES:
        raise ConditionError(f"unknown operator {op!r}{_suggest(str(op), BRANCHES + LEAVES)}", line)
    body = node[op]

    def again(item: Any, using: tuple[str, ...] = _using) -> Condition:
        return parse(item, pair=pair, classes=classes, named=named, _using=using)

    if op in ("all", "any"):
        if not isinstance(body, list) or not body:
            raise ConditionError(f"'{op}' takes a non-empty list of conditions", line)
        return Branch(op, tuple(again(item) for item in body))
    if op == "not":
        return Branch("not", (again(body),))
    if op == "use":
        known = dict(named or {})
        if not isinstance(body, str) or body not in known:
            raise ConditionError(
                f"'use' names a condition in rules/conditions.yaml; {body!r} is not one{_suggest(str(body), list(known))}", line
            )
        if body in _using:
            raise ConditionError(f"the named condition {body!r} uses itself ({' -> '.join((*_using, body))})", line)
        return again(known[body], (*_using, body))
    if op in MEDICATION_LEAVES:
        return _medication_leaf(op, body, line, classes)
    if op == COUNT:
        return _count_leaf(body, line, classes)
    if op in ("answered", "unanswered"):
        side, spec = _field(body, pair, line)
        if spec.kind == "count":
            raise ConditionError(f"{spec.path} is always known; '{op}' does not apply", line)
        return Leaf(op, spec.path, None, side)
    path, value = _single(node, op, line)
    side, spec = _field(path, pair, line)
    if op == "is":
        return Leaf(op, spec.path, _value_for(spec, value, line), side)
    if op == "in":
        if not isinstance(value, list) or not value:
            raise ConditionError(f"'in' takes a non-empty list of values for {spec.path}", line)
        return Leaf(op, spec.path, tuple(_value_for(spec, v, line) for v in value), side)
    if spec.kind not in ("number", "count"):
        raise ConditionError(f"'{op}' compares numbers; {spec.path} is not a number", line)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ConditionError(f"'between' takes two numbers [low, high] for {spec.path}", line)
        low, high = (_value_for(spec, v, line) for v in value)
        if low > high:
            raise ConditionError(f"'between' for {spec.path}: the low bound {low} is above the high bound {high}", line)
        return Branch("all", (Leaf("at_least", spec.path, low, side), Leaf("at_most", spec.path, high, side)))
    return Leaf(op, spec.path, _value_for(spec, value, line), side)


def _days(body: Mapping[str, Any], key: str, line: int | None, default: int = 0) -> int:
    days = body.get(key, default)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ConditionError(f"'{key}' is a whole number of days, 0 or more; got {days!r}", line)
    return days


def _classes(value: Any, line: int | None, classes: frozenset[str] | None) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(c, str) for c in items):
        raise ConditionError(f"a medication class is a class id, or a non-empty list of them; got {value!r}", line)
    for cls in items:
        if classes is not None and cls not in classes:
            raise ConditionError(f"unknown medication class {cls!r}{_suggest(cls, sorted(classes))}", line)
    return tuple(dict.fromkeys(items))


def _medication_leaf(op: str, body: Any, line: int | None, classes: frozenset[str] | None) -> Condition:
    allowed = {"class", "within_days"} | ({"after_days"} if op == "taking" else set())
    if not isinstance(body, Mapping) or "class" not in body or set(body) - allowed:
        raise ConditionError(
            f"'{op}' takes 'class' and optionally {' and '.join(repr(k) for k in sorted(allowed - {'class'}))}", line
        )
    names = _classes(body["class"], line, classes)
    within = _days(body, "within_days", line)
    if "after_days" in body:
        after = _days(body, "after_days", line)
        if after > within:
            raise ConditionError(f"'after_days' ({after}) is more than 'within_days' ({within}): no day is in that window", line)
        return _register(Leaf(COUNT, ("drugs", names), (1, after, within)))
    leaves = tuple(Leaf(op, cls, within) for cls in names)
    return leaves[0] if len(leaves) == 1 else Branch("any", leaves)


def _count_leaf(body: Any, line: int | None, classes: frozenset[str] | None) -> Leaf:
    allowed = {"count", "of", "at_least", "within_days", "after_days"}
    if not isinstance(body, Mapping) or not {"of", "at_least"} <= set(body) or set(body) - allowed:
        raise ConditionError(
            "'medications' takes 'of' (classes) and 'at_least', optionally 'count' (drugs or classes), "
            "'within_days' and 'after_days'",
            line,
        )
    what = body.get("count", "drugs")
    if what not in ("drugs", "classes"):
        raise ConditionError(f"'count' is drugs or classes; got {what!r}", line)
    least = body["at_least"]
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        raise ConditionError(f"'at_least' is a whole number, 1 or more; got {least!r}", line)
    names = _classes(body["of"], line, classes)
    if what == "classes" and least > len(names):
        raise ConditionError(f"at least {least} classes of a list of {len(names)} can never hold", line)
    within, after = _days(body, "within_days", line), _days(body, "after_days", line)
    if after > within:
        raise ConditionError(f"'after_days' ({after}) is more than 'within_days' ({within}): no day is in that window", line)
    return _register(Leaf(COUNT, (what, tuple(sorted(names))), (least, after, within)))


# Every count a parsed rule reads, by its fact key: the durable facts carry each one (facts.py).
COUNTS: dict[str, tuple[str, tuple[str, ...], int, int]] = {}
CountOf: TypeAlias = tuple[str, tuple[str, ...]]  # a count leaf's field: ("drugs" or "classes", its classes)
CountWindow: TypeAlias = tuple[int, int, int]  # its value: (at least, after_days, within_days)


def count_of(leaf: Leaf) -> tuple[str, tuple[str, ...], int, int, int]:
    """A count leaf's parts: what it counts, of which classes, at least how many, the window."""
    (what, classes), (least, after, within) = leaf.field, leaf.value
    return what, classes, least, after, within


def count_key(leaf: Leaf) -> str:
    what, classes, _, after, within = count_of(leaf)
    return f"n{what}__{'_'.join(classes)}__{after}_{within}"


def _register(leaf: Leaf) -> Leaf:
    what, classes, _, after, within = count_of(leaf)
    COUNTS.setdefault(count_key(leaf), (what, classes, after, within))
    return leaf


def walk(condition: Condition) -> Iterator[Leaf]:
    if isinstance(condition, Leaf):
        yield condition
    else:
        for item in condition.items:
            yield from walk(item)


def fields_read(condition: Condition) -> set[tuple[str | None, str]]:
    """(side, dotted path) of every intake question the condition reads."""
    return {(leaf.side, leaf.field) for leaf in walk(condition) if leaf.op not in MEDICATION_OPS}


def sides_read(condition: Condition) -> set[str]:
    return {leaf.side for leaf in walk(condition) if leaf.side}


# ---------------------------------------------------------------------------- the reference evaluator


def _counted(leaf: Leaf, values: Values) -> list[Dose]:
    """The listed drugs a count leaf counts: of its classes, dosed inside its window."""
    _, classes, _, after, within = count_of(leaf)
    return [d for d in values.doses if after <= d.days <= within and d.classes & set(classes)]


def _count_holds(leaf: Leaf, values: Values) -> bool:
    what, classes, least, _, _ = count_of(leaf)
    counted = _counted(leaf, values)
    if what == "drugs":
        return len({d.generic for d in counted}) >= least
    return len({c for d in counted for c in d.classes if c in classes}) >= least


def _leaf_holds(leaf: Leaf, values: Values) -> bool:
    if leaf.op == COUNT:
        return _count_holds(leaf, values)
    if leaf.op == "taking":
        days = values.taking.get(leaf.field)
        return days is not None and days <= leaf.value
    if leaf.op == "stopped_on_own":
        days = values.stopped_on_own.get(leaf.field)
        return days is not None and days <= leaf.value
    answer = values.fields[leaf.field]
    if leaf.op == "answered":
        return answer is not None and answer != "unknown"
    if leaf.op == "unanswered":
        return answer is None or answer == "unknown"
    if leaf.op == "is":
        return bool(answer == leaf.value) and answer is not None
    if leaf.op == "in":
        return bool(answer in leaf.value)
    if answer is None:
        return False
    return bool(
        {
            "at_least": answer >= leaf.value,
            "above": answer > leaf.value,
            "below": answer < leaf.value,
            "at_most": answer <= leaf.value,
        }[leaf.op]
    )


def _pick(leaf: Leaf, sides: Mapping[str | None, Values]) -> Values:
    return sides[leaf.side]


def evaluate(condition: Condition, sides: Mapping[str | None, Values]) -> bool:
    """The reference semantics. ``sides`` maps None (or "self"/"other" in pair rules) to values."""
    if isinstance(condition, Leaf):
        return _leaf_holds(condition, _pick(condition, sides))
    if condition.op == "all":
        return all(evaluate(item, sides) for item in condition.items)
    if condition.op == "any":
        return any(evaluate(item, sides) for item in condition.items)
    return not evaluate(condition.items[0], sides)


@dataclass(frozen=True)
class Evidence:
    pid: str
    field: str  # dotted path, or "medications" for medication leaves
    answer: Any


STOPPED_ON_OWN = "stopped without the prescriber"


def _leaf_evidence(leaf: Leaf, values: Values) -> list[Evidence]:
    if leaf.op == COUNT:
        counted = _counted(leaf, values)
        if not counted:
            return [Evidence(values.pid, "medications", f"no medication of {', '.join(leaf.field[1])} in the window")]
        parts = []
        for dose in counted:
            labels = ", ".join(values.class_labels.get(c, c) for c in sorted(dose.classes & set(leaf.field[1])))
            when = f"last dose {dose.days} days before the session" if dose.days else "current, or the last dose not dated"
            parts.append(f"{dose.written} ({labels}; {when})")
        return [Evidence(values.pid, "medications", "; ".join(parts))]
    if leaf.op in MEDICATION_LEAVES:
        source = values.taking if leaf.op == "taking" else values.stopped_on_own
        if leaf.field not in source:
            return [Evidence(values.pid, "medications", f"no {leaf.field} medication listed")]
        names = "; ".join(values.medication_names.get(leaf.field, []))
        days = source[leaf.field]
        if days:
            when = f"last dose {days} days before the session"
        else:  # undated counts as current (never as the safer answer)
            when = "the last dose not dated" if leaf.op == "stopped_on_own" else "current, or the last dose not dated"
        if leaf.op == "stopped_on_own":  # a fact of its own (how it was stopped), not only that it was taken
            when = f"{STOPPED_ON_OWN}, {when}"
        label = values.class_labels.get(leaf.field, leaf.field)
        return [Evidence(values.pid, "medications", f"{names} ({label}; {when})")]
    answer = values.fields[leaf.field]
    if leaf.field in values.notes:
        answer = f"{answer}: {'; '.join(values.notes[leaf.field])}" if values.notes[leaf.field] else answer
    return [Evidence(values.pid, leaf.field, answer)]


def explain(condition: Condition, sides: Mapping[str | None, Values]) -> list[Evidence]:
    """The answers that make a holding condition hold (for a report's evidence)."""
    if isinstance(condition, Leaf):
        return _leaf_evidence(condition, _pick(condition, sides))
    if condition.op == "all":
        return [e for item in condition.items for e in explain(item, sides)]
    if condition.op == "any":
        return [e for item in condition.items if evaluate(item, sides) for e in explain(item, sides)]
    # not: every answer the negated part read is the evidence that it does not hold
    return [e for leaf in walk(condition.items[0]) for e in _leaf_evidence(leaf, _pick(leaf, sides))]


# ---------------------------------------------------------------------------- compiling to durable_rules

ABSENT = object()


def _key(leaf: Leaf) -> str:
    if leaf.op == "taking":
        return f"med__{leaf.field}"
    if leaf.op == "stopped_on_own":
        return f"selfstop__{leaf.field}"
    return str(leaf.field).replace(".", "__")


def _or(items: list[dict[str, Any]]) -> dict[str, Any]:
    return items[0] if len(items) == 1 else {"$or": items}


def _and(items: list[dict[str, Any]]) -> dict[str, Any]:
    return items[0] if len(items) == 1 else {"$and": items}


def _answer_test(key: str, value: str, negate: bool) -> dict[str, Any]:
    """Tri-state in sparse facts: 'yes' and 'unknown' stored, 'no' absent."""
    if value == "no":
        return {"$ex": {key: 1}} if negate else {"$nex": {key: 1}}
    if not negate:
        return {key: value}
    other = "unknown" if value == "yes" else "yes"
    return {"$or": [{"$nex": {key: 1}}, {key: other}]}


def _leaf_to_durable(leaf: Leaf, negate: bool) -> dict[str, Any]:
    if leaf.op == COUNT:  # every registered count is in every fact, 0 included
        least = leaf.value[0]
        return {"$lt": {count_key(leaf): least}} if negate else {"$gte": {count_key(leaf): least}}
    key = _key(leaf)
    kind = "medication" if leaf.op in MEDICATION_LEAVES else catalogue()[leaf.field].kind
    if kind == "medication":
        return {"$or": [{"$gt": {key: leaf.value}}, {"$nex": {key: 1}}]} if negate else {"$lte": {key: leaf.value}}
    if leaf.op in ("answered", "unanswered"):
        wants_answered = (leaf.op == "answered") != negate
        if kind == "number":
            return {"$ex": {key: 1}} if wants_answered else {"$nex": {key: 1}}
        if kind == "enum":
            return {"$neq": {key: "unknown"}} if wants_answered else {key: "unknown"}
        return _answer_test(key, "unknown", negate=wants_answered)
    values = leaf.value if leaf.op == "in" else (leaf.value,)
    if kind == "answer":
        tests = [_answer_test(key, v, negate) for v in values]
        return _and(tests) if negate else _or(tests)
    if kind == "enum" or (kind == "count" and leaf.op in ("is", "in")):  # always present in a fact
        tests = [{"$neq": {key: v}} if negate else {key: v} for v in values]
        return _and(tests) if negate else _or(tests)
    # numbers: absent when unanswered, and no comparison matches an absent value
    if leaf.op in ("is", "in"):
        if negate:
            return {"$or": [{"$nex": {key: 1}}, _and([{"$neq": {key: v}} for v in values])]}
        return _or([{key: v} for v in values])
    op = {"at_least": "$gte", "above": "$gt", "below": "$lt", "at_most": "$lte"}[leaf.op]
    if negate:
        flipped = {"$gte": "$lt", "$gt": "$lte", "$lt": "$gte", "$lte": "$gt"}[op]
        return {"$or": [{flipped: {key: leaf.value}}, {"$nex": {key: 1}}]}
    return {op: {key: leaf.value}}


def to_durable(condition: Condition, negate: bool = False) -> dict[str, Any]:
    """A durable_rules pattern expression (no 'type' test; the engine adds it first)."""
    if isinstance(condition, Leaf):
        return _leaf_to_durable(condition, negate)
    if condition.op == "not":
        return to_durable(condition.items[0], not negate)
    parts = [to_durable(item, negate) for item in condition.items]
    conjunctive = (condition.op == "all") != negate
    return _and(parts) if conjunctive else _or(parts)


# ---------------------------------------------------------------------------- the compiled evaluator

_COMPARE = {"at_least": ">=", "above": ">", "below": "<", "at_most": "<="}
_INFINITY = float("inf")


def _leaf_source(leaf: Leaf, side: str, constants: list[Any]) -> str:
    """One leaf as a Python expression over the side's ``Values`` (``<side>f`` its fields,
    ``<side>t`` / ``<side>s`` its medication days). Leaves this compiler does not know are
    called through the reference ``_leaf_holds``, so the two can never differ in meaning."""
    f, t, s = f"{side}_f", f"{side}_t", f"{side}_s"
    if leaf.op in ("taking", "stopped_on_own"):
        source = t if leaf.op == "taking" else s
        return f"({source}.get({leaf.field!r}, INF) <= {leaf.value!r})"
    if leaf.op not in ("answered", "unanswered", "is", "in", *_COMPARE):
        constants.append(leaf)
        return f"HOLDS(C[{len(constants) - 1}], {side})"
    answer = f"{f}[{leaf.field!r}]"
    if leaf.op == "answered":
        return f"({answer} is not None and {answer} != 'unknown')"
    if leaf.op == "unanswered":
        return f"({answer} is None or {answer} == 'unknown')"
    if leaf.op == "is":
        return f"({answer} == {leaf.value!r})"
    if leaf.op == "in":
        return f"({answer} in {tuple(leaf.value)!r})"
    return f"({answer} is not None and {answer} {_COMPARE[leaf.op]} {leaf.value!r})"


def _source(condition: Condition, sides: dict[str | None, str], constants: list[Any]) -> str:
    if isinstance(condition, Leaf):
        return _leaf_source(condition, sides[condition.side], constants)
    if condition.op == "not":
        return f"(not {_source(condition.items[0], sides, constants)})"
    joiner = " and " if condition.op == "all" else " or "
    return "(" + joiner.join(_source(item, sides, constants) for item in condition.items) + ")"


def compile_conditions(named: Sequence[tuple[str, Condition]], pair: bool = False) -> Callable[..., list[str]]:
    """Many conditions as one Python function, built once per rulebook: ``fn(values)`` (or
    ``fn(me, other)`` for pair rules) returns the names whose condition holds, in order. The
    same semantics as :func:`evaluate` (a differential test holds them together), without
    walking a tree or calling a function per rule on every screening."""
    constants: list[Any] = []
    used: tuple[str, ...]
    if pair:
        sides: dict[str | None, str] = {None: "me", "self": "me", "other": "peer"}
        params, used = "me, peer", ("me", "peer")
    else:
        sides = {None: "me"}
        params, used = "me", ("me",)
    lines = [f"def rules({params}):"]
    lines += [f"    {side}_f = {side}.fields; {side}_t = {side}.taking; {side}_s = {side}.stopped_on_own" for side in used]
    lines.append("    held = []")
    for name, condition in named:
        lines.append(f"    if {_source(condition, sides, constants)}: held.append({name!r})")
    lines.append("    return held")
    namespace: dict[str, Any] = {"INF": _INFINITY, "C": constants, "HOLDS": _leaf_holds}
    # the source is built from parsed, type-checked trees: names and values only as repr()
    exec(compile("\n".join(lines) + "\n", "<rule conditions>", "exec"), namespace)  # noqa: S102
    rules: Callable[..., list[str]] = namespace["rules"]
    return rules


def compile_condition(condition: Condition, pair: bool = False) -> Callable[..., bool]:
    """One condition as a function returning True when it holds."""
    rules = compile_conditions([("held", condition)], pair)
    return (lambda me, peer: bool(rules(me, peer))) if pair else (lambda me: bool(rules(me)))
