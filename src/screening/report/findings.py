"""Flags -> findings: what a clinician reads, one entry per fact however many rules fired on it.

The engine reports rule firings (flags), and the report keeps every one of them. A clinician
needs facts: a session rule fired for each participant is one session finding; a relationship
rule both partners triggered is one finding for the pair; rules that rest on exactly the same
answers (two blood-pressure thresholds, two rules on one medication line) are one finding led
by the most serious, naming the others; a pair finding links the participant findings whose
answers it repeats; a question left unanswered appears once, in the finding it raised or in the
participant's missing list, graded by the most serious rule that reads it. Each finding lists
the flags it covers, so no rule's behaviour is hidden.

Findings are built from flags the screening already built from validated rules and answers,
without validating them again; grouping uses indexes, so a long intake costs linear time. A
finding shares the lists it takes whole from its flag (evidence, participants), and the parts
made of frozen strings alone (a flag as a finding names it, a question left open) are remembered
in bounded caches keyed on those strings: none of them is ever changed in place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..rulebook.conditions import STOPPED_ON_OWN
from ..rulebook.review import least_settled
from .parts import (
    CoveredRule,
    EvidenceItem,
    Finding,
    Flag,
    MissingItem,
    Reference,
    ReportRule,
    Severity,
    Summary,
    SummaryGroup,
    built,
)

__all__ = [
    "build",
    "summarise",
    "UNANSWERED_RULE",
    "LIBRARY_UNANSWERED",
    "rule_of",
    "limitations_of",
    "references_of",
    "status_of",
    "category_of",
]

Rules = Mapping[str, ReportRule]

# The wording of a finding for questions left open when no rule about unanswered questions fired
# (a rulebook without one): the library's own, so that such a finding is never blank.
LIBRARY_UNANSWERED = ReportRule(
    title="Questions the rules read were not answered",
    category="missing-information",
    scope="participant",
    summary="Some questions that the screening rules read were left unanswered or answered unsure.",
    explanation="An unanswered question is never read as no.",
    clinician_action="Review each unanswered question with the participant.",
    participant_text="Some questions were left open; you can answer them with your facilitator.",
    participant_copy="shown",
    limitations=["Counts only the questions the rules read."],
    references=[],
    rule_status="draft",
)


def rule_of(finding: Finding, rules: Rules) -> ReportRule:
    """The texts a finding reads: its main rule's (the library's own for questions left open with no rule)."""
    if finding.rule_id is None:
        return LIBRARY_UNANSWERED
    return rules[finding.rule_id]


def category_of(finding: Finding, rules: Rules) -> str:
    return rule_of(finding, rules).category


def limitations_of(finding: Finding, rules: Rules) -> list[str]:
    """Every covered rule's limitations, the main rule's first, each once: what the finding rests on stays traceable."""
    texts = list(rule_of(finding, rules).limitations)
    for covered in finding.rules:
        texts += rules[covered.rule_id].limitations
    return list(dict.fromkeys(texts))


def references_of(finding: Finding, rules: Rules) -> list[Reference]:
    """Every covered rule's sources, the main rule's first, each link once."""
    seen: dict[str, Reference] = {ref.url: ref for ref in rule_of(finding, rules).references}
    for covered in finding.rules:
        for ref in rules[covered.rule_id].references:
            seen.setdefault(ref.url, ref)
    return list(seen.values())


def status_of(finding: Finding, rules: Rules) -> str:
    """The least settled status of the rules a finding covers."""
    statuses = [rules[c.rule_id].rule_status for c in finding.rules] or [rule_of(finding, rules).rule_status]
    return statuses[0] if len(statuses) == 1 else least_settled(statuses)


UNANSWERED_RULE = "missing-information.unanswered-questions"
_RANK = {"info": 0, "warning": 1, "critical": 2}
_UNKNOWN = ("unknown", None)
_SHARED_CATEGORIES = {"relationship"}  # questions about the two together: one finding when both say so

_Key = tuple[str, str, Any]


def _key(item: EvidenceItem) -> _Key:
    """What a finding rests on: an answer, or a medication line and what was read of it (taking it,
    or stopping it without the prescriber: two facts with two actions, never one finding)."""
    if item.line is None:
        return (item.participant, item.field, item.answer)
    return (item.participant, item.field, (item.line, STOPPED_ON_OWN in str(item.answer)))


def _identity(item: EvidenceItem) -> tuple[Any, ...]:
    """What makes two evidence items the same (their fields, as model equality compares them)."""
    return (item.participant, item.field, item.answer, item.line)


def _not_answered(evidence: list[EvidenceItem]) -> bool:
    """Only questions left open raised it (a medication line is always an answer)."""
    for item in evidence:
        if item.field == "medications" or item.answer not in _UNKNOWN:
            return False
    return bool(evidence)


@functools.lru_cache(maxsize=4096)
def _title(title: str, not_answered: bool) -> str:
    if not not_answered or "answered" in title.lower():  # a rule about unanswered questions says so already
        return title
    lowered = title[0].lower() + title[1:] if len(title) > 1 and not title[1].isupper() else title
    return f"Not answered: {lowered}"


def _by_severity(flags: Iterable[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: -_RANK[f.severity])


def _unique(evidence: list[EvidenceItem]) -> list[EvidenceItem]:
    """Each evidence item once, where it first appears: the list itself when none repeats."""
    identities = list(map(_identity, evidence))
    if len(set(identities)) == len(identities):
        return evidence
    unique: dict[tuple[Any, ...], EvidenceItem] = {}
    for identity, item in zip(identities, evidence, strict=True):
        unique.setdefault(identity, item)
    return list(unique.values())


class _Draft:
    """A finding being assembled: its flags (the main one first), the answers it rests on, whose it is."""

    __slots__ = ("evidence", "flags", "keys", "rests_on", "subject")

    def __init__(self, subject: str, flags: list[Flag], evidence: list[EvidenceItem]) -> None:
        self.subject = subject
        self.flags = _by_severity(flags) if len(flags) > 1 else flags
        self.evidence = evidence if len(evidence) < 2 else _unique(evidence)  # shared with the flag: never changed
        self.rests_on: list[str] = []
        self.keys = frozenset(map(_key, self.evidence))

    @property
    def main(self) -> Flag:
        return self.flags[0]

    @property
    def id(self) -> str:
        return f"{self.subject}:{self.flags[0].rule_id}"

    def finding(self, rules: Rules) -> Finding:
        flags, evidence = self.flags, self.evidence
        main = flags[0]
        rule = rules[main.rule_id]
        not_answered = _not_answered(evidence)
        if len(flags) == 1:  # most findings: one flag, its rule's
            participants = main.participants if len(main.participants) == 1 else sorted(set(main.participants))
            on_request = rule.participant_copy == "on-request"
            covered = [_covered_rule(main.rule_id, main.participant, main.severity)]
        else:
            participants = sorted({p for f in flags for p in f.participants})
            on_request = any(rules[f.rule_id].participant_copy == "on-request" for f in flags)
            covered = [_covered_rule(f.rule_id, f.participant, f.severity) for f in flags]
        values = {
            "id": f"{self.subject}:{main.rule_id}",
            "rule_id": main.rule_id,
            "subject": self.subject,
            "participants": participants,
            "severity": main.severity,
            "title": _title(rule.title, not_answered) if not_answered else rule.title,
            "not_answered": not_answered,
            "participant_copy": "on-request" if on_request else "shown",
            "evidence": evidence,
            "rests_on": self.rests_on,
            "rules": covered,
        }
        return built(Finding, values, in_order=True)


def forget() -> None:
    """Forget the parts remembered across screenings (for benchmarks and tests)."""
    _covered_rule.cache_clear()
    _left_open.cache_clear()


@functools.lru_cache(maxsize=4096)
def _covered_rule(rule_id: str, participant: str, severity: str) -> CoveredRule:
    """A flag as a finding names it: frozen strings only, so one object serves every finding and
    report that names the same flag (the clinician's report and the participant's view)."""
    return built(CoveredRule, {"rule_id": rule_id, "participant": participant, "severity": severity}, in_order=True)


def _covered(flag: Flag) -> CoveredRule:
    return _covered_rule(flag.rule_id, flag.participant, flag.severity)


@functools.lru_cache(maxsize=4096)
def _left_open(participant: str, field: str) -> EvidenceItem:
    """A question left unanswered, as a finding shows it (frozen strings only, like ``_covered_rule``)."""
    return built(EvidenceItem, {"participant": participant, "field": field, "answer": "unknown", "line": None}, in_order=True)


def _drafts(flags: list[Flag], participants: list[str], rules: Rules) -> tuple[list[_Draft], list[Flag]]:
    """One draft per session rule, per shared relationship rule both fired, per other flag."""
    drafts: list[_Draft] = []
    unanswered: list[Flag] = []
    by_rule: dict[str, list[Flag]] = {}
    for flag in flags:
        by_rule.setdefault(flag.rule_id, []).append(flag)
    everyone, duo = set(participants), len(participants) > 1
    for rule_id, group in by_rule.items():
        rule = rules[rule_id]
        if rule_id == UNANSWERED_RULE:
            unanswered.extend(group)
        elif rule.scope == "session":
            evidence = [
                built(EvidenceItem, {**e.__dict__, "participant": "session"}, in_order=True) for f in group for e in f.evidence
            ]
            drafts.append(_Draft("session", group, evidence))
        elif (
            duo
            and rule.scope == "participant"
            and rule.category in _SHARED_CATEGORIES
            and {f.participant for f in group} == everyone
        ):
            drafts.append(_Draft("pair", group, [e for f in group for e in f.evidence]))
        else:
            for flag in group:
                drafts.append(_Draft(flag.participant, [flag], flag.evidence))
    return drafts, unanswered


def _answer_count(draft: _Draft) -> int:
    return len(draft.keys)


def _merge_same_answers(drafts: list[_Draft]) -> list[_Draft]:
    """Drafts for one subject whose answers are all within another's become one, led by the most serious.

    Two thresholds on one reading, two rules on one medication line, "no sober facilitator" and
    "fewer than two for a duo": one fact, one finding, naming every rule it covers. Each draft
    joins the first earlier one that holds all its answers, found through an index of which
    drafts hold each answer (not by comparing every pair: a long intake has a hundred drafts).
    """
    merged: list[_Draft] = []
    holding: dict[str, dict[_Key, list[int]]] = {}  # subject -> answer -> merged drafts holding it, in order
    for draft in sorted(drafts, key=_answer_count, reverse=True):
        keys = draft.keys
        index = holding.get(draft.subject)
        if index is None:
            index = holding[draft.subject] = {}
        into = None
        shortest: list[int] | None = None
        for k in keys:  # the drafts that hold every answer are in each answer's list: walk the shortest
            held = index.get(k)
            if held is None:  # no earlier draft holds this answer
                shortest = None
                break
            if shortest is None or len(held) < len(shortest):
                shortest = held
        if shortest is not None:
            into = next((merged[i] for i in shortest if keys <= merged[i].keys), None)
        if into is None:
            at = len(merged)
            for k in keys:
                held = index.get(k)
                if held is None:
                    index[k] = [at]
                else:
                    held.append(at)
            merged.append(draft)
        else:
            into.flags = _by_severity(into.flags + draft.flags)
    return merged


def _link_pairs(drafts: list[_Draft]) -> None:
    """A pair finding names the participant findings whose answers it rests on."""
    pairs = [d for d in drafts if d.subject == "pair"]
    if not pairs:
        return
    own = [d for d in drafts if d.subject not in ("pair", "session")]
    holding: dict[_Key, list[int]] = {}
    for i, d in enumerate(own):
        for k in d.keys:
            holding.setdefault(k, []).append(i)
    for pair in pairs:
        keys = pair.keys
        near = sorted({i for k in keys for i in holding.get(k, ())})  # hold at least one of its answers
        pair.rests_on = [own[i].id for i in near if own[i].keys <= keys]


def _fold_pairs(drafts: list[_Draft]) -> list[_Draft]:
    """A pair finding that rests on one participant's finding and reads only the same question of
    both (one feels pressured, the other does not) is that finding with the other's answer: one
    answer, one action (talk with that participant alone), so one finding, led by the most serious."""
    pairs = [d for d in drafts if d.subject == "pair" and len(d.rests_on) == 1]
    if not pairs:
        return drafts
    by_id = {d.id: d for d in drafts}
    folded: set[int] = set()
    for pair in pairs:
        own = by_id.get(pair.rests_on[0])
        if own is None or {e.field for e in pair.evidence} != {e.field for e in own.evidence}:
            continue
        own.flags = _by_severity(own.flags + pair.flags)
        unique = {_identity(e): e for e in [*own.evidence, *pair.evidence]}
        own.evidence = list(unique.values())
        own.keys = frozenset(_key(e) for e in own.evidence)
        folded.add(id(pair))
    return [d for d in drafts if id(d) not in folded]


def _split_combinations(
    drafts: list[_Draft], combined: Mapping[tuple[str, str], list[tuple[str, str]]]
) -> tuple[list[_Draft], list[_Draft]]:
    """The drafts of other flags, and those led by a combination's flag, each in order."""
    others: list[_Draft] = []
    combos: list[_Draft] = []
    for d in drafts:
        main = d.flags[0]
        (combos if (main.rule_id, main.participant) in combined else others).append(d)
    return others, combos


