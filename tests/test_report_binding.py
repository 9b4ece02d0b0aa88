"""A report is bound to what was screened: intake_sha256 over the validated answers, report_id
over the report's content. Both are stable across runs and change with any answer or rule."""

import copy
import datetime as dt
import json
import shutil
import subprocess
import sys

import yaml
from conftest import EXAMPLES, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ANSWERS, intakes

from screening import load_rulebook, parse_intake, screen
from screening.report.model import compute_report_id, intake_sha256
from screening.rulebook.loading import default_rules_dir

TODAY = dt.date(2026, 11, 20)


def test_the_same_intake_gives_the_same_ids_in_another_process():
    report = screen(parse_intake(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())), today=TODAY, engine="python")
    code = (
        "import datetime, yaml; from screening import screen; "
        f"r = screen(yaml.safe_load(open({str(EXAMPLES / 'duo-mdma.yaml')!r})), today=datetime.date(2026, 11, 20), engine='python'); "
        "print(r.report_id, r.intake_sha256)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout.split()
    assert out == [report.report_id, report.intake_sha256]


def test_a_report_id_can_be_checked_from_the_json_alone():
    report = screen(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text()), today=TODAY)
    assert len(report.report_id) == 64 and len(report.intake_sha256) == 64
    assert compute_report_id(report.to_json()) == report.report_id
    assert compute_report_id(json.loads(report.to_json())) == report.report_id
    edited = json.loads(report.to_json())
    edited["flags"][0]["severity"] = "info" if edited["flags"][0]["severity"] != "info" else "warning"
    assert compute_report_id(edited) != report.report_id


def test_two_spellings_of_the_same_answers_have_the_same_intake_hash(baseline_individual):
    spelled = copy.deepcopy(baseline_individual)
    person = spelled["participants"][0]
    # the same answers written in another key order, with the defaults spelt out
    person["psychiatric"] = dict(reversed(list(person["psychiatric"].items())))
    spelled["participants"][0] = dict(reversed(list(person.items())))
    spelled["participants"][0].setdefault("medications", [])
    first, second = screen(baseline_individual, today=TODAY), screen(spelled, today=TODAY)
    assert first.intake_sha256 == second.intake_sha256
    assert first.report_id == second.report_id


def test_a_participant_view_carries_its_own_id_and_the_clinician_report_binds_it(baseline_duo):
    # issue 29: the report id and intake hash rest on both partners' answers, so a view holds neither
    from screening.report.model import Report, compute_view_id

    report = screen(baseline_duo, today=TODAY)
    for pid in ("A", "B"):
        view = report.view_for(pid)
        assert view.report_id == "" and view.intake_sha256 == ""
        assert view.view_id == report.participant_copies.view_ids[pid]
        assert compute_view_id(Report.model_validate_json(view.to_json())) == view.view_id
    assert report.view_for("A").view_id != report.view_for("B").view_id


def test_a_changed_rule_text_changes_the_report_id(tmp_path, baseline_individual):
    baseline_individual["participants"][0]["psychiatric"]["active_psychosis"] = "yes"
    before = screen(baseline_individual, today=TODAY)
    flagged = before.flags[0].rule_id
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    path = next(p for p in rules.rglob("*.yaml") if (yaml.safe_load(p.read_text()) or {}).get("id") == flagged)
    path.write_text(path.read_text().replace("\nsummary: ", "\nsummary: Reworded. ", 1))
    after = screen(baseline_individual, today=TODAY, rulebook=load_rulebook(rules))
    assert after.intake_sha256 == before.intake_sha256
    assert after.rulebook.sha256 != before.rulebook.sha256
    assert after.report_id != before.report_id


def test_another_reference_date_is_another_report(baseline_individual):
    baseline_individual["session"]["planned_date"] = None
    assert (
        screen(baseline_individual, today=TODAY).report_id
        != screen(baseline_individual, today=TODAY + dt.timedelta(days=1)).report_id
    )


def _tri_state_answers(intake: dict):
    for index, person in enumerate(intake["participants"]):
        for group, section in person.items():
            if isinstance(section, dict):
                for key, value in section.items():
                    if value in ANSWERS:
                        yield index, group, key


@settings(max_examples=60, deadline=None)
@given(intakes(), st.data())
def test_any_changed_answer_changes_both_ids(intake, data):
    places = list(_tri_state_answers(intake))
    index, group, key = data.draw(st.sampled_from(places))
    changed = copy.deepcopy(intake)
    section = changed["participants"][index][group]
    section[key] = data.draw(st.sampled_from([a for a in ANSWERS if a != section[key]]))
    before, after = screen(intake, today=TODAY, engine="python"), screen(changed, today=TODAY, engine="python")
    assert before.intake_sha256 != after.intake_sha256
    assert before.report_id != after.report_id
    assert intake_sha256(parse_intake(intake)) == before.intake_sha256
