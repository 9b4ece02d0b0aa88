"""Loading the rulebook: every problem reported at once, with file and line."""

import shutil
from pathlib import Path

import pytest

from screening import RulebookError, load_rulebook
from screening.rulebook.loading import default_rules_dir

RULE = default_rules_dir() / "pregnancy" / "pregnant-or-possibly-pregnant.yaml"


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def problems_after(rules_dir: Path, edit) -> list[str]:
    path = rules_dir / "pregnancy" / "pregnant-or-possibly-pregnant.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(RulebookError) as error:
        load_rulebook(rules_dir)
    return [str(p) for p in error.value.problems]


def test_the_shipped_rulebook_loads_and_has_a_hash(book):
    assert book.rules and len(book.sha256) == 64
    assert all(rule.meta.references and rule.meta.limitations for rule in book.rules)


def test_a_misspelt_field_is_reported_with_line_and_suggestion(rules_copy):
    found = problems_after(rules_copy, lambda t: t.replace("person.pregnant:", "person.pregant:"))
    assert any("pregnant-or-possibly-pregnant.yaml:" in p and "did you mean 'person.pregnant'" in p for p in found), found


def test_an_unknown_rule_key_suggests_the_right_one(rules_copy):
    found = problems_after(rules_copy, lambda t: t.replace("limitations:", "limitation:"))
    assert any("did you mean 'limitations'" in p for p in found), found


def test_missing_references_are_reported(rules_copy):
    found = problems_after(rules_copy, lambda t: t.split("references:")[0] + "written:" + t.split("written:")[1])
    assert any("references" in p for p in found), found


def test_duplicate_ids_are_reported_with_both_files(rules_copy):
    shutil.copy(rules_copy / "pregnancy" / "pregnant-or-possibly-pregnant.yaml", rules_copy / "pregnancy" / "copy.yaml")
    with pytest.raises(RulebookError) as error:
        load_rulebook(rules_copy)
    assert any("duplicate id" in p.message for p in error.value.problems)


def test_a_rule_needs_an_example_of_each_kind(rules_copy):
    found = problems_after(rules_copy, lambda t: t.replace("expect: no-flag", "expect: flag"))
    assert any("must not" in p for p in found), found


def test_directive_wording_is_rejected(rules_copy):
    found = problems_after(
        rules_copy, lambda t: t.replace("Confirm pregnancy status", "Do not proceed; confirm pregnancy status")
    )
    assert any("directive" in p for p in found), found


def test_invalid_yaml_gives_the_line(rules_copy):
    found = problems_after(rules_copy, lambda t: t.replace("severity: critical", "severity: [critical"))
    assert any(":" in p and "not valid YAML" in p for p in found), found


def test_every_problem_is_collected_in_one_pass(rules_copy):
    def break_twice(text):
        return text.replace("person.pregnant:", "person.pregant:").replace("status: draft", "status: final")

    found = problems_after(rules_copy, break_twice)
    assert len(found) >= 2, found


def test_a_wrong_value_type_in_when_is_an_error(rules_copy):
    found = problems_after(rules_copy, lambda t: t.replace('is: {person.pregnant: "yes"}', "is: {person.pregnant: maybe}"))
    assert any("not an answer" in p for p in found), found


def test_a_name_claimed_by_two_vocabulary_entries_is_reported(rules_copy):
    """ "Zoloft" must mean one drug: a brand listed under two entries is a rulebook error."""
    path = rules_copy / "vocabularies" / "medications.yaml"
    text = path.read_text()
    path.write_text(
        text.replace('brands: ["Celexa", "Cipramil", "Seropram"]', 'brands: ["Celexa", "Cipramil", "Seropram", "Zoloft"]')
    )
    with pytest.raises(RulebookError) as error:
        load_rulebook(rules_copy)
    assert any("'zoloft' is claimed by both" in str(p) for p in error.value.problems), error.value.problems
