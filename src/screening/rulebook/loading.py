"""Load and validate the rulebook: every rule file, the vocabularies and the example baseline.

All files are read and checked in one pass and every problem is reported together, each with
its file and line, what is wrong and how to fix it. The rulebook never loads half: any problem
raises :class:`RulebookError`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import pickle
import re
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Problem, RulebookError
from ..intake.fields import catalogue
from ..intake.medications import MedicationEntry, Vocabulary, remember
from ..intake.models import Substance
from . import conditions, wording
from . import parameters as parameters_module
from .conditions import Condition, ConditionError

__all__ = ["Rule", "Rulebook", "load", "default_rules_dir", "CATEGORIES"]

Category = Literal[
    "psychosis-risk",
    "mood-and-suicide",
    "pregnancy",
    "medication-interaction",
    "cardiovascular",
    "other-medical",
    "trauma-and-readiness",
    "relationship",
    "setting",
    "missing-information",
]
CATEGORIES: tuple[str, ...] = get_args(Category)
# What a rule's `substances:` may name: every substance a session can be planned with, or all.
SubstanceName = Literal["all", "psilocybin", "mdma", "ketamine", "lsd", "ayahuasca", "dmt"]
if set(get_args(SubstanceName)) != {"all", *(s.value for s in Substance)}:
    raise RuntimeError("rulebook.SubstanceName and intake.Substance name different substances")
STATUSES = {
    "draft": "Written from the cited sources and tested with its examples, not yet reviewed by a clinician. It runs.",
    "reviewed": "A named clinician reviewed its logic and text on the date given. It runs.",
    "deprecated": "Kept so old reports can be traced; it no longer runs.",
}
SEVERITIES = {
    "info": "Information or planning that a clinician should see (CDS Hooks 'info').",
    "warning": "Urgent or highly relevant information that a clinician should consider before the session (CDS Hooks 'warning').",
    "critical": "A finding the sources treat as a reason not to hold the session, for a clinician to address before anything else (CDS Hooks 'critical').",
}
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}

# Wording that decides for the clinician, or declares someone fit: see screening.rulebook.wording.
FORBIDDEN_WORDING = wording.FORBIDDEN_WORDING
DEFERENTIAL_VERBS = wording.DEFERENTIAL_VERBS
# What rulebook.yaml may hold; any other key is a mistake (a misspelt "version" would be ignored).
RULEBOOK_KEYS = frozenset({"version", "title", "maintainers", "statuses"})
# A participant reads their own copy: no instructions, no verdicts, no clinical shorthand.
PARTICIPANT_WORDING = [
    (
        re.compile(r"\byou (should|need to|have to|cannot|can't|may not)\b|\b(do not|don't|never|stop|avoid)\b", re.IGNORECASE),
        "tells the participant what to do",
    ),
    (
        re.compile(r"\b(unsafe|dangerous|contraindicat\w*|risky|not allowed|unsuitable|suitable)\b", re.IGNORECASE),
        "gives a verdict",
    ),
    (
        re.compile(r"\b(clinician action|mmHg|SSRI|MAOI|CYP\w*|QTc?|washout)\b|\[[A-Z]+\]", re.IGNORECASE),
        "uses clinical shorthand",
    ),
]
RULE_ID = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")


# ---------------------------------------------------------------------------- YAML with line numbers


class _LineDict(dict[Any, Any]):
    line: int | None = None
    key_lines: dict[Any, int]


class _LineList(list[Any]):
    line: int | None = None


# libyaml's parser when PyYAML was built with it: the pure-Python parser made loading the
# rulebook take about a second, most of a cold start. Construction stays in Python either way.
if TYPE_CHECKING:
    _SafeBase = yaml.SafeLoader  # the C loader has the same interface
else:
    _SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeBase):
    """Safe YAML that remembers lines and rejects duplicate keys and aliases.

    An alias makes the parser hand over the same node again; refusing the second visit stops
    alias expansion (a 1 KB "billion laughs" file took 10 s and 1.15 GB) at its first step.
    """

    def _once(self, node: yaml.Node) -> yaml.Node:
        seen = self.__dict__.setdefault("_seen_nodes", set())
        if id(node) in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not accepted in the rulebook; write the value out", node.start_mark
            )
        seen.add(id(node))
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _LineDict:
        mapping = _LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            self._once(key_node)
            self._once(value_node)
            key = self.construct_object(key_node, deep=True)
            if key in mapping:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> _LineList:
        seq = _LineList(self.construct_object(self._once(child), deep=True) for child in node.value)
        seq.line = node.start_mark.line + 1
        return seq


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


def _plain(data: Any) -> Any:
    """Drop the line bookkeeping: plain dicts and lists."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _line_at(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest node on a pydantic error location path."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = getattr(node, "key_lines", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
    return line


# ---------------------------------------------------------------------------- the rule model


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = Field(min_length=3)
    url: str = Field(pattern=r"^https?://\S+$")
    says: str = Field(min_length=10, description="What this source says that the rule rests on, in our words.")
    # Where in the source, how it was read and when: optional so far; `rules check` counts the gaps.
    locator: str | None = Field(
        None, min_length=2, description="Section, table or page, e.g. 'OAR 333-333-5050(3)(a)', 'Table 1', 'p. 607'."
    )
    kind: Literal["primary", "secondary"] | None = Field(
        None, description="primary: the document itself; secondary: a reproduction, review or summary of it."
    )
    accessed: dt.date | None = Field(None, description="The date the source was read (YYYY-MM-DD).")


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=3)
    expect: Literal["flag", "no-flag"]
    session: dict[str, Any] = Field(default_factory=dict)
    participant: dict[str, Any] = Field(default_factory=dict)
    other: dict[str, Any] | None = None


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=RULE_ID.pattern)
    title: str = Field(min_length=5, max_length=100)
    category: Category
    status: Literal["draft", "reviewed", "deprecated"]
    reviewed_by: str | None = None
    severity: Literal["info", "warning", "critical"]
    applies_to: Literal["participant", "pair", "session"]
    substances: list[SubstanceName] = Field(min_length=1)
    when: Any
    summary: str = Field(min_length=10, max_length=139)
    explanation: str = Field(min_length=20)
    clinician_action: str = Field(min_length=10)
    participant_text: str = Field(
        min_length=10, max_length=240, description="One or two plain sentences addressed to the participant."
    )
    participant_copy: Literal["shown", "on-request"] = "shown"
    limitations: list[str] = Field(min_length=1)
    references: list[Reference] = Field(min_length=1)
    override_reasons: list[str] = Field(default_factory=list)
    program_only: bool = Field(False, description="Runs only where a program's `enable:` names it.")
    written: dt.date
    reviewed: dt.date | None = None
    examples: list[Example] = Field(min_length=2)