def _link_combinations(
    combos: list[_Draft], drafts: list[_Draft], combined: Mapping[tuple[str, str], list[tuple[str, str]]]
) -> None:
    """A combination finding names the findings that cover the flags it combines, and shows their
    answers there rather than a second time (its flag keeps them all)."""
    where: dict[tuple[str, str], str] = {}
    for d in drafts:
        found = d.id
        for f in d.flags:
            where[(f.rule_id, f.participant)] = found
    for combo in combos:
        where.update({(f.rule_id, f.participant): combo.id for f in combo.flags})
    for combo in combos:
        combo.evidence, combo.keys = [], frozenset()  # the answers are shown in the findings it names
        parts = [where.get(key) for f in combo.flags for key in combined.get((f.rule_id, f.participant), [])]
        combo.rests_on = list(dict.fromkeys(p for p in parts if p is not None and p != combo.id))


def _missing_findings(
    missing: list[MissingItem], shown: set[tuple[str, str]], unanswered: list[Flag], participants: list[str]
) -> list[Finding]:
    """Per participant, the unanswered questions not already shown in a finding they raised."""
    items_of: dict[str, list[MissingItem]] = {}
    for m in missing:
        if (m.participant, m.field) not in shown:
            items_of.setdefault(m.participant, []).append(m)
    out: list[Finding] = []
    for pid in participants:
        items = items_of.get(pid)
        if not items:
            continue
        flags = [f for f in unanswered if f.participant == pid]
        if len(items) > 1:
            items.sort(key=lambda m: -_RANK[m.severity])
        count = f"{len(items)} question{'s' if len(items) != 1 else ''}"
        out.append(
            built(
                Finding,
                {
                    "id": f"{pid}:missing",
                    "rule_id": flags[0].rule_id if flags else None,
                    "subject": pid,
                    "participants": [pid],
                    "severity": items[0].severity,
                    "title": f"Not answered: {count} the rules read",
                    "not_answered": True,
                    "participant_copy": "shown",
                    "evidence": [_left_open(pid, m.field) for m in items],
                    "rests_on": [],
                    "rules": [_covered(f) for f in flags],
                },
                in_order=True,
            )
        )
    return out


