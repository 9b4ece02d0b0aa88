"""Programs: data that adapts the one rulebook to a framework (Oregon, Colorado, a trial, a practice).

A program (``rules/programs/<id>.yaml``) is a declarative list of changes, each with its reason
and source, in the manner of a pySigma processing pipeline: parameter values the rules read by
name, severity overrides, rules disabled or enabled, questions that must be answered, and the
wording a framework prescribes for its questions. It is validated like a rule file (every problem
with file, line and a did-you-mean) and compiled once per (rulebook, program) into a derived
:class:`~screening.rulebook.Rulebook`: the engines receive ordinary rules and need no change.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Problem, RulebookError
from ..intake.fields import catalogue
from . import conditions
from . import loading as rulebook_module
from . import parameters as parameters_module
from .loading import Reference, Rule, Rulebook, RuleFile

__all__ = ["Program", "ProgramFile", "load_programs", "get_program", "compile_program", "resolve", "DEFAULT", "program_problems"]

DEFAULT = "default"
PROGRAM_ID = r"^[a-z][a-z0-9-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterChange(_Strict):
    value: int | float | None
    reason: str = Field(min_length=10)
    source: str = Field(min_length=1, description="A key of the program's sources.")


class SeverityChange(_Strict):
    to: Literal["info", "warning", "critical"]
    reason: str = Field(min_length=10)
    source: str = Field(min_length=1)


class RuleChange(_Strict):
    reason: str = Field(min_length=10)
    source: str | None = None


class Requirement(_Strict):
    severity: Literal["info", "warning", "critical"]
    reason: str = Field(min_length=10)
    source: str | list[str] = Field(min_length=1, description="One key of the program's sources, or a list of keys.")
    questions: list[str] = Field(min_length=1)

    @property
    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class Question(_Strict):
    label: str = Field(min_length=1, description="The framework's own number for the question, e.g. '(b)'.")
    text: str = Field(min_length=5, description="The question exactly as the framework words it.")
    source: str = Field(min_length=1)


class ProgramExample(_Strict):
    """An intake and the flags the program's sources say it gives (checked in tests and docs)."""

    name: str = Field(min_length=3)
    session: dict[str, Any] = Field(default_factory=dict)
    participant: dict[str, Any] = Field(default_factory=dict)
    flags: dict[str, Literal["info", "warning", "critical"]] = Field(default_factory=dict)
    no_flags: list[str] = Field(default_factory=list)


class ProgramFile(_Strict):
    id: str = Field(pattern=PROGRAM_ID)
    title: str = Field(min_length=5, max_length=100)
    framework: str = Field(min_length=5, description="The jurisdiction, regulation or framework.")
    version: str = Field(min_length=1)
    written: dt.date
    description: str = Field(min_length=20)
    sources: dict[str, Reference] = Field(default_factory=dict)
    limitations: list[str] = Field(min_length=1)
    parameters: dict[str, ParameterChange] = Field(default_factory=dict)
    severity: dict[str, SeverityChange] = Field(default_factory=dict)
    disable: dict[str, RuleChange] = Field(default_factory=dict)
    enable: dict[str, RuleChange] = Field(default_factory=dict)
    require: Requirement | None = None
    questions: dict[str, Question] = Field(default_factory=dict)
    examples: list[ProgramExample] = Field(default_factory=list)
    crisis_locale: str | None = Field(
        default=None,
        description="The locale in rules/crisis-contacts.yaml whose numbers a participant's copy gives (default: its default_locale).",
    )


@dataclass(frozen=True, eq=False)
class Program:
    """A validated program: its file, its hash and where it came from."""

    meta: ProgramFile
    sha256: str
    path: str
    line_of: dict[str, Any]

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def changes_nothing(self) -> bool:
        m = self.meta
        return not (m.parameters or m.severity or m.disable or m.enable or m.require)

    def info(self) -> dict[str, str]:
        return {"id": self.id, "version": self.meta.version, "sha256": self.sha256}


