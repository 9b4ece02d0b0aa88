"""Screen an intake: read and validate it, build facts, run the engine, write the report.

This is the one place the pieces meet; each step lives in its own module.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from . import conditions, facts, rulebook as rulebook_module
from .engine import EngineName, Firing, get_engine
from .errors import IntakeError, Problem
from .fields import catalogue
from .intake import Intake
from .report import NOTICE, EvidenceItem, Flag, MissingItem, Reference, Report, RulebookInfo, SessionInfo, _counts
from .rulebook import SEVERITY_ORDER, Rulebook

__all__ = ["screen", "parse_intake", "read_intake", "MAX_INTAKE_BYTES"]

MAX_INTAKE_BYTES = 1_000_000


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors or aliases: an intake cannot expand itself (no YAML bombs)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not accepted in an intake", event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(None, None, "YAML anchors are not accepted in an intake", event.start_mark)
        return super().compose_node(parent, index)


def read_intake(path: str | Path) -> Intake:
    """Read an intake from a JSON or YAML file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise IntakeError([Problem(str(path), None, f"cannot read the file: {error.strerror or error}")]) from None
    return parse_intake_text(raw, str(path))


def parse_intake_text(raw: bytes, where: str = "intake") -> Intake:
    if len(raw) > MAX_INTAKE_BYTES:
        raise IntakeError([Problem(where, None, f"the file is larger than {MAX_INTAKE_BYTES:,} bytes; an intake is far smaller")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise IntakeError([Problem(where, None, f"not UTF-8 text (byte {error.start})")]) from None
    try:
        if where.endswith(".json") or text.lstrip().startswith(("{", "[")):
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (safe loader subclass)
    except json.JSONDecodeError as error:
        raise IntakeError([Problem(where, error.lineno, f"not valid JSON: {error.msg}")]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise IntakeError([Problem(where, mark.line + 1 if mark else None, f"not valid YAML: {getattr(error, 'problem', None) or error}")]) from None
    except RecursionError:
        raise IntakeError([Problem(where, None, "nested too deeply to be an intake")]) from None
    return parse_intake(data, where)


def parse_intake(data: Any, where: str = "intake") -> Intake:
    """Validate intake data; every problem names its field. Answers are never quoted back."""
    if isinstance(data, Intake):
        return data
    if not isinstance(data, Mapping):
        raise IntakeError([Problem(where, None, "an intake is a mapping with 'session' and 'participants'")])
    try:
        return Intake.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_input=False, include_url=False):
            path = ".".join(str(p) for p in item["loc"]) or "(intake)"
            message = item["msg"].removeprefix("Value error, ")
            problems.append(Problem(path, None, message))
        raise IntakeError(problems) from None
    except RecursionError:
        raise IntakeError([Problem(where, None, "nested too deeply to be an intake")]) from None


def _asked(book: Rulebook, substance: str, is_duo: bool) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """The questions the applicable rules read, and which rules read each (once per rulebook)."""
    return book.derived(("asked", substance, is_duo), lambda: _find_asked(book, substance, is_duo))


def _find_asked(book: Rulebook, substance: str, is_duo: bool) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    readers: dict[str, list[str]] = {}
    for rule in book.active:
        if rule.applies(substance, is_duo):
            for _, path in conditions.fields_read(rule.condition):
                if catalogue()[path].kind != "count" and not catalogue()[path].session:
                    readers.setdefault(path, []).append(rule.id)
    return frozenset(readers), {k: tuple(v) for k, v in readers.items()}


def _most_serious(book: Rulebook, rule_ids: tuple[str, ...]) -> str:
    return max((book.rule(r).meta.severity for r in rule_ids), key=SEVERITY_ORDER.__getitem__, default="info")


def _library_version() -> str:
    from . import __version__

    return __version__


def _flag(book: Rulebook, firing: Firing, values: dict[str, conditions.Values], rule) -> Flag:
    if firing.other is None:
        sides = {None: values[firing.pid]}
    else:
        sides = {None: values[firing.pid], "self": values[firing.pid], "other": values[firing.other]}
    if not conditions.evaluate(rule.condition, sides):
        from .errors import EngineError

        raise EngineError(f"the engine fired {rule.id} but its condition does not hold; no result was produced")
    evidence = []
    for item in conditions.explain(rule.condition, sides):
        spec = catalogue().get(item.field)
        question = spec.question if spec else "Medications and other substances taken now or recently"
        answer = item.answer if isinstance(item.answer, (str, int, float)) or item.answer is None else str(item.answer)
        line = _medication_line(values[item.pid], answer) if item.field == "medications" else None
        evidence.append(EvidenceItem(participant=item.pid, field=item.field, question=question, answer=answer, line=line))
    evidence = list(dict.fromkeys(evidence))  # the same answer read twice is shown once
    return Flag(
        **_rule_texts(book, rule),
        participant="pair" if firing.other else firing.pid,
        participants=sorted({e.participant for e in evidence} | {firing.pid}),
        evidence=evidence,
    )


def _medication_line(values: conditions.Values, answer: Any) -> str | None:
    """The line(s) as written behind a medication answer, so two rules on one line are one finding."""
    for cls, names in values.medication_names.items():
        written = "; ".join(names)
        if str(answer).startswith(f"{written} ({values.class_labels.get(cls, cls)}; "):
            return written
    return None


def _rule_texts(book: Rulebook, rule) -> dict[str, Any]:
    """A flag's fixed parts, from its rule file: worked out once per rule, not per flag."""
    return book.derived(("texts", rule.id), lambda: _texts_of(rule.meta))


def _texts_of(meta) -> dict[str, Any]:
    return dict(
        rule_id=meta.id,
        title=meta.title,
        category=meta.category,
        severity=meta.severity,
        scope=meta.applies_to,
        summary=meta.summary,
        participant_text=" ".join(meta.participant_text.split()),
        # relationship answers are private by nature: never on a printed copy unless asked for
        participant_copy="on-request" if meta.category == "relationship" else meta.participant_copy,
        explanation=" ".join(meta.explanation.split()),
        clinician_action=" ".join(meta.clinician_action.split()),
        limitations=[" ".join(text.split()) for text in meta.limitations],
        references=[Reference(title=r.title, url=r.url, says=" ".join(r.says.split())) for r in meta.references],
        rule_status=meta.status,
    )


def screen(
    intake: Intake | Mapping[str, Any],
    *,
    rulebook: Rulebook | None = None,
    engine: EngineName = "auto",
    today: dt.date | None = None,
) -> Report:
    """Screen one intake against the rulebook and return the clinician's report.

    ``engine`` is 'auto' (the default: durable_rules and the reference evaluator both run and
    must agree, where durable_rules imports; the reference evaluator alone elsewhere),
    'cross-check' (both, required), or 'durable' / 'python' for one engine alone, which gives up
    the cross-check: a fault of that one engine would then go unnoticed.
    ``today`` fixes the date medication timing is counted to when the session has no planned
    date (for reproducible reports).
    """
    parsed = parse_intake(intake)
    book = rulebook or rulebook_module.default()
    runner = get_engine(book, engine)
    substance = parsed.session.substance.value
    is_duo = parsed.is_duo
    reference = parsed.session.planned_date or today or dt.date.today()
    asked, readers = _asked(book, substance, is_duo)
    participant_facts = facts.build(parsed, book.vocabulary, reference, asked)
    values = {pf.values.pid: pf.values for pf in participant_facts}
    firings = runner.fire([pf.values for pf in participant_facts], substance, is_duo)

    flags: dict[tuple[str, str], Flag] = {}
    for firing in sorted(firings):
        flag = _flag(book, firing, values, book.rule(firing.rule_id))
        key = (flag.rule_id, flag.participant)
        if key in flags:  # a pair rule that holds both ways round: one flag, both answers
            merged = list(dict.fromkeys(flags[key].evidence + flag.evidence))
            who = sorted(set(flags[key].participants) | set(flag.participants))
            flag = flags[key].model_copy(update={"evidence": merged, "participants": who})
        flags[key] = flag
    order = {pid: i for i, pid in enumerate(values)}
    ordered = sorted(
        flags.values(),
        key=lambda f: (-SEVERITY_ORDER[f.severity], order.get(f.participant, len(order)), f.category, f.rule_id),
    )
    missing = [
        MissingItem(participant=pid, field=path, question=catalogue()[path].question, needed_by=list(readers[path]),
                    severity=_most_serious(book, readers[path]))
        for pid, v in values.items()
        for path in v.notes["intake.unanswered_questions"]
    ]
    return Report(
        notice=NOTICE,
        view="clinician",
        library_version=_library_version(),
        engine=runner.name,
        rulebook=RulebookInfo(version=book.version, sha256=book.sha256, rules=len(book.active)),
        session=SessionInfo(substance=substance, format=parsed.session.format, reference_date=reference),
        participants=list(values),
        flags=ordered,
        missing_information=missing,
        counts=_counts(ordered),
    )
