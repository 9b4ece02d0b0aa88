"""Run every rule's examples: each must flag, or must not, exactly as the rule file says.

Each example is the baseline intake (``rules/baseline.yaml``) with the example's answers on
top, screened for real, so an example tests the whole path: intake validation, facts, the
engine and the report.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..pipeline.screener import parse_intake, screen
from ..rulebook.loading import Example, Rule, Rulebook, merge_answers
from ..rulebook.programs import Program, ProgramExample, get_program

if TYPE_CHECKING:
    from ..engines.engine import EngineName

__all__ = ["ExampleResult", "run_examples", "EXAMPLE_DATE", "ProgramExampleResult", "run_program_examples"]

EXAMPLE_DATE = dt.date(2026, 12, 1)


@dataclass(frozen=True)
class ExampleResult:
    rule_id: str
    example: str
    expect: str
    passed: bool
    detail: str  # what was found: the evidence when it flagged, or the error


def _target(rule: Rule) -> str:
    return "pair" if rule.meta.applies_to == "pair" else "A"


def run_example(book: Rulebook, rule: Rule, example: Example, engine: EngineName = "auto") -> ExampleResult:
    try:
        # dates are checked against the examples' own day, so the examples do not expire
        intake = parse_intake(book.example_intake(rule, example), f"{rule.path} example {example.name!r}", today=EXAMPLE_DATE)
        report = screen(intake, rulebook=book, engine=engine, today=EXAMPLE_DATE)
    # Any error, not only ScreeningError: an example that does not even screen is a failure to show, not a crash.
    except Exception as error:  # noqa: BLE001
        return ExampleResult(rule.id, example.name, example.expect, False, f"{type(error).__name__}: {error}")
    hits = [f for f in report.flags if f.rule_id == rule.id and f.participant == _target(rule)]
    flagged = bool(hits)
    passed = flagged == (example.expect == "flag")
    if hits:
        detail = "; ".join(f"{e.participant} {e.field} = {e.answer}" for e in hits[0].evidence)
    else:
        detail = "did not flag"
    return ExampleResult(rule.id, example.name, example.expect, passed, detail)


def run_examples(book: Rulebook, engine: EngineName = "auto", rule_ids: set[str] | None = None) -> list[ExampleResult]:
    """Every rule's examples; a rule that runs only under a program is tested switched on."""
    from ..rulebook.programs import with_enabled

    program_only = frozenset(r.id for r in book.rules if r.meta.program_only and r.meta.status != "deprecated")
    on = with_enabled(book, program_only) if program_only else book
    return [
        run_example(on, rule, example, engine)
        for rule in on.active
        if rule_ids is None or rule.id in rule_ids
        for example in rule.meta.examples
    ]


# ---------------------------------------------------------------------------- a program's own examples


@dataclass(frozen=True)
class ProgramExampleResult:
    program: str
    example: str
    passed: bool
    detail: str


def program_example_intake(book: Rulebook, example: ProgramExample) -> dict[str, Any]:
    """The baseline intake with the example's answers on top; a duo gets a copy of A named B."""
    session = copy.deepcopy(book.baseline["session"])
    merge_answers(session, dict(example.session))
    first = copy.deepcopy(book.baseline["participant"])
    participants = [first]
    if session.get("format") == "duo":
        first["relationship"] = copy.deepcopy(book.baseline["relationship"])
        second = copy.deepcopy(first)
        second["participant_id"] = "B"
        participants.append(second)
    merge_answers(first, dict(example.participant))
    return {"session": session, "participants": participants}


def run_program_examples(book: Rulebook, program: str | Program, engine: EngineName = "auto") -> list[ProgramExampleResult]:
    """Each example of the program screened under it: the flags it names at their severities, none of ``no_flags``."""
    chosen = get_program(book, program)
    results = []
    for example in chosen.meta.examples:
        try:
            report = screen(
                program_example_intake(book, example), rulebook=book, program=chosen, engine=engine, today=EXAMPLE_DATE
            )
        # Any error, not only ScreeningError: an engine bug in one example is shown as a failed example, not a crash
        except Exception as error:  # noqa: BLE001
            results.append(ProgramExampleResult(chosen.id, example.name, False, f"{type(error).__name__}: {error}"))
            continue
        found = {f.rule_id: f.severity for f in report.flags if f.participant == "A"}
        wrong = [
            f"{rid} expected {sev}, got {found.get(rid, 'no flag')}"
            for rid, sev in example.flags.items()
            if found.get(rid) != sev
        ]
        wrong += [f"{rid} expected no flag, got {found[rid]}" for rid in example.no_flags if rid in found]
        results.append(ProgramExampleResult(chosen.id, example.name, not wrong, "; ".join(wrong) or "as expected"))
    return results
