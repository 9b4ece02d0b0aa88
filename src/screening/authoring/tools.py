"""Tools for rule authors and reviewers: pick rules by id or file, check their examples with
file and line, explain a failing example part by part, find unexercised branches and
overlapping rules, scaffold a new rule, and show how a medication line is read.

The checks here read the examples through the reference evaluator (no engine, no report), so
a whole-rulebook pass is quick enough to run on every ``screening rules check``.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import yaml

from ..engines import facts
from ..errors import IntakeError, Problem, RulebookError
from ..intake.fields import catalogue
from ..rulebook import conditions
from ..rulebook.conditions import Branch, Condition, Leaf
from ..rulebook.loading import CATEGORIES, RULE_ID, Example, Rule, Rulebook, _LineLoader

__all__ = [
    "select",
    "ExampleCheck",
    "check_examples",
    "trace",
    "scaffold",
    "describe_match",
]

EXAMPLE_DATE = dt.date(2026, 12, 1)  # the date examples are screened on (as in rule_examples)


def select(book: Rulebook, targets: list[str]) -> list[Rule]:
    """The rules named by id or by file path (inside the rules folder); unknown ones are an error."""
    if not targets:
        return list(book.active)
    by_path = {(book.root / rule.path).resolve(): rule for rule in book.rules}
    chosen, problems = [], []
    for target in targets:
        path = Path(target)
        if target in {r.id for r in book.rules}:
            chosen.append(book.rule(target))
        elif path.suffix in (".yaml", ".yml") and path.resolve() in by_path:
            chosen.append(by_path[path.resolve()])
        elif path.suffix in (".yaml", ".yml"):
            where = "is not in the rules folder " + str(book.root) if path.exists() else "does not exist"
            problems.append(Problem(target, None, f"the file {where}; use --rules FOLDER for another rulebook"))
        else:
            hint = conditions._suggest(target, [r.id for r in book.rules])
            problems.append(Problem(target, None, f"no rule with this id{hint}"))
    if problems:
        raise RulebookError(problems)
    return list({rule.id: rule for rule in chosen}.values())


def problems_for(error: RulebookError, book_root: Path, targets: list[str]) -> RulebookError:
    """Of a rulebook's problems, those in the named files (all of them when none is named)."""
    files = set()
    for target in targets:
        path = Path(target)
        if path.suffix in (".yaml", ".yml"):
            try:
                files.add(path.resolve().relative_to(book_root.resolve()).as_posix())
            except ValueError:
                files.add(target)
    if not files:
        return error
    mine = [p for p in error.problems if p.where in files]
    return RulebookError(mine) if mine else error


# ---------------------------------------------------------------------------- examples


