"""Combinations a clinician would name: findings over other rules' flags, declared as data.

``rules/combinations.yaml`` lists them. Each holds when every group of rules it combines has at
least ``at_least`` of its rules flagged for one participant (session rules fire for each
participant, so they count for each); it then fires for that participant with its own texts,
sources and limitations. The pipeline evaluates them after the engines, over the flags they
agreed on, so every engine gives the same combinations. The loader refuses unknown rule ids, a
combination that depends on itself, and a combination whose own examples do not hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Problem
from . import wording

__all__ = ["COMBINATIONS_FILE", "Combination", "Group", "holds", "parse_combinations", "fired_for"]

COMBINATIONS_FILE = "combinations.yaml"


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    of: list[str] = Field(min_length=1, description="Rule (or combination) ids.")
    at_least: int = Field(1, ge=1, description="How many of them must be flagged.")


class CombinationExample(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=3)
    expect: Literal["flag", "no-flag"]
    flagged: list[str] = Field(description="The rules flagged for one participant.")


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = Field(min_length=3)
    url: str = Field(pattern=r"^https?://\S+$")
    says: str = Field(min_length=10)
    locator: str = Field(min_length=2)
    kind: Literal["primary", "secondary"]
    accessed: dt.date


class Combination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^combination\.[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=5, max_length=100)
    category: str
    status: Literal["draft", "reviewed"]
    severity: Literal["info", "warning", "critical"]
    applies_to: Literal["participant", "session"] = Field(
        description="Whose finding it is: a participant's, or the shared plan's (one finding for the session)."
    )
    combines: list[Group] = Field(min_length=1, description="Every group must hold.")
    summary: str = Field(min_length=10, max_length=139)
    explanation: str = Field(min_length=20)
    clinician_action: str = Field(min_length=10)
    participant_text: str = Field(min_length=10, max_length=240)
    participant_copy: Literal["shown", "on-request"] = "shown"
    limitations: list[str] = Field(min_length=1)
    references: list[Reference] = Field(min_length=1)
    written: dt.date
    examples: list[CombinationExample] = Field(min_length=2)

    @property
    def reads(self) -> tuple[str, ...]:
        """Every rule id it combines, in file order, once."""
        return tuple(dict.fromkeys(r for g in self.combines for r in g.of))


def holds(combination: Combination, flagged: Iterable[str] | set[str]) -> bool:
    """Whether each group has at least its number of rules among ``flagged``."""
    seen = flagged if isinstance(flagged, (set, frozenset)) else set(flagged)
    return all(sum(1 for r in group.of if r in seen) >= group.at_least for group in combination.combines)


def fired_for(combinations: list[Combination], flagged: set[str]) -> list[tuple[Combination, list[str]]]:
    """The combinations that hold over ``flagged`` (evaluated in dependency order, so one may
    combine another), each with the flagged rules it rests on."""
    seen = set(flagged)
    out = []
    for combination in combinations:
        if holds(combination, seen):
            seen.add(combination.id)
            out.append((combination, [r for r in combination.reads if r in seen]))
    return out


def parse_combinations(data: Any, rule_ids: set[str], problems: list[Problem]) -> list[Combination]:
    """The combinations file, validated; problems name the combination and what is wrong.
    Returned in dependency order (a combination after those it combines)."""
    where = COMBINATIONS_FILE
    if not isinstance(data, dict) or set(data) != {"combinations"} or not isinstance(data["combinations"], list):
        problems.append(Problem(where, None, "holds one key, 'combinations', a list"))
        return []
    found: dict[str, Combination] = {}
    for i, item in enumerate(data["combinations"]):
        try:
            combination = Combination.model_validate(item)
        except ValidationError as error:
            for e in error.errors(include_url=False):
                field = ".".join(str(p) for p in e["loc"])
                problems.append(Problem(where, None, f"combinations[{i}].{field}: {e['msg']}"))
            continue
        if combination.id in found or combination.id in rule_ids:
            problems.append(Problem(where, None, f"duplicate id {combination.id!r}"))
            continue
        found[combination.id] = combination
        for name, what, words in wording.problems(_texts(combination)):
            problems.append(Problem(where, None, f"{combination.id}: {name} {what} ({words!r})"))
    known = rule_ids | set(found)
    for combination in found.values():
        for group in combination.combines:
            for rule_id in group.of:
                if rule_id not in known:
                    problems.append(Problem(where, None, f"{combination.id}: combines unknown rule {rule_id!r}"))
            if group.at_least > len(group.of):
                problems.append(
                    Problem(where, None, f"{combination.id}: at_least {group.at_least} of {len(group.of)} rules never holds")
                )
    ordered = _in_dependency_order(found, problems)
    for combination in ordered:
        if {e.expect for e in combination.examples} != {"flag", "no-flag"}:
            problems.append(Problem(where, None, f"{combination.id}: give examples that must flag and that must not"))
        for example in combination.examples:
            unknown = [r for r in example.flagged if r not in known]
            if unknown:
                problems.append(Problem(where, None, f"{combination.id}: example {example.name!r} names unknown {unknown}"))
                continue
            fired = any(c.id == combination.id for c, _ in fired_for(ordered, set(example.flagged)))
            if fired != (example.expect == "flag"):
                problems.append(
                    Problem(
                        where, None, f"{combination.id}: example {example.name!r} expects {example.expect} but gives the other"
                    )
                )
    return ordered


def _texts(combination: Combination) -> dict[str, str]:
    texts = {
        name: getattr(combination, name) for name in ("title", "summary", "explanation", "clinician_action", "participant_text")
    }
    texts.update({f"limitations[{i}]": t for i, t in enumerate(combination.limitations)})
    return texts


def _in_dependency_order(found: dict[str, Combination], problems: list[Problem]) -> list[Combination]:
    ordered: list[Combination] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done

    def visit(cid: str, path: tuple[str, ...]) -> None:
        if state.get(cid) == 2:
            return
        if state.get(cid) == 1:
            problems.append(Problem(COMBINATIONS_FILE, None, f"a cycle: {' -> '.join((*path, cid))}"))
            return
        state[cid] = 1
        for rule_id in found[cid].reads:
            if rule_id in found:
                visit(rule_id, (*path, cid))
        state[cid] = 2
        ordered.append(found[cid])

    for cid in found:
        visit(cid, ())
    return ordered