_T = TypeVar("_T")


@dataclass(frozen=True)
class Rule:
    """A validated rule: its metadata, its parsed condition and where it came from."""

    meta: RuleFile
    condition: Condition  # the rule's own `when:`
    guarded: Condition  # with the substance and duo guards the engine also applies
    path: str  # relative to the rules folder
    line_of: dict[str, int] = field(default_factory=dict, compare=False)
    # The parameters the rule reads (in `when:` or as ${name} in its texts), and its file as
    # written, before they were filled in: a program compiles the rule again from it.
    params: frozenset[str] = frozenset()
    template: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    uses: dict[str, Any] = field(default_factory=dict, compare=False)  # named conditions it uses, as written

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def substances(self) -> tuple[str, ...]:
        if "all" in self.meta.substances:
            return tuple(s.value for s in Substance)
        return tuple(self.meta.substances)

    @property
    def duo_only(self) -> bool:
        return self.meta.applies_to == "pair" or any(
            catalogue()[path].duo_only for _, path in conditions.fields_read(self.condition)
        )

    def applies(self, substance: str, is_duo: bool) -> bool:
        return substance in self.substances and (is_duo or not self.duo_only)


def _guarded(meta: RuleFile, condition: Condition, duo_only: bool) -> Condition:
    guards: list[Condition] = []
    if "all" not in meta.substances:
        guards.append(conditions.Leaf("in", "session.substance", tuple(meta.substances)))
    if duo_only:
        guards.append(conditions.Leaf("is", "session.format", "duo"))
    return conditions.Branch("all", (*guards, condition)) if guards else condition


# ---------------------------------------------------------------------------- the rulebook