def example_lines(book: Rulebook, rule: Rule) -> list[int | None]:
    """The line of each example in its rule file (the validated model has no lines)."""
    try:
        data = yaml.load((book.root / rule.path).read_text(encoding="utf-8"), Loader=_LineLoader)
        return [getattr(item, "line", None) for item in data["examples"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return [None] * len(rule.meta.examples)


def _intake_path(path: str) -> str:
    """``participants.0.physical.x`` -> ``participant.physical.x`` as the example writes it."""
    head, _, rest = path.partition(".")
    if head == "participants":
        index, _, rest = rest.partition(".")
        return ("participant." if index == "0" else "other.") + rest
    return path


def _hint(path: str) -> str:
    head, _, rest = path.partition(".")
    if head in ("participant", "other"):
        return conditions._suggest(rest, [p for p, s in catalogue().items() if not s.session])
    if head == "session":
        return conditions._suggest(path, [p for p, s in catalogue().items() if s.session])
    return ""


@dataclass
class ExampleCheck:
    rule: Rule
    example: Example
    line: int | None
    values: dict[str | None, conditions.Values] | None  # None when the example is not a valid intake
    holds: bool | None  # the rule's guarded condition on the example (None: not a valid intake)


def check_examples(book: Rulebook, rules: list[Rule]) -> tuple[list[ExampleCheck], list[Problem]]:
    """Every example of these rules as values, with a problem (file:line) for each example
    that is not a valid intake or does not do what it expects."""
    from ..pipeline.screener import asked_fields, parse_intake

    checks, problems = [], []
    for rule in rules:
        lines = example_lines(book, rule)
        for example, line in zip(rule.meta.examples, lines):
            try:
                intake = parse_intake(book.example_intake(rule, example), f"{rule.path} example")
            except IntakeError as error:
                for item in error.problems:
                    where = _intake_path(item.where)
                    problems.append(Problem(rule.path, line, f"example {example.name!r}: {where}: {item.message}{_hint(where)}"))
                checks.append(ExampleCheck(rule, example, line, None, None))
                continue
            asked, _ = asked_fields(book, intake.session.substance.value, intake.is_duo)
            reference = intake.session.planned_date or EXAMPLE_DATE
            people = [pf.values for pf in facts.build(intake, book.vocabulary, reference, asked)]
            sides = _sides(rule, people)
            holds = conditions.evaluate(rule.guarded, sides)
            checks.append(ExampleCheck(rule, example, line, sides, holds))
            if holds != (example.expect == "flag"):
                problems.append(
                    Problem(
                        rule.path,
                        line,
                        f"example {example.name!r} expects {example.expect} but "
                        f"{'the rule flags it' if holds else 'the rule does not flag it'}; "
                        f"`screening rules test {rule.id} --explain` shows each part of when:",
                    )
                )
    return checks, problems


def _sides(rule: Rule, people: list[conditions.Values]) -> dict[str | None, conditions.Values]:
    sides: dict[str | None, conditions.Values] = {None: people[0], "self": people[0]}
    sides["other"] = people[1] if len(people) > 1 else people[0]
    return sides


def unexercised(checks: list[ExampleCheck]) -> list[tuple[Rule, str]]:
    """Items of an ``any`` that no flag example of their rule makes hold: a branch nothing tests."""
    found = []
    for rule in {c.rule.id: c.rule for c in checks}.values():
        flagging = [c.values for c in checks if c.rule is rule and c.holds and c.values]
        for node in _any_nodes(rule.condition):
            for item in node.items:
                if not any(_holds(item, sides) for sides in flagging):
                    found.append((rule, _short(item)))
    return found


def _any_nodes(condition: Condition) -> list[Branch]:
    if isinstance(condition, Leaf):
        return []
    own = [condition] if condition.op == "any" else []
    return own + [n for item in condition.items for n in _any_nodes(item)]


def _holds(condition: Condition, sides: Mapping[str | None, conditions.Values]) -> bool:
    return conditions.evaluate(condition, sides)


def _short(condition: Condition) -> str:
    if isinstance(condition, Leaf):
        return str(condition)
    inner = ", ".join(_short(i) for i in condition.items)
    return f"{condition.op}({inner})"


def overlaps(book: Rulebook, checks: list[ExampleCheck]) -> dict[str, list[str]]:
    """For each rule, the other participant rules its flag examples also raise (outside
    missing-information): rules a reviewer reads together."""
    related: dict[str, set[str]] = {}
    others = [r for r in book.active if r.meta.applies_to == "participant" and r.meta.category != "missing-information"]
    for check in checks:
        if not check.holds or not check.values or check.rule.meta.category == "missing-information":
            continue
        for other in others:
            if other is not check.rule and conditions.evaluate(other.guarded, {None: check.values[None]}):
                related.setdefault(check.rule.id, set()).add(other.id)
    return {rule_id: sorted(ids) for rule_id, ids in sorted(related.items())}


# ---------------------------------------------------------------------------- explain


def trace(condition: Condition, sides: Mapping[str | None, conditions.Values], depth: int = 0) -> list[str]:
    """Each part of a condition with whether it holds, indented like the rule's ``when:``."""
    mark = "yes" if conditions.evaluate(condition, sides) else "no "
    pad = "  " * depth
    if isinstance(condition, Leaf):
        values = sides[condition.side]
        if condition.op in conditions.MEDICATION_OPS:
            seen = conditions._leaf_evidence(condition, values)[0].answer
        else:
            seen = values.fields.get(condition.field)
        return [f"{pad}[{mark}] {condition}   (the example: {seen})"]
    words = {"all": "all of:", "any": "any of:", "not": "not:"}
    lines = [f"{pad}[{mark}] {words[condition.op]}"]
    for item in condition.items:
        lines += trace(item, sides, depth + 1)
    return lines


# ---------------------------------------------------------------------------- scaffold


def scaffold(root: Path, category: str, rule_id: str, today: dt.date | None = None) -> Path:
    """Write a new draft rule file whose every text says what to write; `rules check` refuses
    it until each TODO is replaced."""
    problems = []
    if category not in CATEGORIES:
        problems.append(
            Problem(
                category,
                None,
                f"not a category{conditions._suggest(category, CATEGORIES)}; the categories are {', '.join(CATEGORIES)}",
            )
        )
    if not RULE_ID.match(rule_id):
        problems.append(Problem(rule_id, None, "a rule id is lower case, namespaced with a dot: area.short-name"))
    path = root / category / f"{rule_id.split('.', 1)[-1]}.yaml"
    if path.exists():
        problems.append(Problem(str(path), None, "the file exists already"))
    if problems:
        raise RulebookError(problems)
    text = SCAFFOLD.format(id=rule_id, category=category, today=(today or dt.date.today()).isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


SCAFFOLD = """\
# A new rule: replace every TODO, then run `screening rules check {id}` and `screening rules test {id}`.
# The fields and the when: language are described in rules/README.md; `screening schema rule` is the JSON Schema.
id: {id}
title: "TODO a clinician's name for the finding"
participant_text: "TODO one or two plain sentences for the participant's own copy: what was noticed, and that it will be talked through."
category: {category}
status: draft
severity: warning
applies_to: participant
substances: [all]
when:
  is:
    TODO.field: 'yes'
summary: "TODO one sentence under 140 characters on what was found."
explanation: >
  TODO why it matters, in plain words for a clinician, with what the sources say.
clinician_action: >
  TODO what to review or discuss (consider, review, discuss, confirm ...).
limitations:
  - "TODO what the rule cannot see; mark sources read second-hand [S] or not found [NF]."
references:
  - title: "TODO the source, with its section, table or page"
    url: https://example.org/TODO
    says: "TODO what this source says that the rule rests on, in your own words."
written: {today}
examples:
  - name: "TODO a case that must flag"
    expect: flag
    participant: {{}}
  - name: "TODO a case that must not flag"
    expect: no-flag
"""


# ---------------------------------------------------------------------------- medication lines


def describe_match(book: Rulebook, written: str) -> list[str]:
    """How one written medication line is read: each drug found, how, and its classes."""
    lines = [f"{written!r} is read as:"]
    for match in book.vocabulary.match_all(written):
        if match.entry is None:
            close = difflib.get_close_matches(
                " ".join(match.written.lower().split()), [e.generic for e in book.vocabulary.entries], n=3, cutoff=0.5
            )
            lines.append(
                f"- {match.written!r}: unrecognised (no rule can read it; the unrecognised-medication rule flags it)"
                + (f"; close names: {', '.join(close)}" if close else "")
            )
            continue
        how = "matched" if match.status == "recognised" else "matched approximately, to confirm (a likely misspelling)"
        labels = [f"{c} ({book.vocabulary.class_labels.get(c, c)})" for c in match.entry.classes]
        lines.append(
            f"- {match.written!r}: {how} as {match.matched_name!r} -> {match.entry.generic}; classes: {', '.join(labels)}"
        )
        readers = sorted(r.id for r in book.active if _reads_any(r.condition, set(match.entry.classes)))
        lines.append(f"  rules that read these classes: {', '.join(readers) if readers else 'none'}")
    return lines


def _reads_any(condition: Condition, classes: set[str]) -> bool:
    return any(leaf.op in conditions.MEDICATION_OPS and set(_classes_of(leaf)) & classes for leaf in conditions.walk(condition))


def _classes_of(leaf: Leaf) -> tuple[str, ...]:
    if leaf.op == conditions.COUNT:
        # conditions.Leaf declares field a str; a count's is (what, classes)
        _, classes = cast("tuple[str, tuple[str, ...]]", leaf.field)
        return classes
    return (leaf.field,)


def explain_examples(book: Rulebook, rules: list[Rule]) -> dict[tuple[str, str], list[str]]:
    """For --explain: each example's trace of its rule's when:, by (rule id, example name)."""
    checks, _ = check_examples(book, rules)
    return {(c.rule.id, c.example.name): trace(c.rule.guarded, c.values) for c in checks if c.values}


def program_limit_problems(book: Rulebook) -> list[Problem]:
    """Programs whose rules, as the program adapts them, are too complex for durable_rules
    (the engine refuses them when it is built; ``rules check`` says so first)."""
    from ..engines.engine import limit_problems
    from ..rulebook.programs import compile_program, load_programs

    problems: list[Problem] = []
    for program in load_programs(book).values():
        if not program.changes_nothing:
            compiled = compile_program(book, program)
            problems.extend(Problem(program.path, None, p.message) for p in limit_problems(compiled.active))
    return problems
