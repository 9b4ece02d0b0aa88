"""Combinations a clinician would name (rules/combinations.yaml): a finding of their own over
other rules' flags, with their own texts and sources, the same for every engine.

Clinical cases: participant A of the example duo (pressure, mainly to please, an antidepressant
stopped on her own, frequent dissociation, complex trauma) and the thin-setting LSD duo (no
transport, 6 hours of LSD, one unvetted facilitator for two, no integration). Each must flag,
and the same intakes with the one answer that breaks the combination must not.
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil

import pytest
import yaml
from conftest import EXAMPLES

from screening import read_intake, render_text, screen
from screening.errors import Problem, RulebookError
from screening.report.findings import references_of
from screening.report.model import summary_in
from screening.rulebook import loading
from screening.rulebook.combinations import holds, parse_combinations

TODAY = dt.date(2026, 12, 1)
PRESSURE = "combination.destabilising-answers-with-pressure"
HOME = "combination.no-safe-way-home"


def data_of(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def combinations_found(report):
    return {f.id: f for f in report.findings if ":combination." in f.id}


@pytest.mark.parametrize("engine", ["python", "cross-check"])
def test_example_duo_a_pressure_with_destabilising_answers(engine):
    report = screen(read_intake(EXAMPLES / "duo-mdma.yaml"), today=TODAY, engine=engine)
    found = combinations_found(report)
    assert set(found) == {f"A:{PRESSURE}"}  # B's answers raise none of it
    finding = found[f"A:{PRESSURE}"]
    assert finding.severity == "critical"
    assert finding.rests_on == [
        "A:relationship.pressure-to-take-part",
        "A:relationship.mainly-to-help-or-please-other",
        "A:medication.stopped-on-own-antidepressant",
        "A:readiness.frequent-dissociation",
        "A:readiness.complex-trauma",
    ]
    ids = {f.id for f in report.findings}
    assert set(finding.rests_on) <= ids  # each finding it combines is still there, on its own
    assert [r.rule_id for r in finding.rules] == [PRESSURE]
    assert any("Johnson" in ref.title for ref in references_of(finding, report.rules))
    assert "Several destabilising answers" in render_text(report)


def test_example_duo_without_pressure_does_not_combine():
    data = data_of(EXAMPLES / "duo-mdma.yaml")
    a = data["participants"][0]
    a["relationship"]["pressure_to_take_part"] = "no"
    a["relationship"]["mainly_to_help_or_please_other"] = "no"
    report = screen(data, today=TODAY, engine="python")
    assert not combinations_found(report)  # stopped medication, dissociation and trauma remain, no pressure


def test_a_combination_stays_in_its_participants_view():
    report = screen(read_intake(EXAMPLES / "duo-mdma.yaml"), today=TODAY, engine="python")
    assert not any(PRESSURE in f.id for f in report.view_for("B").findings)


@pytest.mark.parametrize("engine", ["python", "cross-check"])
def test_thin_setting_has_no_safe_way_home(engine):
    report = screen(read_intake(EXAMPLES / "cases" / "thin-setting-duo-lsd.yaml"), today=TODAY, engine=engine)
    found = combinations_found(report)
    assert set(found) == {f"session:{HOME}"}  # the shared plan: one finding, not one per participant
    finding = found[f"session:{HOME}"]
    assert finding.participants == ["A", "B"]
    assert set(finding.rests_on) == {
        "A:setting.no-transport-plan",
        "B:setting.no-transport-plan",
        "session:setting.lsd-session-shorter-than-its-effects",
        "session:setting.one-facilitator-for-duo",
        "session:setting.facilitator-not-vetted",
        "session:setting.no-integration",
    }
    assert summary_in(report).address_first[0].finding == f"session:{HOME}"


def test_thin_setting_with_a_way_home_does_not_combine():
    data = data_of(EXAMPLES / "cases" / "thin-setting-duo-lsd.yaml")
    for person in data["participants"]:
        person["plan"]["transport_plan"] = "yes"
    report = screen(data, today=TODAY, engine="python")
    assert not combinations_found(report)


def test_each_declared_example_holds(book):
    assert {c.id for c in book.combinations} == {PRESSURE, HOME}
    for combination in book.combinations:
        assert {e.expect for e in combination.examples} == {"flag", "no-flag"}
        for example in combination.examples:
            assert holds(combination, set(example.flagged)) == (example.expect == "flag"), example.name


def entry(cid: str, of: list[str], at_least: int = 1, examples=None):
    text = data_of(loading.default_rules_dir() / "combinations.yaml")["combinations"][1]
    item = copy.deepcopy(text)
    item.update(id=cid, combines=[{"of": of, "at_least": at_least}])
    item["examples"] = examples or [
        {"name": "all flagged", "expect": "flag", "flagged": [r for r in of if not r.startswith("combination.")]},
        {"name": "nothing flagged", "expect": "no-flag", "flagged": []},
    ]
    return item


def messages(problems: list[Problem]) -> str:
    return " | ".join(p.message for p in problems)


def test_loader_refuses_an_unknown_rule(book):
    problems: list[Problem] = []
    parse_combinations({"combinations": [entry("combination.x", ["setting.no-such-rule"])]}, {r.id for r in book.rules}, problems)
    assert "combines unknown rule 'setting.no-such-rule'" in messages(problems)


def test_loader_refuses_a_cycle(book):
    problems: list[Problem] = []
    items = [
        entry("combination.one", ["combination.two"], examples=[{"name": "none", "expect": "no-flag", "flagged": []}] * 2),
        entry("combination.two", ["combination.one"], examples=[{"name": "none", "expect": "no-flag", "flagged": []}] * 2),
    ]
    parse_combinations({"combinations": items}, {r.id for r in book.rules}, problems)
    assert "a cycle: combination.one -> combination.two -> combination.one" in messages(problems)


def test_loader_refuses_a_threshold_that_never_holds_and_a_wrong_example(book):
    problems: list[Problem] = []
    items = [
        entry("combination.never", ["setting.no-integration"], at_least=2),
        entry(
            "combination.wrong",
            ["setting.no-integration"],
            examples=[
                {"name": "claims no flag", "expect": "no-flag", "flagged": ["setting.no-integration"]},
                {"name": "nothing", "expect": "no-flag", "flagged": []},
            ],
        ),
    ]
    parse_combinations({"combinations": items}, {r.id for r in book.rules}, problems)
    text = messages(problems)
    assert "at_least 2 of 1 rules never holds" in text
    assert "example 'claims no flag' expects no-flag" in text


def test_loader_refuses_examples_of_one_kind_only(book):
    problems: list[Problem] = []
    only_flag = [{"name": "all flagged", "expect": "flag", "flagged": ["setting.no-integration"]}] * 2
    parse_combinations(
        {"combinations": [entry("combination.one-sided", ["setting.no-integration"], examples=only_flag)]},
        {r.id for r in book.rules},
        problems,
    )
    assert "combination.one-sided: give examples that must flag and that must not" in messages(problems)
    problems = []
    parse_combinations(
        {"combinations": [entry("combination.both", ["setting.no-integration"])]}, {r.id for r in book.rules}, problems
    )
    assert problems == []


def test_loader_refuses_a_verdict(book):
    problems: list[Problem] = []
    item = entry("combination.verdict", ["setting.no-integration"])
    item["summary"] = "This participant is not suitable for the session as planned."
    parse_combinations({"combinations": [item]}, {r.id for r in book.rules}, problems)
    assert "combination.verdict: summary" in messages(problems)


def test_load_refuses_a_rules_folder_whose_combination_is_unknown(tmp_path):
    root = tmp_path / "rules"
    shutil.copytree(loading.default_rules_dir(), root)
    data = data_of(root / "combinations.yaml")
    data["combinations"][0]["combines"][0]["of"].append("readiness.not-a-rule")
    (root / "combinations.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RulebookError) as raised:
        loading.load(root)
    assert "combines unknown rule 'readiness.not-a-rule'" in str(raised.value)


def test_a_question_left_open_is_not_counted_as_a_sign_of_pressure():
    data = data_of(EXAMPLES / "duo-mdma.yaml")
    a = data["participants"][0]
    a["relationship"]["pressure_to_take_part"] = "unknown"
    a["relationship"]["mainly_to_help_or_please_other"] = "unknown"
    report = screen(data, today=TODAY, engine="python")
    assert not combinations_found(report)
    # each open question is still raised, in its own finding: never read as no
    titles = [f.title for f in report.findings if f.subject == "A"]
    assert any(t.startswith("Not answered: ") and "pressure" in t.lower() for t in titles)