def _implicit_default(book: Rulebook) -> Program:
    """A rules folder without programs/default.yaml still screens under 'default' (no changes)."""
    meta = ProgramFile(
        id=DEFAULT,
        title="The base rulebook, unchanged",
        framework="none: the rulebook as written",
        version=book.version,
        written=dt.date(2026, 12, 1),
        description="No program: every rule with its own severity and the parameters' defaults.",
        limitations=["No framework's own requirements are applied."],
    )
    return Program(meta, hashlib.sha256(b"").hexdigest(), "(built in)", {})


# ---------------------------------------------------------------------------- loading and validation


def _lines(data: Any, *keys: str) -> int | None:
    """The line of data[k1][k2]... as far as it is known."""
    line = getattr(data, "line", None)
    node = data
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            break
        line = getattr(node, "key_lines", {}).get(key, line)
        node = node[key]
    return line


def _check(program: ProgramFile, data: Any, rel: str, book: Rulebook, problems: list[Problem]) -> None:
    """Everything a program refers to exists, with a source; each problem with its line."""
    ids = [r.id for r in book.rules]
    active = {r.id for r in book.rules if r.meta.status != "deprecated"}
    program_only = {r.id for r in book.rules if r.meta.program_only}
    sources = list(program.sources)
    crisis = getattr(book, "crisis", None)
    if program.crisis_locale is not None and crisis is not None and program.crisis_locale not in crisis.locales:
        problems.append(
            Problem(
                rel,
                _lines(data, "crisis_locale"),
                f"crisis_locale {program.crisis_locale!r} is not a locale of crisis-contacts.yaml ({', '.join(crisis.locales)})",
            )
        )

    def need_source(section: str, key: str, source: str | None, required: bool = True) -> None:
        if source is None:
            if required:
                problems.append(
                    Problem(rel, _lines(data, section, key), f"{section}.{key}: a change needs a source (a key of 'sources')")
                )
            return
        if source not in program.sources:
            problems.append(
                Problem(
                    rel,
                    _lines(data, section, key, "source"),
                    f"{section}.{key}: unknown source {source!r}{conditions._suggest(source, sources)}; add it under 'sources'",
                )
            )

    def need_rule(section: str, rule_id: str) -> bool:
        if rule_id not in ids:
            problems.append(
                Problem(
                    rel,
                    _lines(data, section, rule_id),
                    f"{section}: unknown rule id {rule_id!r}{conditions._suggest(rule_id, ids)}",
                )
            )
            return False
        if rule_id not in active:
            problems.append(
                Problem(rel, _lines(data, section, rule_id), f"{section}: rule {rule_id!r} is deprecated and no longer runs")
            )
            return False
        return True

    for name, change in program.parameters.items():
        line = _lines(data, "parameters", name)
        if name not in book.parameters:
            problems.append(
                Problem(
                    rel,
                    line,
                    f"parameters: unknown parameter {name!r}{conditions._suggest(name, sorted(book.parameters))}; the base parameters are in rules/parameters.yaml",
                )
            )
            continue
        if change.value is None:
            problems.append(
                Problem(
                    rel,
                    line,
                    f"parameters.{name}: the program leaves the base parameter undefined; give a value or remove the entry to keep the default ({book.parameters[name].default})",
                )
            )
        else:
            wrong = parameters_module.check_value(book.parameters[name], change.value)
            if wrong:
                problems.append(Problem(rel, _lines(data, "parameters", name, "value"), f"parameters.{name}: {wrong}"))
        need_source("parameters", name, change.source)
    for rule_id, severity in program.severity.items():
        if need_rule("severity", rule_id) and book.rule(rule_id).meta.severity == severity.to:
            problems.append(
                Problem(
                    rel,
                    _lines(data, "severity", rule_id),
                    f"severity.{rule_id}: the rule is already {severity.to}; remove the override",
                )
            )
        need_source("severity", rule_id, severity.source)
    for rule_id, rule_change in program.disable.items():
        need_rule("disable", rule_id)
        if rule_id in program.enable or rule_id in program.severity:
            problems.append(
                Problem(
                    rel,
                    _lines(data, "disable", rule_id),
                    f"disable.{rule_id}: the rule is also enabled or re-rated in this program",
                )
            )
        need_source("disable", rule_id, rule_change.source, required=False)
    for rule_id, enable_change in program.enable.items():
        if need_rule("enable", rule_id) and rule_id not in program_only:
            problems.append(
                Problem(
                    rel,
                    _lines(data, "enable", rule_id),
                    f"enable.{rule_id}: the rule already runs in every program; only rules with program_only: true are enabled",
                )
            )
        need_source("enable", rule_id, enable_change.source, required=False)
    if program.require:
        for key in program.require.sources:
            need_source("require", "source", key)
        for i, path in enumerate(program.require.questions):
            spec = catalogue().get(path)
            line = getattr(data["require"]["questions"][i], "line", None) or _lines(data, "require", "questions")
            if spec is None:
                problems.append(
                    Problem(
                        rel,
                        line,
                        f"require.questions: unknown intake field {path!r}{conditions._suggest(path, list(catalogue()))}",
                    )
                )
            elif spec.session or spec.kind == "count":
                problems.append(
                    Problem(
                        rel,
                        line,
                        f"require.questions: {path} is not one participant's question (session fields and counts cannot be required)",
                    )
                )
    for path, question in program.questions.items():
        spec = catalogue().get(path)
        if spec is None:
            problems.append(
                Problem(
                    rel,
                    _lines(data, "questions", path),
                    f"questions: unknown intake field {path!r}{conditions._suggest(path, list(catalogue()))}",
                )
            )
        need_source("questions", path, question.source)
    for example in program.examples:
        for rule_id in [*example.flags, *example.no_flags]:
            if rule_id not in ids and not rule_id.startswith("missing-information.required-by-"):
                problems.append(
                    Problem(
                        rel,
                        _lines(data, "examples"),
                        f"examples {example.name!r}: unknown rule id {rule_id!r}{conditions._suggest(rule_id, ids)}",
                    )
                )


