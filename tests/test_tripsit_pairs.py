"""Every TripSit pair of the six session substances raises at least TripSit's level.

The pairs and the names people write for each partner are data (rules/interactions/tripsit-pairs.yaml),
edited by rule authors: a Dangerous pair must raise a critical medication flag, Unsafe at least a
warning, Caution at least info, unless the pair is listed under ``below_level`` with its reason,
which must also stand in the limitations of the rule that raises it.
"""

from __future__ import annotations

import copy

import pytest
from conftest import ENGINES

from screening import screen
from screening.rulebook import interactions
from screening.rulebook import loading as rulebook
from screening.rulebook.loading import SEVERITY_ORDER

BOOK = rulebook.default()
DATA = interactions.tripsit_pairs(BOOK)
BELOW = {(item["substance"], item["tripsit"]): item for item in DATA["below_level"]}
CASES = [
    (substance, rating, partner, name)
    for substance, by_rating in DATA["pairs"].items()
    for rating, partners in by_rating.items()
    for partner in partners
    for name in DATA["written_as"][partner]
]


def _screen(substance: str, name: str, engine: str):
    session = copy.deepcopy(BOOK.baseline["session"])
    session["substance"] = substance
    person = copy.deepcopy(BOOK.baseline["participant"])
    person["medications"] = [{"name": name, "status": "current"}]
    return screen({"session": session, "participants": [person]}, engine=engine)


def test_the_data_covers_the_six_substances_and_names_every_partner():
    assert set(DATA["pairs"]) == set(interactions.SUBSTANCES)
    partners = {p for by_rating in DATA["pairs"].values() for ps in by_rating.values() for p in ps}
    assert partners == set(DATA["written_as"]), "every partner has names as written, and every name list is used"
    assert all(DATA["written_as"][p] for p in partners)
    assert set(DATA["levels"]) == {"Dangerous", "Unsafe", "Caution"}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("substance", "rating", "partner", "name"), CASES)
def test_tripsit_pair_flags_at_least_at_tripsits_level(engine, substance, rating, partner, name):
    report = _screen(substance, name, engine)
    medication = [f for f in report.flags if report.rules[f.rule_id].category == "medication-interaction"]
    assert not [f for f in report.flags if f.rule_id == "missing-information.unrecognised-medication"], (
        f"{name!r} is not recognised"
    )
    highest = max((SEVERITY_ORDER[f.severity] for f in medication), default=-1)
    exception = BELOW.get((substance, partner))
    needed = exception["severity"] if exception else DATA["levels"][rating]
    assert highest >= SEVERITY_ORDER[needed], (
        f"{name!r} with {substance} (TripSit {rating}) raised {[(f.rule_id, f.severity) for f in medication]}"
    )
    if exception:
        rule = BOOK.rule(exception["rule"])
        assert any(f.rule_id == rule.id and f.severity == exception["severity"] for f in medication)
        assert any("TripSit" in text and rating in text for text in rule.meta.limitations), (
            f"{rule.id} gives no reason in its limitations for grading TripSit's {rating} lower"
        )


def test_only_dangerous_or_unsafe_pairs_are_accepted_below_level_and_each_has_a_reason():
    for (substance, partner), item in BELOW.items():
        rating = next(r for r, ps in DATA["pairs"][substance].items() if partner in ps)
        assert SEVERITY_ORDER[item["severity"]] < SEVERITY_ORDER[DATA["levels"][rating]]
        assert len(item["reason"]) > 20


def test_amt_is_never_read_as_dmt():
    for name in DATA["written_as"]["amt"]:
        (match,) = BOOK.vocabulary.match_all(name)
        assert match.entry is not None and "dmt" not in match.entry.generic.lower()
