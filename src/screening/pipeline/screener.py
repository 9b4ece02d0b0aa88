"""Screen an intake: read and validate it, build facts, run the engine, write the report.

This is the one place the pieces meet; each step lives in its own module.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import warnings
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json

from ..engines import durable, facts
from ..engines.engine import EngineName, FallbackEngineWarning, Firing, get_engine
from ..errors import EngineError, IntakeError, Problem
from ..i18n import N_
from ..intake import reading
from ..intake.fields import catalogue
from ..intake.models import Intake
from ..report import as_read, findings
from ..report.model import NOTICE, REPORT_VERSION, Report, identified, intake_sha256, severity_counts
from ..report.parts import (
    EvidenceItem,
    Flag,
    MissingItem,
    ParticipantCopies,
    ProgramInfo,
    Reference,
    ReportRule,
    RulebookInfo,
    SessionInfo,
    Severity,
    built,
)
from ..rulebook import combinations, conditions
from ..rulebook import loading as rulebook_module
from ..rulebook.loading import SEVERITY_ORDER, Rule, Rulebook
from ..rulebook.programs import Program, resolve
from ..version import __version__

__all__ = ["screen", "screen_json", "parse_intake", "read_intake", "MAX_INTAKE_BYTES", "MAX_INTAKE_DEPTH"]

MAX_INTAKE_BYTES = 1_000_000
MAX_INTAKE_DEPTH = 8  # mappings and lists inside each other; a real intake has 5


# i18n: code
MEDICATIONS_QUESTION = N_("Medications and other substances taken now or recently")


def read_intake(path: str | Path, *, today: dt.date | None = None) -> Intake:
    """Read an intake from a JSON or YAML file (``today``: as for :func:`parse_intake`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise IntakeError([Problem(str(path), None, f"cannot read the file: {error.strerror or error}")]) from None
    return parse_intake_text(raw, str(path), today=today)


def load_intake_data(raw: bytes, where: str = "intake", max_depth: int | None = None) -> Any:
    """Bytes of a JSON or YAML file -> plain data, read strictly (see :mod:`screening.intake.reading`).

    ``max_depth``: how deeply lists and mappings may nest (default :data:`MAX_INTAKE_DEPTH`).
    """
    if len(raw) > MAX_INTAKE_BYTES:
        raise IntakeError([Problem(where, None, f"the file is larger than {MAX_INTAKE_BYTES:,} bytes; an intake is far smaller")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise IntakeError([Problem(where, None, f"not UTF-8 text (byte {error.start})")]) from None
    if where.endswith(".json") or text.lstrip().startswith(("{", "[")):
        return reading.load_json_checked(text, where, max_depth or MAX_INTAKE_DEPTH)
    return reading.check_shape(reading.load_yaml(text, where), where, max_depth or MAX_INTAKE_DEPTH)


def parse_intake_text(raw: bytes, where: str = "intake", *, today: dt.date | None = None) -> Intake:
    return parse_intake(load_intake_data(raw, where), where, today=today)


def parse_intake(data: Any, where: str = "intake", *, today: dt.date | None = None) -> Intake:
    """Validate intake data; every problem names its field. Answers are never quoted back.

    An :class:`Intake` is validated again too (one edited with ``model_copy`` skipped
    validation). Dates are checked for plausibility against ``today`` (default: the real date).
    """
    if not isinstance(data, (Mapping, Intake)):
        raise IntakeError([Problem(where, None, "an intake is a mapping with 'session' and 'participants'")])
    today = today or dt.date.today()
    seen = _validated.get((id(data), today))
    if seen is not None and seen is data:  # this very object came from here: frozen, checked
        return seen
    try:
        parsed = Intake.model_validate(data, context={"today": today})
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            path = ".".join(str(p) for p in item["loc"]) or "(intake)"
            message = item["msg"].removeprefix("Value error, ")
            if isinstance(item.get("input"), reading.TooLong):  # the input itself is never shown
                message = f"a number of {item['input'].digits} digits; no answer has more than {reading.MAX_INTEGER_DIGITS}"
            elif path == "(intake)" and re.match(r"^[\w.]+: ", message):  # a check across fields names its own field
                path, message = message.split(": ", 1)
            problems.append(Problem(path, None, message))
        raise IntakeError(problems) from None
    except RecursionError:
        raise IntakeError([Problem(where, None, "nested too deeply to be an intake")]) from None
    _validated[(id(parsed), today)] = parsed
    return parsed


# Intakes this module validated, by identity and the date they were checked against. Models are
# frozen and model_copy makes a new object, so only these may skip validating again.
_validated: weakref.WeakValueDictionary[tuple[int, dt.date], Intake] = weakref.WeakValueDictionary()


def asked_fields(book: Rulebook, substance: str, is_duo: bool) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """The questions the applicable rules read, and which rules read each (once per rulebook)."""
    return book.derived(("asked", substance, is_duo), lambda: _find_asked(book, substance, is_duo))


def _find_asked(book: Rulebook, substance: str, is_duo: bool) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    readers: dict[str, list[str]] = {}
    for rule in book.active:
        if rule.applies(substance, is_duo):
            for _, path in conditions.fields_read(rule.condition):
                spec = catalogue()[path]
                if spec.kind != "count" and not spec.session and not spec.derived:
                    readers.setdefault(path, []).append(rule.id)
    return frozenset(readers), {k: tuple(v) for k, v in readers.items()}


@functools.cache
def _fallback_notice() -> str | None:
    """Why 'auto' ran the reference evaluator alone; warned once per process (stderr by default)."""
    reason = durable.durable_unavailable_reason()
    if reason is None:
        return None
    notice = f"{reason}, so the reference evaluator screened this intake alone, without the cross-check against durable_rules."
    warnings.warn(notice, FallbackEngineWarning, stacklevel=3)  # points at the caller of screen()
    return notice


def _most_serious(book: Rulebook, rule_ids: tuple[str, ...]) -> Severity:
    return max((book.rule(r).meta.severity for r in rule_ids), key=SEVERITY_ORDER.__getitem__, default="info")


def _flag(
    book: Rulebook, firing: Firing, values: dict[str, conditions.Values], rule: Rule, verified: bool, lines: _Lines
) -> Flag:
    """A flag: whose it is and the evidence (its rule's texts are the report's ``rules``).
    Built without re-validation: every part comes from validated rules and intakes (a test
    validates a sample all the same). ``verified``: the reference evaluator found the rule
    holds; otherwise (durable_rules alone) its condition is checked here.

    A rule that reads answers only (no medications) gives the same flag for the same answers,
    so such flags are remembered per rulebook, keyed on exactly the answers the rule reads."""
    sides: dict[str | None, conditions.Values]
    if firing.other is None:
        sides = {None: values[firing.pid]}
    else:
        sides = {None: values[firing.pid], "self": values[firing.pid], "other": values[firing.other]}
    if not verified and not conditions.evaluate(rule.condition, sides):
        raise EngineError(f"the engine fired {rule.id} but its condition does not hold; no result was produced")
    reads = _answers_read(book, rule)
    if reads is None:
        return _new_flag(rule, firing, sides, values, lines)
    key = (rule.id, firing.pid, firing.other, *(_answer_key(sides[side], path) for side, path in reads))
    return book.remembered("flags", key, lambda: _new_flag(rule, firing, sides, values, lines))


def _answer_key(values: conditions.Values, path: str) -> Any:
    """An answer as a flag's evidence shows it: the answer, and for a count what it counted."""
    noted = values.notes.get(path)
    return values.fields[path] if noted is None else (values.fields[path], *noted)


def forget_remembered(book: Rulebook) -> None:
    """Forget the flags, questions left open and medication readings remembered with a rulebook,
    and the findings' parts remembered by their strings alone: the next screening costs what a
    first one does (for benchmarks and tests)."""
    book.forget_remembered()
    findings.forget()


def _answers_read(book: Rulebook, rule: Rule) -> tuple[tuple[str | None, str], ...] | None:
    """(side, path) of every answer a rule's evidence rests on, or None when it reads medications
    (their evidence also names the lines as written and the days since a dose: not remembered)."""

    def find() -> tuple[tuple[str | None, str], ...] | None:
        if any(leaf.op in conditions.MEDICATION_OPS for leaf in conditions.walk(rule.condition)):
            return None
        return tuple(sorted(conditions.fields_read(rule.condition), key=lambda read: (read[0] or "", read[1])))

    return book.derived(("answers-read", rule.id), find)


def _new_flag(
    rule: Rule, firing: Firing, sides: dict[str | None, conditions.Values], values: dict[str, conditions.Values], lines: _Lines
) -> Flag:
    evidence = []
    seen = set()
    for item in conditions.explain(rule.condition, sides):
        key = (item.pid, item.field, item.answer)
        if key in seen:  # the same answer read twice is shown once
            continue
        seen.add(key)
        answer = item.answer if isinstance(item.answer, (str, int, float)) or item.answer is None else str(item.answer)
        line = lines.of(values[item.pid], answer) if item.field == "medications" else None
        evidence.append(
            built(
                EvidenceItem,
                {"participant": item.pid, "field": item.field, "answer": answer, "line": line},
                in_order=True,
            )
        )
    flag = {
        "rule_id": rule.id,
        "severity": rule.meta.severity,
        "participant": "pair" if firing.other else firing.pid,
        "participants": sorted({e.participant for e in evidence} | {firing.pid}),
        "evidence": evidence,
        "combines": [],
    }
    return built(Flag, flag, in_order=True)


class _Lines:
    """The line(s) as written behind a medication answer, so two rules on one line are one finding;
    each participant's class prefixes worked out once per screening, not once per evidence item."""

    def __init__(self) -> None:
        self._prefixes: dict[str, list[tuple[str, str]]] = {}

    def of(self, values: conditions.Values, answer: Any) -> str | None:
        prefixes = self._prefixes.get(values.pid)
        if prefixes is None:
            prefixes = self._prefixes[values.pid] = []
            for cls, names in values.medication_names.items():
                written = "; ".join(names)
                prefixes.append((f"{written} ({values.class_labels.get(cls, cls)}; ", written))
        text = str(answer)
        return next((written for prefix, written in prefixes if text.startswith(prefix)), None)


def report_rule(book: Rulebook, rule_id: str) -> ReportRule:
    """A rule as the report carries it (its texts, sources and review status), worked out once
    per rulebook: a combination's from rules/combinations.yaml, any other's from its rule file."""

    def make() -> ReportRule:
        combination = next((c for c in book.combinations if c.id == rule_id), None)
        if combination is not None:
            # a combination has no review records of its own yet: its file's status, in the rules' five words
            status = "draft" if combination.status == "draft" else "in review"
            return _entry(combination, combination.applies_to, combination.participant_copy, status)
        from ..rulebook.review import state_of

        rule = book.rule(rule_id)
        meta = rule.meta
        # relationship answers are private by nature: never on a printed copy unless asked for
        copy = "on-request" if meta.category == "relationship" else meta.participant_copy
        return _entry(meta, meta.applies_to, copy, state_of(book, rule).state)

    return book.derived(("report-rule", rule_id), make)


def _rules_json(book: Rulebook, rule_ids: list[str]) -> bytes:
    """The report's ``rules`` as compact JSON, from each rule's entry serialised once per rulebook."""
    return b"{%b}" % b",".join(_rule_json(book, rule_id) for rule_id in rule_ids)


def _rule_json(book: Rulebook, rule_id: str) -> bytes:
    def make() -> bytes:
        return to_json(rule_id) + b":" + ReportRule.__pydantic_serializer__.to_json(report_rule(book, rule_id))

    return book.derived(("report-rule-json", rule_id), make)


def _entry(source: Any, scope: str, copy: str, status: str) -> ReportRule:
    return built(
        ReportRule,
        {
            "title": source.title,
            "category": source.category,
            "scope": scope,
            "summary": source.summary,
            "explanation": " ".join(source.explanation.split()),
            "clinician_action": " ".join(source.clinician_action.split()),
            "participant_text": " ".join(source.participant_text.split()),
            "participant_copy": copy,
            "limitations": [" ".join(text.split()) for text in source.limitations],
            "references": [Reference(title=r.title, url=r.url, says=" ".join(r.says.split())) for r in source.references],
            "rule_status": status,
        },
        in_order=True,
    )


def _combine(book: Rulebook, flags: dict[tuple[str, str], Flag], participants: list[str]) -> None:
    """The rulebook's combinations over the flags the engines agreed on, added to ``flags``: per
    participant, over that participant's flags (session rules count for each), each naming the
    rules it combines. The same for every engine: it reads flags only."""
    if not book.combinations:
        return
    for pid in participants:
        flagged = {rule_id for (rule_id, who), flag in flags.items() if who == pid and _answered(flag)}
        for combination, read in combinations.fired_for(book.combinations, flagged):
            parts = [flags[(r, pid)] for r in read]
            evidence = list(dict.fromkeys(e for f in parts for e in f.evidence))
            flag = {
                "rule_id": combination.id,
                "severity": combination.severity,
                "participant": pid,
                "participants": sorted({p for f in parts for p in f.participants} | {pid}),
                "evidence": evidence,
                "combines": read,
            }
            flags[(combination.id, pid)] = built(Flag, flag, in_order=True)


def _answered(flag: Flag) -> bool:
    """Whether a flag rests on an answer given (a combination counts those only: a question left
    open is raised in its own finding, never read as part of a picture the answers did not give)."""
    return not flag.evidence or any(e.field == "medications" or e.answer not in ("unknown", None) for e in flag.evidence)


def _questions(flags: list[Flag], missing: list[MissingItem]) -> dict[str, str]:
    """Each field the evidence and the missing list name -> the question as asked, once per report."""
    asked = catalogue()
    names = sorted({e.field for f in flags for e in f.evidence} | {m.field for m in missing})
    return {name: asked[name].question if name in asked else MEDICATIONS_QUESTION for name in names}


def _firing_order(firing: Firing) -> tuple[str, str, str]:
    return (firing.rule_id, firing.pid, firing.other or "")


def _missing(book: Rulebook, pid: str, path: str, readers: tuple[str, ...]) -> MissingItem:
    """A question left open: whose, the question, the rules that read it and the severity of the
    most serious of them; the same for every screening, so made once per rulebook."""

    def make() -> MissingItem:
        fields = {
            "participant": pid,
            "field": path,
            "question": catalogue()[path].question,
            "needed_by": list(readers),
            "severity": _most_serious(book, readers),
        }
        return built(MissingItem, fields, in_order=True)

    return book.remembered("missing", (pid, path, readers), make)


def _book_info(book: Rulebook, chosen: Program) -> tuple[RulebookInfo, ProgramInfo]:
    return book.derived(
        ("report-info", chosen.id, chosen.sha256),
        lambda: (
            RulebookInfo(version=book.version, sha256=book.sha256, rules=len(book.active)),
            ProgramInfo(**chosen.info()),
        ),
    )


def _copies(book: Rulebook, chosen: Program) -> ParticipantCopies:
    """What the program's participant copies print: its name and its locale's crisis numbers."""
    return book.derived(
        ("participant-copies", chosen.id, chosen.sha256),
        lambda: ParticipantCopies(
            program_title=chosen.meta.title,
            crisis=book.crisis.contacts_for(chosen.meta.crisis_locale) if book.crisis is not None else None,
            view_ids={},
        ),
    )


def screen(
    intake: Intake | Mapping[str, Any],
    *,
    rulebook: Rulebook | None = None,
    engine: EngineName = "auto",
    today: dt.date | None = None,
    program: Any = None,
) -> Report:
    """Screen one intake against the rulebook and return the clinician's report.

    ``engine`` is 'auto' (the default: durable_rules and the reference evaluator both run and
    must agree, where durable_rules imports; the reference evaluator alone elsewhere),
    'cross-check' (both, required), or 'durable' / 'python' for one engine alone, which gives up
    the cross-check: a fault of that one engine would then go unnoticed.
    ``today`` fixes the date medication timing is counted to when the session has no planned
    date (for reproducible reports). ``program`` names a program in ``rules/programs/``
    (default: 'default', the rulebook as written); it is compiled once per rulebook and cached.
    """
    return _screen(intake, rulebook, engine, today, program)[0]


def screen_json(
    intake: Intake | Mapping[str, Any],
    *,
    rulebook: Rulebook | None = None,
    engine: EngineName = "auto",
    today: dt.date | None = None,
    program: Any = None,
) -> str:
    """:func:`screen`, returning the report's compact JSON (``report.to_json(indent=None)``):
    for batch output, from the serialisation its id is computed over, not a second one."""
    return _screen(intake, rulebook, engine, today, program)[1].decode("utf-8")


def _screen(
    intake: Intake | Mapping[str, Any],
    rulebook: Rulebook | None,
    engine: EngineName,
    today: dt.date | None,
    program: Any,
) -> tuple[Report, bytes]:
    parsed = parse_intake(intake, today=today)
    book, chosen = resolve(rulebook or rulebook_module.default(), program)
    runner = get_engine(book, engine)
    notice = _fallback_notice() if engine == "auto" and runner.name == "python" else None
    substance = parsed.session.substance.value
    is_duo = parsed.is_duo
    reference = parsed.session.planned_date or today or dt.date.today()
    asked, readers = asked_fields(book, substance, is_duo)
    participant_facts = facts.build(parsed, book.vocabulary, reference, asked)
    values = {pf.values.pid: pf.values for pf in participant_facts}
    firings = runner.fire([pf.values for pf in participant_facts], substance, is_duo)
    verified = runner.name != "durable_rules"  # the reference evaluator ran: each firing holds

    flags: dict[tuple[str, str], Flag] = {}
    lines = _Lines()
    for firing in sorted(firings, key=_firing_order):
        flag = _flag(book, firing, values, book.rule(firing.rule_id), verified, lines)
        key = (flag.rule_id, flag.participant)
        if key in flags:  # a pair rule that holds both ways round: one flag, both answers
            merged = list(dict.fromkeys(flags[key].evidence + flag.evidence))
            who = sorted(set(flags[key].participants) | set(flag.participants))
            flag = flags[key].model_copy(update={"evidence": merged, "participants": who})
        flags[key] = flag
    _combine(book, flags, list(values))
    order = {pid: i for i, pid in enumerate(values)}
    rule_ids = sorted({rule_id for rule_id, _ in flags})
    rules = {rule_id: report_rule(book, rule_id) for rule_id in rule_ids}
    ordered = sorted(
        flags.values(),
        key=lambda f: (-SEVERITY_ORDER[f.severity], order.get(f.participant, len(order)), rules[f.rule_id].category, f.rule_id),
    )
    missing = [
        _missing(book, pid, path, readers[path]) for pid, v in values.items() for path in v.notes["intake.unanswered_questions"]
    ]
    participants = list(values)
    found = findings.build(ordered, missing, participants, rules)
    rulebook_info, program_info = _book_info(book, chosen)
    fields: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "notice": NOTICE,
        "view": "clinician",
        "report_id": "",
        "intake_sha256": intake_sha256(parsed),
        "library_version": __version__,
        "engine": runner.name,
        "engine_notice": notice,
        "rulebook": rulebook_info,
        "program": program_info,
        "session": built(
            SessionInfo, {"substance": substance, "format": parsed.session.format, "reference_date": reference}, in_order=True
        ),
        "participants": participants,
        "rules": rules,
        "questions": _questions(ordered, missing),
        "flags": ordered,
        "missing_information": missing,
        "counts": severity_counts(ordered),
        "summary": findings.summarise(found, len(ordered)),
        "findings": found,
        "participant_copies": _copies(book, chosen),
        "language": None,
        "medications": as_read.medications_read(parsed, book.vocabulary, ordered),
        "answers": as_read.answers_overview(parsed, missing),
    }
    return identified(fields, _rules_json(book, rule_ids))
