"""Generated intakes for property tests: hypothesis strategies and a plain seeded generator.

Both are built from the pydantic intake models (every tri-state question, every choice, numbers
inside and at the edges of their declared ranges) and from the medication vocabulary (generic,
brand and alias names, dosed variants, misspellings and names it does not know). One builder
serves both: hypothesis (``intakes()``, which shrinks) and ``random_intake(rng)`` (cheap, for
loops over tens of thousands of intakes).
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import typing

import annotated_types
from hypothesis import strategies as st

from screening.intake.fields import PARTICIPANT_GROUPS
from screening.intake.models import Session, Substance
from screening.rulebook import loading as rulebook

ANSWERS = ("yes", "no", "unknown")
PLANNED = dt.date(2026, 12, 1)
TODAY = dt.date(2026, 11, 20)  # passed as today= when the session has no planned date
UNKNOWN_NAMES = ("Zorblax", "grandma's tea", "xq-17", "vitamin d", "ibuprofen", "ØØ", "???")
DOSE_SUFFIXES = (" 50mg", " 10 mg daily", " 0.5 mg twice a day", " ER 300 mg", " tabs", " (as needed)")


class _Choices(typing.Protocol):
    def pick(self, options: typing.Sequence): ...
    def integer(self, low: int, high: int) -> int: ...
    def number(self, low: float, high: float) -> float: ...


class _RandomChoices:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, options):
        return options[self.rng.randrange(len(options))]

    def integer(self, low, high):
        return self.rng.randint(low, high)

    def number(self, low, high):
        return self.rng.uniform(low, high)


class _DrawChoices:
    def __init__(self, draw):
        self.draw = draw

    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))

    def integer(self, low, high):
        return self.draw(st.integers(low, high))

    def number(self, low, high):
        return self.draw(st.floats(low, high, allow_nan=False))


def bounds(model: type, name: str) -> tuple[float, float, bool]:
    """(low, high, low is exclusive) of a numeric model field, read from its pydantic metadata."""
    low, high, exclusive = 0.0, 1e9, False
    for item in model.model_fields[name].metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low, exclusive = item.gt, True
        elif isinstance(item, annotated_types.Le):
            high = item.le
    return low, high, exclusive


def _literal_values(annotation) -> tuple | None:
    """The choices of a Literal (possibly inside Annotated), else None."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _literal_values(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return None


def _is_int(annotation) -> bool:
    return int in typing.get_args(annotation) or annotation is int


def _number(c: _Choices, model: type, name: str):
    """A number over the field's whole range and in every form it is written: the edges, tiny
    values just above an exclusive bound (5e-05 is written in exponent form), integer-valued
    floats, unrounded and rounded values. durable_rules once dropped exponent-form facts."""
    low, high, exclusive = bounds(model, name)
    integer = _is_int(model.model_fields[name].annotation)
    kind = c.pick(("none", "low", "high", "inside", "inside", "tiny", "whole", "raw"))
    if kind == "none":
        return None
    if integer:
        if kind == "low":
            return int(low) + 1 if exclusive else int(low)
        if kind == "high":
            return int(high)
        return c.integer(int(low) + 1, int(high))
    if kind == "low":
        return low + 0.001 if exclusive else low
    if kind == "high":
        return high
    if kind == "tiny":  # just above the lower bound, the smaller the more digits
        return low + c.pick((5e-05, 1e-07, 3.3e-12, 0.0001, 2.5e-300))
    if kind == "whole":
        return float(c.integer(int(low) + 1, int(high)))
    if kind == "raw":
        return c.number(low + 1e-9, high)
    return round(c.number(low + 0.01, high), 2)


def _section(c: _Choices, model: type, base: dict, rate: float) -> dict:
    """Every field of a section: the baseline answer, or (at ``rate``) a value drawn from its type."""
    out = dict(base)
    names = list(model.model_fields)
    changes = c.integer(0, round(rate * len(names) + 0.49)) if rate else 0
    for _ in range(changes):  # few draws per intake keeps hypothesis fast
        name = c.pick(names)
        info = model.model_fields[name]
        choices = _literal_values(info.annotation)
        if choices is not None:
            out[name] = c.pick(choices)
        elif info.annotation in (int, float) or _is_int(info.annotation) or float in typing.get_args(info.annotation):
            out[name] = _number(c, model, name)
    return out