def _load_one(path: Path, book: Rulebook, problems: list[Problem]) -> Program | None:
    root = book.root
    rel = rulebook_module._rel(path, root)
    data = rulebook_module._read_yaml(path, root, problems)
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.append(Problem(rel, 1, "a program file holds one mapping (id, title, framework, ...)"))
        return None
    try:
        program = ProgramFile.model_validate(rulebook_module._plain(data))
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"])
            hint = ""
            if item["type"] == "extra_forbidden":
                hint = conditions._suggest(str(item["loc"][-1]), list(ProgramFile.model_fields))
            problems.append(Problem(rel, rulebook_module._line_at(data, item["loc"]), f"{where}: {item['msg']}{hint}"))
        return None
    if path.stem != program.id:
        problems.append(
            Problem(rel, _lines(data, "id"), f"id {program.id!r} but the file is {path.name}; name it {program.id}.yaml")
        )
    before = len(problems)
    _check(program, data, rel, book, problems)
    if len(problems) > before:
        return None
    return Program(program, hashlib.sha256(path.read_bytes()).hexdigest(), rel, dict(getattr(data, "key_lines", {})))


def load_programs(book: Rulebook) -> dict[str, Program]:
    """Every program in the rulebook's programs/ folder, validated together (once per rulebook),
    each also checked against durable_rules' limits."""
    return book.derived(("programs",), lambda: _load_all(book))


def _names(book: Rulebook) -> list[str]:
    return sorted({p.stem for p in (book.root / "programs").glob("*.yaml")} | {DEFAULT})