def _places(participants: list[str]) -> dict[str, int]:
    """Where each subject's findings go: the session plan, each participant in turn, then the pair
    (a subject not among them after the participants)."""
    places: dict[str, int] = {}
    for n, pid in enumerate(participants):
        places.setdefault(pid, 1 + n)
    places["session"], places["pair"] = 0, len(participants) + 1
    return places


def build(
    flags: Iterable[Flag],
    missing: Iterable[MissingItem],
    participants: list[str],
    rules: Rules,
) -> list[Finding]:
    """The findings for these flags and unanswered questions, grouped by whose they are.

    A combination's flag (one that ``combines`` others) is a finding of its own, never merged
    with the findings it combines, which it names in ``rests_on``."""
    flags, missing = list(flags), list(missing)
    combined = {(f.rule_id, f.participant): [(r, f.participant) for r in f.combines] for f in flags if f.combines}
    drafts, unanswered = _drafts(flags, participants, rules)
    combos: list[_Draft] = []
    if combined:
        drafts, combos = _split_combinations(drafts, combined)
    drafts = _merge_same_answers(drafts)
    _link_pairs(drafts)
    drafts = _fold_pairs(drafts)
    if combos:
        _link_combinations(combos, drafts, combined)
        drafts += combos
    found = [d.finding(rules) for d in drafts]
    if missing:
        shown = {(e.participant, e.field) for f in found for e in f.evidence if e.answer in _UNKNOWN}
        gaps = _missing_findings(missing, shown, unanswered, participants)
    else:
        gaps = []
    if unanswered:
        _attach_unanswered(found, gaps, unanswered, rules)
    found += gaps
    places, elsewhere = _places(participants), len(participants)
    return sorted(
        found,
        key=lambda f: (
            places.get(f.subject, elsewhere),
            -_RANK[f.severity],
            f.id.endswith(":missing"),
            (LIBRARY_UNANSWERED if f.rule_id is None else rules[f.rule_id]).category,  # category_of, inline: per finding
            f.id,
        ),
    )


