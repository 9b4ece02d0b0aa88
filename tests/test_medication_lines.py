"""One written line, several drugs: "Zoloft and lithium" must be read as both.

People list medications the way they talk. Reading only the first drug on a line would hide
the second one's interactions, so every drug on the line is matched, and a part of the line
that names no known drug is reported as unrecognised rather than dropped.
"""

from __future__ import annotations

import datetime as dt

import pytest

from screening import screen

from conftest import ENGINES


@pytest.fixture(scope="module")
def vocabulary(book):
    return book.vocabulary


def _read(vocabulary, line):
    return [(m.status, m.entry.generic if m.entry else m.written) for m in vocabulary.match_all(line)]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Zoloft and lithium", [("recognised", "sertraline"), ("recognised", "lithium carbonate")]),
        ("sertraline/bupropion", [("recognised", "sertraline"), ("recognised", "bupropion")]),
        ("st johns wort + 5-htp", [("recognised", "st johns wort"), ("recognised", "5-hydroxytryptophan")]),
        ("Lexapro 10mg, Xanax as needed", [("recognised", "escitalopram"), ("recognised", "alprazolam")]),
        ("Zolof and lithum", [("unconfirmed", "sertraline"), ("unconfirmed", "lithium carbonate")]),
        ("Zoloft and zorblax", [("recognised", "sertraline"), ("unrecognised", "zorblax")]),
    ],
)
def test_every_drug_on_a_line_is_read(vocabulary, line, expected):
    assert _read(vocabulary, line) == expected


@pytest.mark.parametrize("line", ["Zoloft 50mg daily", "lithium carb", "Adderall XR 20mg", "olanzapine/fluoxetine"])
def test_a_single_drug_or_combination_product_stays_one_match(vocabulary, line):
    assert len(vocabulary.match_all(line)) == 1


def test_a_second_drug_on_the_line_raises_its_own_rule(baseline_individual):
    baseline_individual["participants"][0]["medications"] = [{"name": "Zoloft and lithium", "status": "current"}]
    for engine in ENGINES:
        ids = {f.rule_id for f in screen(baseline_individual, engine=engine, today=dt.date(2026, 12, 1)).flags}
        assert "medication.lithium-within-30-days" in ids, engine


def test_an_unknown_part_of_a_line_is_named_with_its_line(baseline_individual):
    baseline_individual["participants"][0]["medications"] = [{"name": "Zoloft and zorblax", "status": "current"}]
    report = screen(baseline_individual, today=dt.date(2026, 12, 1))
    flag = next(f for f in report.flags if f.rule_id == "missing-information.unrecognised-medication")
    assert any("zorblax" in str(e.answer) and "Zoloft and zorblax" in str(e.answer) for e in flag.evidence)
