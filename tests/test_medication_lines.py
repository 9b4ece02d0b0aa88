"""One written line, several drugs: "Zoloft and lithium" must be read as both.

People list medications the way they talk. Reading only the first drug on a line would hide
the second one's interactions, so every drug on the line is matched, and a part of the line
that names no known drug is reported as unrecognised rather than dropped.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import ENGINES
from hypothesis import given, settings
from hypothesis import strategies as st

from screening import screen


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


# ---------------------------------------------------------------------------- names side by side (issue 11)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Zoloft 50mg lithium 300mg", [("recognised", "sertraline"), ("recognised", "lithium carbonate")]),
        ("Nardil Prozac", [("recognised", "phenelzine"), ("recognised", "fluoxetine")]),
        ("Nardil or Prozac", [("recognised", "phenelzine"), ("recognised", "fluoxetine")]),
        ("Zoloft with lithium", [("recognised", "sertraline"), ("recognised", "lithium carbonate")]),
        ("Nardil then Prozac", [("recognised", "phenelzine"), ("recognised", "fluoxetine")]),
        ("Nardil | Prozac", [("recognised", "phenelzine"), ("recognised", "fluoxetine")]),
        ("Nardil\tProzac", [("recognised", "phenelzine"), ("recognised", "fluoxetine")]),
        ("sertralene 50mg lithium twice daily", [("unconfirmed", "sertraline"), ("recognised", "lithium carbonate")]),
        ("Xanax for sleep", [("recognised", "alprazolam"), ("unrecognised", "sleep")]),
        ("Zoloft (sertraline) 50 mg", [("recognised", "sertraline")]),
    ],
)
def test_names_written_next_to_each_other_are_each_read(vocabulary, line, expected):
    assert _read(vocabulary, line) == expected


@pytest.mark.parametrize("joiner", [" ", " or ", " with ", " then ", " | ", "\t", " 300mg ", "; "])
def test_lithium_after_another_drug_raises_its_critical_flag_whatever_joins_them(baseline_individual, joiner):
    baseline_individual["participants"][0]["medications"] = [{"name": f"Zoloft 50mg{joiner}lithium 300mg", "status": "current"}]
    for engine in ENGINES:
        ids = {f.rule_id for f in screen(baseline_individual, engine=engine, today=dt.date(2026, 12, 1)).flags}
        assert "medication.lithium-within-30-days" in ids, (joiner, engine)


def test_a_word_that_is_no_drug_dose_or_filler_is_reported_not_dropped(baseline_individual):
    baseline_individual["participants"][0]["medications"] = [{"name": "Xanax for sleep", "status": "current"}]
    report = screen(baseline_individual, today=dt.date(2026, 12, 1))
    flag = next(f for f in report.flags if f.rule_id == "missing-information.unrecognised-medication")
    assert any("sleep (in 'Xanax for sleep')" in str(e.answer) for e in flag.evidence)


_FILLER = [
    "50mg",
    "2.5 mg",
    "daily",
    "twice a day",
    "as needed",
    "at bedtime",
    "and",
    "or",
    "with",
    "then",
    "|",
    "\t",
    ",",
    "/",
    "+",
    "(",
    ")",
]
_UNKNOWN = ["zorblax", "quuxine", "sleep", "blue"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FILLER), st.sampled_from(_UNKNOWN), st.integers(0, 10_000)), min_size=1, max_size=8))
def test_every_word_of_a_line_is_read_or_reported(vocabulary, parts):
    """Each drug name and each unknown word on a generated line is in some match: a name read as
    its drug (or misspelt, unconfirmed), an unknown word in an unrecognised part; only dose,
    unit, frequency and filler words are set aside."""
    names = [e.generic for e in vocabulary.entries if " " not in e.generic and len(e.generic) > 5]
    words = [names[p % len(names)] if isinstance(p, int) else p for p in parts]
    line = " ".join(words)
    matches = vocabulary.match_all(line)
    read = " ".join(m.written.lower() for m in matches)
    for word in words:
        if word in names:
            assert any(m.entry is not None and m.entry.generic == word for m in matches) or word in read, (line, word)
        elif word in _UNKNOWN:
            assert word in read, (line, word)
            assert any(m.status != "recognised" for m in matches), line


# ---------------------------------------------------------------------------- prescriptions from NL/BE, FR, DE (issue 28)

_COC = "ethinylestradiol and levonorgestrel"  # the combined pill's vocabulary entry


@pytest.mark.parametrize(
    "line, expected",
    [
        ("oxazepam zo nodig", [("recognised", "oxazepam")]),
        ("oxazepam 10mg zn", [("recognised", "oxazepam")]),
        ("lorazepam 1 mg z.n.", [("recognised", "lorazepam")]),
        ("sertraline 50mg 1x per dag", [("recognised", "sertraline")]),
        ("Ritalin 10 mg 2dd", [("recognised", "methylphenidate")]),
        ("escitalopram 10 mg 1dd 's ochtends", [("recognised", "escitalopram")]),
        ("ibuprofen 400mg 3 d.d. 1 tablet", [("recognised", "ibuprofen")]),
        ("methylfenidaat 3x per dag", [("recognised", "methylphenidate")]),
        ("temazepam 10 mg ’s avonds voor het slapen", [("recognised", "temazepam")]),
        ("paracetamol 500 mg bij pijn, max 6 per dag", [("recognised", "paracetamol")]),
        ("vitamine D3 druppels", [("recognised", "vitamin d")]),
        ("vitamine B12", [("recognised", "vitamin b12")]),
        ("fentanyl pleister", [("recognised", "fentanyl")]),
        ("de pil", [("recognised", _COC)]),
        ("anticonceptiepil", [("recognised", _COC)]),
        ("Oxazepam zo nodig en de pil", [("recognised", "oxazepam"), ("recognised", _COC)]),
    ],
)
def test_dutch_and_flemish_prescription_lines_are_read(vocabulary, line, expected):
    assert _read(vocabulary, line) == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        ("zolpidem si besoin", [("recognised", "zolpidem")]),
        ("sertraline 50 mg le matin", [("recognised", "sertraline")]),
        ("Stilnox 1 cp au coucher", [("recognised", "zolpidem")]),
        ("Doliprane 1 comprimé si besoin", [("recognised", "paracetamol")]),
        ("quetiapine 25 mg 1-0-1", [("recognised", "quetiapine")]),
        ("ibuprofène 400 mg 3 fois par jour en cas de douleur", [("recognised", "ibuprofen")]),
        ("la pilule", [("recognised", _COC)]),
    ],
)
def test_french_prescription_lines_are_read(vocabulary, line, expected):
    assert _read(vocabulary, line) == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Ibuprofen 400 bei Bedarf", [("recognised", "ibuprofen")]),
        ("Sertralin 50 mg Tabletten 1-0-0", [("recognised", "sertraline")]),
        ("Ibuprofen 3x täglich", [("recognised", "ibuprofen")]),
        ("Zolpidem 10 mg abends zur Nacht", [("recognised", "zolpidem")]),
        ("die Pille", [("recognised", _COC)]),
        ("Antibabypille", [("recognised", _COC)]),
    ],
)
def test_german_prescription_lines_are_read(vocabulary, line, expected):
    assert _read(vocabulary, line) == expected


@pytest.mark.parametrize("line", ["oxazepam zo nodig bla", "Ritalin 2dd zorblax", "sertraline si besoin quuxine"])
def test_an_unknown_word_beside_foreign_timing_words_is_still_reported(vocabulary, line):
    assert any(m.status == "unrecognised" for m in vocabulary.match_all(line)), line


def test_no_timing_or_filler_word_is_part_of_a_drug_name(vocabulary):
    from screening.intake import medications

    words = {word for name in vocabulary._index for word in name.split()}
    assert not (medications._NOISE & words)


def test_the_issue_lines_raise_no_unrecognised_medication(baseline_individual):
    lines = ["oxazepam zo nodig", "sertraline 50mg 1x per dag", "Ritalin 10 mg 2dd", "de pil", "vitamine D"]
    baseline_individual["participants"][0]["medication_use"] = {"takes_any": "yes"}
    baseline_individual["participants"][0]["medications"] = [{"name": line, "status": "current"} for line in lines]
    for engine in ENGINES:
        ids = {f.rule_id for f in screen(baseline_individual, engine=engine, today=dt.date(2026, 12, 1)).flags}
        assert not ids & {"missing-information.unrecognised-medication", "medication.unconfirmed-match"}, engine
