"""Rule authors' tools: single-file checks, examples checked with file:line, a failure summary
with --explain, the scaffold, medication matching, the rule schema, branch and overlap notes."""

import json
import shutil

import pytest

from screening.cli.commands import main
from screening.rulebook import conditions
from screening.rulebook.loading import default_rules_dir

RULE_FILE = "cardiovascular/recent-heart-attack-or-stroke.yaml"


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_check_accepts_ids_and_files_and_says_what_it_checked(capsys):
    assert main(["rules", "check", "cardiovascular.long-qt", str(default_rules_dir() / RULE_FILE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 of ") and "cardiovascular.recent-heart-attack-or-stroke: draft" in out


def test_an_unknown_rule_id_suggests_the_right_one(capsys):
    assert main(["rules", "check", "cardiovascular.long-qtt"]) == 2
    assert "did you mean 'cardiovascular.long-qt'?" in capsys.readouterr().err


def test_a_misspelt_field_in_an_example_is_reported_at_its_line_with_a_suggestion(rules_copy, capsys):
    path = rules_copy / RULE_FILE
    edit(path, '{"physical": {"heart_attack_last_6_months": "yes"}}', '{"physical": {"heart_attack_last_6_month": "yes"}}')
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "heart attack 3 months ago" in text)
    assert main(["rules", "check", "--rules", str(rules_copy), str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{RULE_FILE}:{line}: example 'heart attack 3 months ago': participant.physical.heart_attack_last_6_month" in err
    assert "did you mean 'physical.heart_attack_last_6_months'?" in err


def test_an_example_that_does_not_do_what_it_expects_fails_check_with_its_line(rules_copy, capsys):
    path = rules_copy / RULE_FILE
    edit(path, 'name: "none"\n    expect: no-flag', 'name: "none"\n    expect: flag')
    assert main(["rules", "check", "--rules", str(rules_copy)]) == 2
    err = capsys.readouterr().err
    assert "example 'none' expects flag but the rule does not flag it" in err and "--explain" in err


def test_rules_test_ends_with_a_summary_of_failures_and_explains_them(rules_copy, capsys):
    path = rules_copy / RULE_FILE
    edit(path, 'name: "none"\n    expect: no-flag', 'name: "none"\n    expect: flag')
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if 'name: "none"' in text)
    assert main(["rules", "test", "--rules", str(rules_copy), "--engine", "python", "--explain", str(path)]) == 1
    out = capsys.readouterr().out
    summary = out.split("\nFailed:\n", 1)[1]
    assert f"{RULE_FILE}:{line}: cardiovascular.recent-heart-attack-or-stroke: 'none' expects flag -> did not flag" in summary
    assert "[no ] any of:" in summary
    assert "[no ] physical.heart_attack_last_6_months is yes   (the example: no)" in summary


def test_rules_new_writes_a_scaffold_that_check_refuses_until_filled_in(rules_copy, capsys):
    assert main(["rules", "new", "other-medical", "medical.gout", "--rules", str(rules_copy)]) == 0
    path = rules_copy / "other-medical" / "gout.yaml"
    assert path.exists() and "id: medical.gout" in path.read_text()
    capsys.readouterr()
    assert main(["rules", "check", "--rules", str(rules_copy), str(path)]) == 2
    err = capsys.readouterr().err
    assert "other-medical/gout.yaml" in err and "unknown intake field 'TODO.field'" in err
    assert main(["rules", "new", "other-medicall", "medical.x", "--rules", str(rules_copy)]) == 2
    assert "did you mean 'other-medical'?" in capsys.readouterr().err
    assert main(["rules", "new", "other-medical", "medical.gout", "--rules", str(rules_copy)]) == 2
    assert "exists already" in capsys.readouterr().err


def test_a_filled_in_scaffold_still_holding_a_todo_is_refused(rules_copy, capsys):
    main(["rules", "new", "other-medical", "medical.gout", "--rules", str(rules_copy)])
    path = rules_copy / "other-medical" / "gout.yaml"
    edit(path, "TODO.field: 'yes'", "physical.seizure_disorder: 'yes'")
    capsys.readouterr()
    assert main(["rules", "check", "--rules", str(rules_copy), str(path)]) == 2
    err = capsys.readouterr().err
    assert "summary still holds a TODO" in err and "references still holds a TODO" in err


def test_meds_match_shows_each_drug_on_a_line_and_the_rules_that_read_it(capsys):
    assert main(["meds", "match", "Zoloft 50mg and lithum, xyzzy"]) == 0
    out = capsys.readouterr().out
    assert "'Zoloft': matched as 'zoloft' -> sertraline; classes: ssri" in out
    assert "'lithum': matched approximately, to confirm" in out and "medication.lithium-within-30-days" in out
    assert "'xyzzy': unrecognised" in out


def test_the_rule_schema_covers_every_operator_and_every_rule_field(capsys):
    assert main(["schema", "rule"]) == 0
    schema = json.loads(capsys.readouterr().out)
    ops = {next(iter(option["properties"])) for option in schema["$defs"]["condition"]["oneOf"]}
    assert ops == set(conditions.LEAVES) | set(conditions.BRANCHES)
    assert {"id", "when", "examples", "references"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert main(["schema", "vocabulary"]) == 0
    assert "medications" in json.loads(capsys.readouterr().out)["properties"]


def test_a_branch_no_example_exercises_is_a_warning(rules_copy, capsys):
    path = rules_copy / RULE_FILE
    edit(
        path,
        '  - name: "TIA this year"\n    expect: flag\n    participant: {"physical": {"stroke_or_tia_last_6_months": "yes"}}\n',
        "",
    )
    assert main(["rules", "check", "--rules", str(rules_copy), str(path)]) == 0
    err = capsys.readouterr().err
    assert "no example that flags makes this part of when: hold: physical.stroke_or_tia_last_6_months is yes" in err


def test_a_rule_whose_examples_raise_another_rule_is_noted_as_related(capsys):
    assert main(["rules", "check", "cardiovascular.blood-pressure-160-100"]) == 0
    assert "also raise cardiovascular.blood-pressure-140-90" in capsys.readouterr().err
