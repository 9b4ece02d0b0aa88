"""The decided interaction matrix: for every medication class and session substance, the rules
that check it, or the rulebook's recorded decision that no rule is needed and why.

A blank cell would let a new class or a widened rule scope pass unnoticed, so the decisions are
data beside the rules (``rules/interactions/decisions.yaml``) and :func:`problems` names every
cell that is undecided, decided twice, or decided on grounds that do not hold. The TripSit
expectations (``rules/interactions/tripsit-pairs.yaml``) are read here too, for the docs and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Problem, RulebookError
from ..intake.models import Substance
from . import conditions
from .loading import _plain, _read_yaml

__all__ = ["Cell", "SUBSTANCES", "matrix", "problems", "readers", "washouts", "tripsit_pairs"]

SUBSTANCES = tuple(s.value for s in Substance)
GROUPS = {"classic": ("psilocybin", "lsd", "dmt")}
KINDS = ("covered_by", "none_known", "no_source_found")


@dataclass(frozen=True)
class Cell:
    """One class x substance decision: ``rules`` (ids), ``covered_by``, ``none_known`` or ``no_source_found``."""

    kind: str
    rules: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # covered_by
    text: str = ""  # what the source says, or why no source
    source: str = ""
    url: str = ""


def _read(path: Path) -> dict[str, Any]:
    """The file read as strictly as a rule file (duplicate keys and aliases are errors)."""
    if not path.exists():
        return {}
    problems: list[Problem] = []
    data = _read_yaml(path, path.parent.parent, problems)
    if problems:
        raise RulebookError(problems)
    return _plain(data) if isinstance(data, dict) else {}


def decisions_file(book: Any) -> Path:
    return Path(book.root) / "interactions" / "decisions.yaml"


def readers(book: Any) -> dict[tuple[str, str], tuple[str, ...]]:
    """(class, substance) -> the active interaction rules that check whether that class is being
    taken. A rule of another category that reads the list (a medicine that implies an undeclared
    diagnosis) says nothing about an interaction, so it neither fills nor contradicts a cell."""
    found: dict[tuple[str, str], set[str]] = {}
    for rule in book.active:
        if rule.meta.category != "medication-interaction":
            continue
        for leaf in conditions.walk(rule.condition):
            if leaf.op == "taking":
                classes: tuple[str, ...] = (leaf.field,)
            elif leaf.op == conditions.COUNT:  # counts and two-sided windows read their classes too
                classes = tuple(leaf.field[1])
            else:
                continue
            for cls in classes:
                for substance in rule.substances:
                    found.setdefault((cls, substance), set()).add(rule.id)
    return {key: tuple(sorted(ids)) for key, ids in found.items()}


def _explicit(book: Any) -> tuple[dict[tuple[str, str], tuple[str, dict[str, Any]]], list[str]]:
    """Decisions as written: (class, substance) -> (the key it was written under, the decision)."""
    data = _read(decisions_file(book))
    sources = data.get("sources") or {}
    out: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    errors: list[str] = []
    for cls, by_key in (data.get("decisions") or {}).items():
        if cls not in book.vocabulary.classes:
            errors.append(
                f"decisions: {cls!r} is not a vocabulary class{conditions._suggest(str(cls), list(book.vocabulary.classes))}"
            )
            continue
        for key, decision in (by_key or {}).items():
            if key != "all" and key not in GROUPS and key not in SUBSTANCES:
                errors.append(f"decisions.{cls}: {key!r} is not a substance, 'classic' or 'all'")
                continue
            decision = dict(decision or {})
            if isinstance(decision.get("source"), str) and decision["source"] in sources:
                named = sources[decision["source"]]
                decision["source"], decision["url"] = named.get("title", ""), named.get("url", "")
            kinds = [k for k in KINDS if k in decision]
            if len(kinds) != 1:
                errors.append(f"decisions.{cls}.{key}: give exactly one of {', '.join(KINDS)}")
                continue
            if kinds[0] == "none_known" and not (decision.get("source") and decision.get("url")):
                errors.append(f"decisions.{cls}.{key}: a 'none_known' decision names its source and url")
            for substance in SUBSTANCES if key == "all" else GROUPS.get(key, (key,)):
                if key != "all" or (cls, substance) not in out:
                    if (cls, substance) in out and out[(cls, substance)][0] != "all":
                        errors.append(f"decisions.{cls}: {substance} is decided twice")
                    out[(cls, substance)] = (key, decision)
    return out, errors


def matrix(book: Any) -> dict[tuple[str, str], Cell | None]:
    """Every (class, substance): the rules that read it, else the recorded decision, else None."""
    rules = readers(book)
    explicit, _ = _explicit(book)
    cells: dict[tuple[str, str], Cell | None] = {}
    for cls in sorted(book.vocabulary.classes):
        for substance in SUBSTANCES:
            if (cls, substance) in rules:
                cells[(cls, substance)] = Cell("rules", rules=rules[(cls, substance)])
                continue
            written = explicit.get((cls, substance))
            if written is None:
                cells[(cls, substance)] = None
                continue
            decision = written[1]
            kind = next(k for k in KINDS if k in decision)
            if kind == "covered_by":
                cells[(cls, substance)] = Cell(kind, classes=tuple(decision["covered_by"]), text=str(decision.get("note", "")))
            else:
                cells[(cls, substance)] = Cell(
                    kind, text=str(decision[kind]), source=str(decision.get("source", "")), url=str(decision.get("url", ""))
                )
    return cells


def problems(book: Any) -> list[str]:
    """Every undecided cell, contradiction and unfounded decision, as sentences; empty when decided."""
    rules = readers(book)
    explicit, errors = _explicit(book)
    for (cls, substance), (key, decision) in sorted(explicit.items()):
        if (cls, substance) in rules and key != "all":
            errors.append(
                f"decisions.{cls}.{key}: {substance} is read by {', '.join(rules[(cls, substance)])}; "
                "remove the decision or the rule"
            )
        if "covered_by" in decision and (cls, substance) not in rules:
            covering = [c for c in decision["covered_by"] if (c, substance) in rules]
            for entry in book.vocabulary.entries:
                if cls in entry.classes and not set(entry.classes) & set(covering):
                    errors.append(
                        f"decisions.{cls}.{key}: {entry.generic} has none of {decision['covered_by']} "
                        f"read by a rule for {substance}"
                    )
    for (cls, substance), cell in matrix(book).items():
        if cell is None:
            errors.append(f"{cls} x {substance}: undecided (add a rule, or a decision in rules/interactions/decisions.yaml)")
    return errors


def washouts(book: Any) -> list[dict[str, Any]]:
    """The time windows a source gives per class and substance (days), for the washout walk."""
    return list(_read(decisions_file(book)).get("washouts") or [])


def tripsit_pairs(book: Any) -> dict[str, Any]:
    """The TripSit expectations: pairs per substance and rating, names as written, accepted exceptions."""
    return _read(Path(book.root) / "interactions" / "tripsit-pairs.yaml")
