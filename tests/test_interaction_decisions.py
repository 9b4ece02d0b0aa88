"""Every medication class x session substance is decided: a rule reads it, or
rules/interactions/decisions.yaml records why no rule is needed (a source that found none, another
class that covers it, or that no source was found). A new class, substance or rule scope that
leaves a cell blank, or a decision that contradicts a rule, fails here."""

from __future__ import annotations

import shutil

import pytest
import yaml

from screening.rulebook import interactions
from screening.rulebook import loading as rulebook


def test_the_shipped_matrix_has_no_undecided_or_contradicted_cell(book):
    assert interactions.problems(book) == []
    cells = interactions.matrix(book)
    assert len(cells) == len(book.vocabulary.classes) * len(interactions.SUBSTANCES)
    assert all(cell is not None for cell in cells.values())


def test_every_no_known_interaction_decision_names_a_source_with_a_link(book):
    for (cls, substance), cell in interactions.matrix(book).items():
        if cell.kind == "none_known":
            assert cell.source and cell.url.startswith("http"), (cls, substance)
        if cell.kind in ("none_known", "no_source_found"):
            assert len(cell.text) > 20, (cls, substance)


@pytest.fixture
def rules_copy(tmp_path, book):
    target = tmp_path / "rules"
    shutil.copytree(book.root, target)
    return target


def _edit(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_a_new_class_without_rule_or_decision_is_reported_for_each_substance(rules_copy):
    _edit(
        rules_copy / "vocabularies" / "medications.yaml",
        lambda d: d["classes"].update({"new_class": {"label": "New", "source": "a source"}}),
    )
    found = interactions.problems(rulebook.load(rules_copy))
    assert sorted(p for p in found if p.startswith("new_class")) == sorted(
        f"new_class x {s}: undecided (add a rule, or a decision in rules/interactions/decisions.yaml)"
        for s in interactions.SUBSTANCES
    )


def test_a_decision_on_a_cell_a_rule_reads_is_a_contradiction(rules_copy):
    _edit(
        rules_copy / "interactions" / "decisions.yaml",
        lambda d: d["decisions"]["lithium"].update({"mdma": {"no_source_found": "contradicts the lithium rule on purpose"}}),
    )
    found = interactions.problems(rulebook.load(rules_copy))
    assert any("lithium.mdma" in p and "medication.lithium-within-30-days" in p for p in found)


def test_covered_by_a_class_that_some_entry_lacks_is_reported(rules_copy):
    _edit(
        rules_copy / "interactions" / "decisions.yaml",
        lambda d: d["decisions"]["cathinone"].update({"all": {"covered_by": ["entactogen"]}}),
    )
    found = interactions.problems(rulebook.load(rules_copy))
    assert any("synthetic cathinones has none of ['entactogen']" in p for p in found)


def test_a_none_known_decision_without_a_source_is_reported(rules_copy):
    _edit(
        rules_copy / "interactions" / "decisions.yaml",
        lambda d: d["decisions"]["nitrous_oxide"].update({"all": {"none_known": "no source given for this one"}}),
    )
    found = interactions.problems(rulebook.load(rules_copy))
    assert any("nitrous_oxide.all" in p and "source" in p for p in found)


def test_loperamide_has_its_own_class_and_decision_not_the_cns_opioid_rules(book):
    (match,) = book.vocabulary.match_all("Imodium 2mg")
    assert match.classes == ("loperamide",)
    cells = interactions.matrix(book)
    assert {cells[("loperamide", s)].kind for s in interactions.SUBSTANCES} == {"none_known"}