def _load_checked(book: Rulebook, path: Path, problems: list[Problem]) -> Program | None:
    """One program file, validated and compiled (the compilation is cached)."""
    program = _load_one(path, book, problems)
    if program is None:
        return None
    try:
        compiled = compile_program(book, program)
    except RulebookError as error:
        problems.extend(error.problems)
        return None
    book.memo.setdefault(("program", program.id, program.sha256), compiled)
    return program


def _load_all(book: Rulebook) -> dict[str, Program]:
    problems: list[Problem] = []
    found: dict[str, Program] = {}
    for path in sorted((book.root / "programs").glob("*.yaml")):
        program = _load_checked(book, path, problems)
        if program is None:
            continue
        found[program.id] = program
    if problems:
        raise RulebookError(problems)
    found.setdefault(DEFAULT, _implicit_default(book))
    return dict(sorted(found.items()))


def get_program(book: Rulebook, program: str | Program | None) -> Program:
    """A program by id: only its own file is read and validated (once per rulebook)."""
    if isinstance(program, Program):
        return program
    name = program or DEFAULT
    if ("programs",) in book.memo:
        programs: dict[str, Program] = book.memo[("programs",)]
        if name in programs:
            return programs[name]
    return book.derived(("program-file", name), lambda: _load_named(book, name))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name the system refuses (too long, ...): no such program
        return False


def _load_named(book: Rulebook, name: str) -> Program:
    path = book.root / "programs" / f"{name}.yaml"
    if not isinstance(name, str) or "/" in name or name.startswith(".") or not _is_file(path):
        if name == DEFAULT:
            return _implicit_default(book)
        names = _names(book)
        shown = str(name) if len(str(name)) <= 80 else str(name)[:80] + "..."
        raise RulebookError(
            [
                Problem(
                    "programs",
                    None,
                    f"unknown program {shown!r}{conditions._suggest(str(name)[:200], names)}; the programs are {', '.join(names)}",
                )
            ]
        )
    problems: list[Problem] = []
    program = _load_checked(book, path, problems)
    if problems or program is None:
        raise RulebookError(problems)
    return program


def program_problems(book: Rulebook) -> list[Problem]:
    """For ``screening rules check``: every program problem, or none."""
    try:
        load_programs(book)
    except RulebookError as error:
        return list(error.problems)
    return []


# ---------------------------------------------------------------------------- compiling


def _nested(path: str, value: Any) -> dict[str, Any]:
    section, _, name = path.partition(".")
    return {section: {name: value}}


def _required_rules(program: Program, book: Rulebook) -> list[Rule]:
    """One generated rule per kind of question (duo-only questions apart): unanswered -> flag."""
    req = program.meta.require
    if req is None:
        return []
    references = [program.meta.sources[key].model_dump() for key in req.sources]
    groups = {
        "": [q for q in req.questions if not catalogue()[q].duo_only],
        "-duo": [q for q in req.questions if catalogue()[q].duo_only],
    }
    rules = []
    for suffix, questions in groups.items():
        if not questions:
            continue
        when = {"any": [{"unanswered": q} for q in questions]}
        unknown = "unknown" if catalogue()[questions[0]].kind in ("answer", "enum") else None
        answered = (
            copy.deepcopy(book.baseline.get("participant", {}))
            .get(questions[0].split(".")[0], {})
            .get(questions[0].split(".")[1])
        )
        meta = RuleFile.model_validate(
            {
                "id": f"missing-information.required-by-{program.id}{suffix}",
                "title": f"Unanswered questions this program requires ({program.id})"[:100],
                "category": "missing-information",
                "status": "draft",
                "severity": req.severity,
                "applies_to": "participant",
                "substances": ["all"],
                "when": when,
                "summary": f"A question that the program {program.id} requires was left unanswered or answered unsure."[:139],
                "explanation": " ".join(
                    f"{req.reason} An unanswered question is never read as no; the evidence lists each one.".split()
                ),
                "clinician_action": "Review each unanswered question with the participant and complete the intake before the session, then screen it again.",
                "participant_text": "Some questions this programme asks were left open or answered unsure. You can answer them with your facilitator.",
                "limitations": [
                    f"Generated from the program {program.id} {program.meta.version}: it checks that the questions were answered, not what the answers mean (other rules read them)."
                ],
                "references": references,
                "written": program.meta.written,
                "examples": [
                    {"name": f"{questions[0]} unanswered", "expect": "flag", "participant": _nested(questions[0], unknown)},
                    {"name": f"{questions[0]} answered", "expect": "no-flag", "participant": _nested(questions[0], answered)},
                ],
            }
        )
        condition = conditions.parse(when)
        duo_only = bool(suffix)
        rules.append(Rule(meta, condition, rulebook_module._guarded(meta, condition, duo_only), program.path, {}))
    return rules