@dataclass(eq=False)
class Rulebook:
    root: Path
    version: str
    sha256: str
    rules: list[Rule]
    vocabulary: Vocabulary
    baseline: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, parameters_module.Parameter] = field(default_factory=dict)
    program: Any = None  # the Program this rulebook was compiled for (None: the base rulebook)
    reviews: list[Any] = field(default_factory=list)  # review.ReviewRecord, in file order
    named: dict[str, Any] = field(default_factory=dict)  # rules/conditions.yaml: name -> when tree
    crisis: Any = None  # crisis.CrisisFile: the numbers a participant's copy gives when harm is reported
    combinations: list[Any] = field(default_factory=list)  # combinations.Combination, in dependency order
    # Derived data computed once per rulebook (what each substance reads, flag texts...):
    # screening reads it many times and a rulebook does not change once loaded.
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def active(self) -> list[Rule]:
        return [r for r in self.rules if r.meta.status != "deprecated" and not r.meta.program_only]

    @cached_property
    def _by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}

    def rule(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    def derived(self, key: Any, make: Callable[[], _T]) -> _T:
        """``make()``, computed once per rulebook and key (see ``memo``)."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]  # type: ignore[no-any-return]  # stored by make() for this key

    def remembered(self, kind: str, key: Any, make: Callable[[], _T]) -> _T:
        """``make()``, remembered with this rulebook under ``kind`` and ``key`` for later
        screenings, bounded (unlike ``derived``: participant ids and answers are open-ended)."""
        cache: dict[Any, _T] = self.memo.setdefault(("remembered", kind), {})
        return remember(cache, key, lambda _key: make())

    def forget_remembered(self) -> None:
        """Forget what :meth:`remembered` and the vocabulary keep: the next screening costs what a first one does."""
        for key, kept in list(self.memo.items()):
            if isinstance(key, tuple) and key[:1] == ("remembered",):
                kept.clear()
        self.vocabulary.forget()

    def example_intake(self, rule: Rule, example: Example) -> dict[str, Any]:
        """The intake an example describes: the baseline with the example's answers on top."""
        duo = example.other is not None or rule.duo_only or example.session.get("format") == "duo"
        session = copy.deepcopy(self.baseline["session"])
        session["format"] = "duo" if duo else "individual"
        if "substance" not in example.session and session["substance"] not in rule.substances:
            session["substance"] = rule.substances[0]
        merge_answers(session, dict(example.session))
        first = copy.deepcopy(self.baseline["participant"])
        participants = [first]
        if duo:
            second = copy.deepcopy(first)
            second["participant_id"] = "B"
            for person in (first, second):
                person["relationship"] = copy.deepcopy(self.baseline["relationship"])
            merge_answers(second, dict(example.other or {}))
            participants.append(second)
        merge_answers(first, dict(example.participant))
        return {"session": session, "participants": participants}


def merge_answers(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_answers(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def default_rules_dir() -> Path:
    """The rules shipped in the wheel, else the checkout's top-level rules/ (editable installs)."""
    packaged = resources.files("screening").joinpath("rules")
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "rules"
    if checkout.is_dir():
        return checkout
    raise RulebookError([Problem(str(checkout), None, "the rules folder was not found; reinstall the package")])


def _read_yaml(path: Path, root: Path, problems: list[Problem]) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark else None
        problems.append(Problem(_rel(path, root), line, f"not valid YAML: {getattr(error, 'problem', error)}"))
    except UnicodeDecodeError:
        problems.append(Problem(_rel(path, root), None, "not UTF-8 text"))
    except ValueError as error:  # a date YAML reads as one but that does not exist (2026-13-40)
        line = _bad_date_line(path.read_text(encoding="utf-8"))
        problems.append(Problem(_rel(path, root), line, f"not a valid date ({error}); write YYYY-MM-DD"))
    return None


_DATE_LIKE = re.compile(r"(?<![\w.-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w.-])")


def _bad_date_line(text: str) -> int | None:
    """The first line holding something YAML reads as a date but that is no date."""
    for number, line in enumerate(text.splitlines(), 1):
        for match in _DATE_LIKE.finditer(line):
            try:
                dt.date(*map(int, match.groups()))
            except ValueError:
                return number
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _load_vocabulary(root: Path, problems: list[Problem]) -> Vocabulary:
    path = root / "vocabularies" / "medications.yaml"
    data = _read_yaml(path, root, problems) if path.exists() else None
    if not isinstance(data, dict):
        problems.append(Problem(_rel(path, root), None, "the medication vocabulary is missing or empty"))
        return Vocabulary({}, [])
    classes = _plain(data.get("classes") or {})
    entries = []
    rel = _rel(path, root)
    for cls, spec in classes.items():
        if not re.match(r"^[a-z][a-z0-9_]*$", str(cls)):
            problems.append(
                Problem(rel, data["classes"].key_lines.get(cls), f"class id {cls!r}: use lower case letters, digits and _")
            )
        if not isinstance(spec, dict) or not spec.get("label") or not spec.get("source"):
            problems.append(Problem(rel, data["classes"].key_lines.get(cls), f"class {cls!r} needs a label and a source"))
    for item in data.get("medications") or []:
        line = getattr(item, "line", None)
        if not isinstance(item, dict) or not item.get("generic") or not item.get("classes") or not item.get("source"):
            problems.append(Problem(rel, line, "each medication needs generic, classes and source"))
            continue
        extra = set(item) - {"generic", "brands", "aliases", "classes", "source", "note"}
        if extra:
            problems.append(Problem(rel, line, f"unknown medication keys: {', '.join(sorted(extra))}"))
        for cls in item["classes"]:
            if cls not in classes:
                problems.append(
                    Problem(rel, line, f"{item['generic']}: unknown class {cls!r}{conditions._suggest(str(cls), list(classes))}")
                )
        entries.append(
            MedicationEntry(
                generic=str(item["generic"]),
                brands=tuple(str(b) for b in item.get("brands") or ()),
                aliases=tuple(str(a) for a in item.get("aliases") or ()),
                classes=tuple(item["classes"]),
                source=str(item["source"]),
            )
        )
    vocabulary = Vocabulary(classes, entries)
    for name, first, second in vocabulary.index_conflicts():
        problems.append(Problem(rel, None, f"the name {name!r} is claimed by both {first} and {second}"))
    return vocabulary


def _check_wording(meta: RuleFile, rel: str, lines: dict[str, int], problems: list[Problem]) -> None:
    texts = {
        "title": meta.title,
        "summary": meta.summary,
        "explanation": meta.explanation,
        "clinician_action": meta.clinician_action,
        "participant_text": meta.participant_text,
    }
    for i, limitation in enumerate(meta.limitations):
        texts[f"limitations[{i}]"] = limitation
    for i, reason in enumerate(meta.override_reasons):
        texts[f"override_reasons[{i}]"] = reason
    for name, what, words in wording.problems(texts):
        problems.append(
            Problem(
                rel,
                lines.get(name.split("[")[0]),
                f"{name} {what} ({words!r}): rules support a clinician's judgement; say what to consider or review instead",
            )
        )
    participant_text = wording.normalised(meta.participant_text)
    for pattern, what in PARTICIPANT_WORDING:
        hit = pattern.search(participant_text)
        if hit:
            problems.append(
                Problem(
                    rel,
                    lines.get("participant_text"),
                    f"participant_text {what} ({hit.group(0)!r}): "
                    "say in plain words what will be talked through with the facilitator",
                )
            )
    if not DEFERENTIAL_VERBS.search(wording.normalised(meta.clinician_action)):
        problems.append(
            Problem(
                rel,
                lines.get("clinician_action"),
                "clinician_action should suggest what to review (consider, review, discuss, confirm, ...)",
            )
        )


def _check_directives(meta: RuleFile, rel: str, lines: dict[str, int], problems: list[Problem]) -> None:
    """Directive and verdict phrasing with a suggested fix (wording.DIRECTIVES), in every text in
    the rule's own voice; a text the deny-list already refused is reported once, by it."""
    texts = {
        "title": meta.title,
        "summary": meta.summary,
        "explanation": meta.explanation,
        "clinician_action": meta.clinician_action,
    }
    texts.update({f"limitations[{i}]": t for i, t in enumerate(meta.limitations)})
    texts.update({f"override_reasons[{i}]": t for i, t in enumerate(meta.override_reasons)})
    texts.update({f"examples[{i}].name": e.name for i, e in enumerate(meta.examples)})
    refused = {name for name, _, _ in wording.problems(texts)}
    for name, text in texts.items():
        if name in refused:
            continue
        for message in wording.directive_problems(text, name.split("[")[0] in wording.QUOTING_ALLOWED):
            problems.append(Problem(rel, lines.get(name.split("[")[0]), f"{name}: {message}"))


def _check_unfinished(meta: RuleFile, rel: str, lines: dict[str, int], problems: list[Problem]) -> None:
    """A scaffold's TODOs and a date still to come are not a finished rule."""
    texts = meta.model_dump(
        mode="json",
        include={
            "title",
            "participant_text",
            "summary",
            "explanation",
            "clinician_action",
            "limitations",
            "references",
            "examples",
        },
    )
    for key, value in texts.items():
        if "TODO" in str(value):
            problems.append(Problem(rel, lines.get(key), f"{key} still holds a TODO from the scaffold; write it"))
    today = dt.date.today()
    for key in ("written", "reviewed"):
        day = getattr(meta, key)
        if day is not None and day > today:
            problems.append(Problem(rel, lines.get(key), f"{key}: {day} is in the future"))
    for i, ref in enumerate(meta.references):
        if ref.accessed is not None and ref.accessed > today:
            problems.append(Problem(rel, lines.get("references"), f"references[{i}].accessed: {ref.accessed} is in the future"))


def _load_named(root: Path, vocabulary: Vocabulary, problems: list[Problem]) -> dict[str, Any]:
    """``rules/conditions.yaml``: named conditions that rules reuse with ``use: NAME``."""
    path = root / NAMED_FILE
    if not path.exists():
        return {}
    data = _read_yaml(path, root, problems)
    if data is None:
        return {}
    if not isinstance(data, _LineDict):
        problems.append(Problem(NAMED_FILE, 1, "holds a mapping of NAME: {description, when}"))
        return {}
    named = {}
    for name, spec in data.items():
        line = data.key_lines.get(name)
        if not re.match(r"^[a-z][a-z0-9_]*$", str(name)):
            problems.append(Problem(NAMED_FILE, line, f"condition name {name!r}: use lower case letters, digits and _"))
        if not isinstance(spec, dict) or set(spec) != {"description", "when"} or not str(spec.get("description", "")).strip():
            problems.append(Problem(NAMED_FILE, line, f"{name}: give a description (what it means, in plain words) and a when"))
            continue
        named[str(name)] = spec["when"]
        for message in wording.directive_problems(str(spec["description"])):
            problems.append(Problem(NAMED_FILE, line, f"{name}.description: {message}"))
    for name, when in named.items():
        try:
            conditions.parse(when, classes=frozenset(vocabulary.classes), named=named, _using=(name,))
        except ConditionError as error:
            problems.append(Problem(NAMED_FILE, error.line or data.key_lines.get(name), f"{name}: {error}"))
    return named


NAMED_FILE = "conditions.yaml"


def _uses(node: Any, named: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """The named conditions a ``when:`` uses, directly or through another named condition."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "use" and isinstance(value, str) and value in named and value not in found:
                found[value] = _plain(named[value])
                _uses(named[value], named, found)
            else:
                _uses(value, named, found)
    elif isinstance(node, list):
        for item in node:
            _uses(item, named, found)
    return found


TEXT_FIELDS = ("title", "summary", "explanation", "clinician_action", "participant_text", "limitations")


def _fill_texts(data: dict[str, Any], values: dict[str, Any], used: set[str]) -> dict[str, Any]:
    """The rule's texts with ${name} filled in from the parameter values."""
    out = dict(data)
    for key in TEXT_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = parameters_module.fill_text(out[key], values, used)
        elif key == "limitations" and isinstance(out.get(key), list):
            out[key] = [parameters_module.fill_text(t, values, used) if isinstance(t, str) else t for t in out[key]]
    return out


def _load_rule(
    path: Path,
    root: Path,
    vocabulary: Vocabulary,
    problems: list[Problem],
    values: dict[str, Any] | None = None,
    data: Any = None,
    named: dict[str, Any] | None = None,
) -> Rule | None:
    """Read and check one rule file; ``values`` are the parameter values its `when:` and texts read."""
    rel = _rel(path, root)
    values = values or {}
    if data is None:
        data = _read_yaml(path, root, problems)
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.append(Problem(rel, 1, "a rule file holds one mapping (id, title, category, ...)"))
        return None
    lines = getattr(data, "key_lines", {})
    meta = None
    used: set[str] = set()
    plain = _plain(data)
    try:
        filled = _fill_texts(plain, values, used)
    except KeyError as error:
        name = str(error.args[0])
        where = next((k for k in TEXT_FIELDS if f"${{{name}}}" in str(plain.get(k, ""))), None)
        problems.append(
            Problem(
                rel,
                lines.get(where),
                f"{where or 'a text'}: unknown parameter ${{{name}}}{conditions._suggest(name, sorted(values))}; parameters are defined in rules/parameters.yaml",
            )
        )
        return None
    try:
        meta = RuleFile.model_validate(filled)
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"])
            hint = ""
            if item["type"] == "extra_forbidden":
                hint = conditions._suggest(str(item["loc"][-1]), list(RuleFile.model_fields))
            problems.append(Problem(rel, _line_at(data, item["loc"]), f"{where}: {item['msg']}{hint}"))
    try:
        when = parameters_module.substitute(data.get("when"), values, used)
        condition = conditions.parse(
            when, pair=data.get("applies_to") == "pair", classes=frozenset(vocabulary.classes), named=named
        )
    except ConditionError as error:
        problems.append(Problem(rel, error.line or lines.get("when"), f"when: {error}"))
        return None
    if meta is None:
        return None
    category_folder = path.parent.name
    if category_folder != meta.category:
        problems.append(
            Problem(
                rel,
                lines.get("category"),
                f"category {meta.category!r} but the file is in {category_folder}/; move it to rules/{meta.category}/",
            )
        )
    if meta.status == "reviewed" and not (meta.reviewed and meta.reviewed_by):
        problems.append(Problem(rel, lines.get("status"), "a reviewed rule names reviewed_by and the reviewed date"))
    kinds = {e.expect for e in meta.examples}
    if kinds != {"flag", "no-flag"}:
        problems.append(
            Problem(
                rel,
                lines.get("examples"),
                "examples need at least one case that must flag and one that must not (expect: flag / no-flag)",
            )
        )
    _check_wording(meta, rel, lines, problems)
    _check_unfinished(meta, rel, lines, problems)
    _check_directives(meta, rel, lines, problems)
    read = [p for _, p in conditions.fields_read(condition)]
    session_only = bool(read) and all(catalogue()[p].session for p in read)
    if meta.applies_to == "session" and not session_only:
        problems.append(
            Problem(
                rel,
                lines.get("applies_to"),
                "applies_to: session reads only session.* fields (the shared plan); "
                "use participant for a rule on a person's answers",
            )
        )
    elif meta.applies_to == "participant" and session_only:
        problems.append(
            Problem(
                rel,
                lines.get("applies_to"),
                "this rule reads only the session plan: use applies_to: session, "
                "so a duo gets one finding, not one per participant",
            )
        )
    if meta.applies_to == "pair":
        problem = _pair_shape_problem(condition)
        if problem:
            problems.append(Problem(rel, lines.get("when"), f"when: {problem}"))
            return None
    duo_only = meta.applies_to == "pair" or any(catalogue()[p].duo_only for _, p in conditions.fields_read(condition))
    template = data if used else None
    uses = dict(sorted(_uses(data.get("when"), named or {}, {}).items()))
    return Rule(meta, condition, _guarded(meta, condition, duo_only), rel, dict(lines), frozenset(used), template, uses)


def _pair_shape_problem(condition: Condition) -> str | None:
    """A pair rule is an `all` whose items each read one side (self or other)."""
    items = condition.items if isinstance(condition, conditions.Branch) and condition.op == "all" else (condition,)
    for item in items:
        if len(conditions.sides_read(item)) > 1:
            return f"each item of a pair rule's 'all' reads either self. or other., not both ({item})"
    if "self" not in {s for item in items for s in conditions.sides_read(item)}:
        return "a pair rule reads at least one self. field"
    return None


def _hash(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: _rel(p, root)):
        digest.update(_rel(path, root).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _rule_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*.yaml") if p.parent != root and p.parent.name not in ("vocabularies", "programs", "interactions")
    )


def _load_parameters(root: Path, problems: list[Problem]) -> dict[str, parameters_module.Parameter]:
    path = root / "parameters.yaml"
    if not path.exists():
        return {}
    data = _read_yaml(path, root, problems)
    return parameters_module.parse_parameters(data, problems, "parameters.yaml", Problem) if data is not None else {}


def load(root: str | Path | None = None) -> Rulebook:
    """Read and validate the whole rulebook; raise RulebookError listing every problem."""
    root = Path(root) if root is not None else default_rules_dir()
    problems: list[Problem] = []
    if not root.is_dir():
        raise RulebookError([Problem(str(root), None, "not a folder")])
    meta_path = root / "rulebook.yaml"
    raw_meta = _read_yaml(meta_path, root, problems) if meta_path.exists() else None
    meta = _plain(raw_meta)
    if not isinstance(meta, dict) or not meta.get("version"):
        problems.append(Problem("rulebook.yaml", None, "rulebook.yaml with a 'version' is required"))
        meta = {"version": "unknown"}
    for key in meta:
        if key not in RULEBOOK_KEYS:
            line = raw_meta.key_lines.get(key) if isinstance(raw_meta, _LineDict) else None
            hint = conditions._suggest(str(key), sorted(RULEBOOK_KEYS))
            problems.append(
                Problem(
                    "rulebook.yaml", line, f"unknown key {key!r}{hint}; rulebook.yaml holds {', '.join(sorted(RULEBOOK_KEYS))}"
                )
            )
    baseline_path = root / "baseline.yaml"
    baseline = _plain(_read_yaml(baseline_path, root, problems)) if baseline_path.exists() else None
    if not isinstance(baseline, dict) or set(baseline) != {"session", "participant", "relationship"}:
        problems.append(
            Problem("baseline.yaml", None, "baseline.yaml holds the example baseline: session, participant and relationship")
        )
        baseline = {}
    vocabulary = _load_vocabulary(root, problems)
    params = _load_parameters(root, problems)
    defaults = {name: p.default for name, p in params.items()}
    named = _load_named(root, vocabulary, problems)
    crisis = _load_crisis(root, problems)
    rules = []
    seen: dict[str, str] = {}
    for path in _rule_files(root):
        rule = _load_rule(path, root, vocabulary, problems, defaults, named=named)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append(Problem(rule.path, rule.line_of.get("id"), f"duplicate id {rule.id!r}: also in {seen[rule.id]}"))
        seen[rule.id] = rule.path
        rules.append(rule)
    from .review_records import read_records

    reviews = read_records(root, set(seen), problems)
    combos = _load_combinations(root, set(seen), problems)
    if problems:
        raise RulebookError(problems)
    # Programs are not part of the rulebook's identity: a report names its program and that
    # program's own hash.
    files = [meta_path, baseline_path, *(p for p in root.rglob("*.yaml") if "programs" not in p.relative_to(root).parts[:-1])]
    return Rulebook(
        root=root,
        version=str(meta["version"]),
        sha256=_hash(root, list(set(files))),
        rules=sorted(rules, key=lambda r: r.id),
        vocabulary=vocabulary,
        baseline=baseline,
        meta=meta,
        parameters=params,
        reviews=reviews,
        named=named,
        crisis=crisis,
        combinations=combos,
    )


def _load_combinations(root: Path, rule_ids: set[str], problems: list[Problem]) -> list[Any]:
    """rules/combinations.yaml (optional): findings over other rules' flags, validated."""
    from .combinations import COMBINATIONS_FILE, parse_combinations

    path = root / COMBINATIONS_FILE
    if not path.exists():
        return []
    data = _plain(_read_yaml(path, root, problems))
    combos = parse_combinations(data, rule_ids, problems) if data is not None else []
    for combination in combos:
        if combination.category not in get_args(Category):
            problems.append(Problem(COMBINATIONS_FILE, None, f"{combination.id}: unknown category {combination.category!r}"))
    return combos


def _load_crisis(root: Path, problems: list[Problem]) -> Any:
    """rules/crisis-contacts.yaml, validated: a harm point's copy never prints an unsourced number."""
    from .crisis import CRISIS_FILE, parse_crisis_file

    path = root / CRISIS_FILE
    if not path.exists():
        problems.append(Problem(CRISIS_FILE, None, "the crisis contacts file is missing (a participant's copy needs it)"))
        return None
    data = _plain(_read_yaml(path, root, problems))
    return parse_crisis_file(data, problems) if data is not None else None


@cache
def default() -> Rulebook:
    """The shipped rulebook, loaded once per process (from the validated-rulebook cache when
    it holds this exact rulebook, see :func:`load_cached`)."""
    return load_cached(default_rules_dir())


# ---------------------------------------------------------------------------- the validated-rulebook cache
#
# Validating the rulebook (YAML, pydantic, wording checks) took most of a cold start. A rulebook
# that loaded without a problem is kept as a pickle in the user's cache folder, under a key made
# of everything its validation read: the bytes of every file under the rules folder and its
# path, the library's own source (so a changed check never trusts an old verdict), the Python,
# pydantic and PyYAML versions, and today's date (the checks refuse dates in the future). Any
# doubt - no file, another key, a file not owned by this user or writable by others, an error
# while reading it, an object that is not this rulebook - and the rulebook is loaded from YAML.

CACHE_ENV = "SCREENING_RULEBOOK_CACHE"  # a folder to keep the cache in, or "off"
_CACHE_FORMAT = b"screening-rulebook-cache-1"


def _cache_folder() -> Path | None:
    setting = os.environ.get(CACHE_ENV, "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "screening"


def _cache_key(root: Path) -> str:
    import pydantic

    digest = hashlib.sha256(_CACHE_FORMAT)
    for part in (str(root.resolve()), sys.version, pydantic.VERSION, yaml.__version__, dt.date.today().isoformat()):
        digest.update(part.encode() + b"\0")
    package = Path(__file__).resolve().parents[1]  # the whole screening package
    for tree, pattern in ((package, "*.py"), (root, "*")):
        for path in sorted(p for p in tree.rglob(pattern) if p.is_file()):
            digest.update(path.relative_to(tree).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_cached(root: str | Path | None = None) -> Rulebook:
    """:func:`load`, through the validated-rulebook cache: the same Rulebook, validated by the
    same code from the same bytes, without reading the YAML again."""
    root = Path(root) if root is not None else default_rules_dir()
    folder = _cache_folder()
    if folder is None or not root.is_dir():
        return load(root)
    try:
        key = _cache_key(root)
    except OSError:
        return load(root)
    path = folder / f"rulebook-{key}.pickle"
    trusted = _trusted_folder(folder)
    book = _read_cache(path, root) if trusted else None
    if book is not None:
        return book
    book = load(root)
    if trusted:
        _write_cache(folder, path, book)
    return book


_warned_folders: set[Path] = set()


def _trusted_folder(folder: Path) -> bool:
    """The cache folder is used only when it is this user's own and no one else may write in it
    (another user's file there could be unpickled); else one line on stderr and no cache."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.stat(folder)
    except OSError:
        return False
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022:
        return True
    if folder not in _warned_folders:
        _warned_folders.add(folder)
        print(
            f"screening: rulebook cache {folder} skipped: it must be your own folder, writable by no one else "
            f"(set {CACHE_ENV} to such a folder, or to off)",
            file=sys.stderr,
        )
    return False


def _read_cache(path: Path, root: Path) -> Rulebook | None:
    try:  # never through a symlink, only this user's own regular file that no one else may write
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)), "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None
            book = pickle.load(file)
    except Exception:  # noqa: BLE001 (no cache, or a damaged one: load from YAML)
        return None
    if not isinstance(book, Rulebook) or book.root != root:
        return None
    for rule in book.rules:  # what parsing registers: the counts the durable facts carry
        for leaf in conditions.walk(rule.condition):
            if leaf.op == conditions.COUNT:
                conditions._register(leaf)
    for name, when in book.named.items():
        conditions.parse(when, classes=frozenset(book.vocabulary.classes), named=book.named, _using=(name,))
    return book


def _write_cache(folder: Path, path: Path, book: Rulebook) -> None:
    """Keep the rulebook for the next process; a cache that cannot be written is no error."""
    memo, book.memo = book.memo, {}
    active = book.__dict__.pop("active", None)
    import tempfile

    written = None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rulebook-", delete=False) as file:
            written = Path(file.name)
            pickle.dump(book, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(written, path)
        written = None
        for old in folder.glob("rulebook-*.pickle"):  # older ones (another day, other rules) go
            if old != path and old.stat().st_mtime < time.time() - 3600:
                old.unlink(missing_ok=True)
    except Exception:  # noqa: BLE001, S110 (a cache that cannot be written is no error)
        pass
    finally:
        if written is not None:
            written.unlink(missing_ok=True)
        book.memo = memo
        if active is not None:
            book.__dict__["active"] = active