def medication_names() -> list[str]:
    """Names a person might write: every vocabulary name, dosed variants, misspellings, unknowns."""
    names = []
    for entry in rulebook.default().vocabulary.entries:
        for name in (entry.generic, *entry.brands, *entry.aliases):
            names += [name, name.upper(), name + DOSE_SUFFIXES[len(name) % len(DOSE_SUFFIXES)]]
            if len(name) > 5:
                names.append(name[:2] + name[3:])  # a letter dropped: read as unconfirmed, or not at all
    return names + list(UNKNOWN_NAMES)


_NAMES: list[str] = []


def _medication(c: _Choices, planned: dt.date) -> dict:
    if not _NAMES:
        _NAMES.extend(medication_names())
    name = c.pick(_NAMES)
    if c.integer(0, 9) == 0:  # sometimes two drugs on one line, as people write them
        name = f"{name}{c.pick((' and ', ', ', '/', ' + '))}{c.pick(_NAMES)}"
    med = {"name": name, "status": c.pick(("current", "stopped", "unknown"))}
    if c.integer(0, 1):
        med["dose"] = c.pick(("50 mg", "1 tablet", "unknown"))
    if med["status"] != "current" and c.integer(0, 3):
        med["last_taken"] = planned + dt.timedelta(days=c.integer(-120, 0))  # never after the session
    if med["status"] == "stopped" or c.integer(0, 3) == 0:
        med["stopped_with_prescriber"] = c.pick(ANSWERS)
    return med


def build_intake(c: _Choices, duo: bool | None = None) -> dict:
    """One intake as a plain dict that validates against :class:`Intake`."""
    book = rulebook.default()
    rate = c.pick((0.0, 0.03, 0.1, 0.3, 1.0))  # how far this intake strays from the baseline
    duo = c.pick((False, True)) if duo is None else duo
    session = copy.deepcopy(book.baseline["session"])
    session = _section(c, Session, session, rate)
    session["substance"] = c.pick([s.value for s in Substance])
    session["format"] = "duo" if duo else "individual"
    session["planned_date"] = c.pick((PLANNED, PLANNED, None))
    planned = session["planned_date"] or TODAY
    people = []
    for pid in ("A", "B") if duo else (c.pick(("A", "p1", "Client.7")),):
        person = copy.deepcopy(book.baseline["participant"])
        person["participant_id"] = pid
        for group, model in PARTICIPANT_GROUPS.items():
            if group == "relationship":
                if duo and c.integer(0, 9):
                    person[group] = _section(c, model, book.baseline["relationship"], rate)
                continue
            person[group] = _section(c, model, person.get(group, {}), rate)
        physical = person["physical"]
        if (
            physical.get("systolic_bp") is not None
            and physical.get("diastolic_bp") is not None
            and physical["systolic_bp"] <= physical["diastolic_bp"]
        ):
            physical["diastolic_bp"] = None
        plan = person["plan"]
        if plan.get("dose_grams") is not None and not str(plan.get("dose_unit", "")).startswith("g_"):
            plan["dose_grams"] = None  # grams need a grams unit (the intake refuses them otherwise)
        person["medications"] = [_medication(c, planned) for _ in range(c.pick((0, 0, 1, 2, 4)))]
        people.append(person)
    return {"session": session, "participants": people}


def random_intake(rng: random.Random) -> dict:
    return build_intake(_RandomChoices(rng))


@st.composite
def intakes(draw) -> dict:
    """A generated intake dict (individual or duo)."""
    return build_intake(_DrawChoices(draw))


@st.composite
def duos(draw) -> dict:
    return build_intake(_DrawChoices(draw), duo=True)