def _attach_unanswered(found: list[Finding], gaps: list[Finding], unanswered: list[Flag], rules: Rules) -> None:
    """The unanswered-questions flags no gap finding covers (every gap is shown in a finding it
    raised) go to those findings, or, with nothing to attach them to, stay visible on their own."""
    covered = {(r.rule_id, r.participant) for f in gaps for r in f.rules}
    for flag in unanswered:
        if (flag.rule_id, flag.participant) in covered:
            continue
        for i, finding in enumerate(found):
            if finding.not_answered and flag.participant in finding.participants:
                found[i] = finding.model_copy(update={"rules": [*finding.rules, _covered(flag)]})
                break
        else:
            found.append(_Draft(flag.participant, [flag], flag.evidence).finding(rules))


@functools.lru_cache(maxsize=4096)
def first_point(action: str) -> str:
    """The first point of what to review, whole: its first sentence (a rule's text: worked out once)."""
    first = re.split(r"(?<=[.;])\s", action, maxsplit=1)[0].rstrip(".;")
    return first[:1].lower() + first[1:] if first[1:2].islower() else first


@functools.lru_cache(maxsize=4096)
def shortened(text: str, room: int) -> str:
    """``text`` cut at a word to fit ``room`` characters, for one line of a terminal."""
    if len(text) <= room:
        return text
    return text[: room - 1].rsplit(" ", 1)[0].rstrip(",;: ") + "…"


