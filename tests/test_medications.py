"""The medication vocabulary, as a table: every name a person might write resolves to its entry."""

import pytest

from screening.rulebook import loading as rulebook

VOCABULARY = rulebook.default().vocabulary
NAMES = [(entry.generic, name) for entry in VOCABULARY.entries for name in (entry.generic, *entry.brands, *entry.aliases)]


@pytest.mark.parametrize(("generic", "name"), NAMES)
def test_every_name_resolves_to_its_entry(generic, name):
    match = VOCABULARY.match(name)
    assert match.status == "recognised" and match.entry.generic == generic


@pytest.mark.parametrize(("generic", "name"), NAMES)
def test_a_lower_case_dosed_variant_resolves(generic, name):
    match = VOCABULARY.match(f"{name.lower()} 50 mg daily")
    assert match.status == "recognised" and match.entry.generic == generic


def test_vocabulary_has_at_least_250_entries():
    assert len(VOCABULARY.entries) >= 250


@pytest.mark.parametrize(
    ("written", "generic"),
    [
        ("sertaline", "sertraline"),
        ("fluoxetin 20mg", "fluoxetine"),
        ("lithum", "lithium carbonate"),
        ("wellbutin", "bupropion"),
        ("phenelzene", "phenelzine"),
    ],
)
def test_close_misspellings_are_unconfirmed(written, generic):
    match = VOCABULARY.match(written)
    assert match.status == "unconfirmed" and match.entry.generic == generic


@pytest.mark.parametrize("written", ["Zorblax 20mg", "my blue pills", "xyzzy"])
def test_unknown_names_are_unrecognised(written):
    assert VOCABULARY.match(written).status == "unrecognised"
