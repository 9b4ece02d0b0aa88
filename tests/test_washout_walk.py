"""The washout walk: for every medication class and session substance, a medication of that class
stopped 0, 1, ... 120 days before the session raises flags that step down and never come back.

Each rule's flag stays on up to its own window and stops the day after, so no stopped medication
falls into a gap between two rules' windows; and every day a source's washout covers
(``washouts`` in rules/interactions/decisions.yaml) raises a flag. Run on the reference
evaluator (the engines' agreement is tested elsewhere): 121 days x 6 substances x every class.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt

import pytest

from screening import screen
from screening.rulebook import interactions
from screening.rulebook import loading as rulebook
from screening.rulebook.conditions import COUNT, walk

BOOK = rulebook.default()
# The medication rules alone: the walk reads only their flags, and screening a third of the rules
# keeps 15,000 screenings quick. Still a real screening: intake, facts, evaluator, report.
MEDICATION_BOOK = dataclasses.replace(BOOK, rules=[r for r in BOOK.rules if r.meta.category == "medication-interaction"], memo={})
SESSION_DATE = dt.date.fromisoformat(str(BOOK.baseline["session"]["planned_date"]))
DAYS = range(121)
CLASSES = sorted(BOOK.vocabulary.classes)


def representative(cls: str):
    """The entry of a class with the fewest other classes, so the walk shows this class's steps."""
    return min((e for e in BOOK.vocabulary.entries if cls in e.classes), key=lambda e: (len(e.classes), e.generic))


def windows(entry, substance: str, self_stopped: bool) -> dict[str, int]:
    """rule id -> the last day its flag should stand for this entry (the longest matching leaf)."""
    out: dict[str, int] = {}
    for rule in MEDICATION_BOOK.active:  # the walk reads only the interaction rules
        if substance not in rule.substances:
            continue
        for leaf in walk(rule.condition):
            if leaf.op == COUNT:  # one drug of these classes in a window: its far end counts
                (_, classes), (least, _after, within) = leaf.field, leaf.value
                if least == 1 and set(classes) & set(entry.classes):
                    out[rule.id] = max(out.get(rule.id, -1), int(within))
            elif leaf.field in entry.classes and (leaf.op == "taking" or (leaf.op == "stopped_on_own" and self_stopped)):
                out[rule.id] = max(out.get(rule.id, -1), int(leaf.value))
    return out


def flags_on_day(entry, substance: str, days: int, self_stopped: bool) -> set[str]:
    session = copy.deepcopy(BOOK.baseline["session"])
    session["substance"] = substance
    person = copy.deepcopy(BOOK.baseline["participant"])
    person["medications"] = [
        {
            "name": entry.generic,
            "status": "stopped",
            "last_taken": (SESSION_DATE - dt.timedelta(days=days)).isoformat(),
            "stopped_with_prescriber": "no" if self_stopped else "yes",
        }
    ]
    report = screen({"session": session, "participants": [person]}, engine="python", rulebook=MEDICATION_BOOK)
    return {f.rule_id for f in report.flags if report.rules[f.rule_id].category == "medication-interaction"}


WALKS = [
    (cls, substance, self_stopped)
    for cls in CLASSES
    for substance in interactions.SUBSTANCES
    for self_stopped in (False, True)
    # stopped on one's own: only where a rule reads that (the other walks would repeat the first)
    if not self_stopped or windows(representative(cls), substance, True) != windows(representative(cls), substance, False)
]


@pytest.mark.parametrize(("cls", "substance", "self_stopped"), WALKS)
def test_washout_walk_steps_down_at_each_rules_window(cls, substance, self_stopped):
    entry = representative(cls)
    expected = windows(entry, substance, self_stopped)
    seen = [flags_on_day(entry, substance, d, self_stopped) for d in DAYS]
    for d in DAYS:
        want = {rule for rule, last in expected.items() if d <= last}
        assert seen[d] == want, f"{entry.generic} stopped {d} days before {substance}: {sorted(seen[d])} != {sorted(want)}"


@pytest.mark.parametrize("item", interactions.washouts(BOOK), ids=lambda i: f"{i['class']}-{i['days']}d")
def test_every_day_a_sources_washout_covers_raises_a_flag(item):
    entry = representative(item["class"])
    for substance in item["substances"]:
        silent = [d for d in range(item["days"] + 1) if not flags_on_day(entry, substance, d, False)]
        assert silent == [], f"{entry.generic} before {substance}: no flag on days {silent} ({item['source']})"


def test_the_washouts_name_known_classes_and_substances():
    for item in interactions.washouts(BOOK):
        assert item["class"] in BOOK.vocabulary.classes
        assert set(item["substances"]) <= set(interactions.SUBSTANCES)
        assert item["days"] > 0 and item["source"]