ADDRESS_FIRST = 3


def heading(subject: str, participants: list[str]) -> str:
    if subject == "session":
        return "Session plan"
    if subject == "pair":
        return f"The pair ({' and '.join(participants)})"
    return f"Participant {subject}"


def summarise(found: list[Finding], flag_count: int) -> Summary:
    """What to address first (at most three, most serious first: answered findings before
    unanswered questions, then in report order), then the findings by session, each participant
    and the pair, most serious first in each; by id."""
    counts: dict[Severity, int] = {"critical": 0, "warning": 0, "info": 0}
    groups: dict[str, list[tuple[int, int]]] = {}  # subject -> (how serious, position) of its findings
    ranked: list[tuple[int, bool, int]] = []  # (how serious, unanswered, position): tuples sort without a key function
    for n, finding in enumerate(found):
        counts[finding.severity] += 1
        serious = -_RANK[finding.severity]
        ranked.append((serious, finding.not_answered, n))
        groups.setdefault(finding.subject, []).append((serious, n))
    ranked.sort()
    return built(
        Summary,
        {
            "counts": counts,
            "flags": flag_count,
            "address_first": [found[n].id for *_, n in ranked[:ADDRESS_FIRST]],
            "groups": [
                built(SummaryGroup, {"subject": s, "findings": [found[n].id for _, n in sorted(items)]}, in_order=True)
                for s, items in groups.items()
            ],
        },
        in_order=True,
    )