def compile_program(book: Rulebook, program: Program) -> Rulebook:
    """The rulebook as this program sees it: a derived Rulebook the engines run unchanged."""
    if program.changes_nothing:
        return book
    meta = program.meta
    values: dict[str, int | float | None] = {name: p.default for name, p in book.parameters.items()}
    changed = {name for name, change in meta.parameters.items() if change.value != values.get(name)}
    values.update({name: change.value for name, change in meta.parameters.items()})
    rules: list[Rule] = []
    problems: list[Problem] = []
    for rule in book.rules:
        if rule.id in meta.disable:
            continue
        if rule.params & changed:
            again = rulebook_module._load_rule(
                book.root / rule.path, book.root, book.vocabulary, problems, values, data=rule.template, named=book.named
            )
            if again is None:
                for name in sorted(rule.params & changed):
                    problems.append(
                        Problem(
                            program.path,
                            program.line_of.get("parameters"),
                            f"parameters.{name}: rule {rule.id} does not accept this value",
                        )
                    )
                continue
            rule = again
        updates: dict[str, Any] = {}
        if rule.id in meta.enable:
            updates["program_only"] = False
        if rule.id in meta.severity:
            updates["severity"] = meta.severity[rule.id].to
        if updates:
            rule = replace(rule, meta=rule.meta.model_copy(update=updates))
        rules.append(rule)
    if problems:
        raise RulebookError(problems)
    rules.extend(_required_rules(program, book))
    return Rulebook(
        root=book.root,
        version=book.version,
        sha256=book.sha256,
        rules=sorted(rules, key=lambda r: r.id),
        vocabulary=book.vocabulary,
        baseline=book.baseline,
        meta=book.meta,
        parameters=book.parameters,
        program=program,
        reviews=book.reviews,
        named=book.named,
        crisis=book.crisis,
        combinations=book.combinations,
    )


def resolve(book: Rulebook, program: str | Program | None) -> tuple[Rulebook, Program]:
    """(the compiled rulebook, the program): compiled once per (rulebook, program) and cached.

    A rulebook that is already a program's compilation is used as it is when no other program
    is asked for.
    """
    if book.program is not None:
        if program is None or (program if isinstance(program, str) else program.id) == book.program.id:
            return book, book.program
        raise RulebookError(
            [Problem("programs", None, f"this rulebook is already compiled for {book.program.id!r}; pass the base rulebook")]
        )
    chosen = get_program(book, program)
    return book.derived(("program", chosen.id, chosen.sha256), lambda: compile_program(book, chosen)), chosen


# ---------------------------------------------------------------------------- examples


def with_enabled(book: Rulebook, rule_ids: frozenset[str]) -> Rulebook:
    """The base rulebook with some program-only rules switched on (to run their own examples)."""

    def make() -> Rulebook:
        rules = [
            replace(r, meta=r.meta.model_copy(update={"program_only": False})) if r.id in rule_ids else r for r in book.rules
        ]
        return replace(book, rules=rules, memo={("programs",): load_programs(book)})

    return book.derived(("enabled", rule_ids), make)
