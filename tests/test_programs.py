"""Programs: the same intake under each framework gives the flags its sources say; both engines
agree under every program; a broken program file is reported with file, line and a fix."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys

import pytest
from conftest import ENGINES, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import intakes

from screening import RulebookError, ScreeningError, load_rulebook, screen
from screening.authoring.examples import EXAMPLE_DATE, run_program_examples
from screening.rulebook.programs import load_programs, resolve

PROGRAMS = ["default", "oregon-ops", "colorado-nmp", "clinical-trial", "practice"]


def _intake(book, session=None, participant=None):
    intake = {"session": copy.deepcopy(book.baseline["session"]), "participants": [copy.deepcopy(book.baseline["participant"])]}
    intake["session"].update(session or {})
    for section, answers in (participant or {}).items():
        if isinstance(answers, dict):
            intake["participants"][0][section].update(answers)
        else:
            intake["participants"][0][section] = answers
    return intake


def _flags(report):
    return {f.rule_id: f.severity for f in report.flags}


AGE_20 = {"person": {"age": 20}}
LITHIUM_20_DAYS = {
    "medications": [{"name": "lithium", "status": "stopped", "last_taken": "2026-11-11", "stopped_with_prescriber": "yes"}]
}
LITHIUM_40_DAYS = {
    "medications": [{"name": "lithium", "status": "stopped", "last_taken": "2026-10-22", "stopped_with_prescriber": "yes"}]
}
BP_145_92 = {"physical": {"systolic_bp": 145, "diastolic_bp": 92}}

# (intake, rule, expected severity per program: None = no flag). Written from each program's
# sources, independently of the program files' own examples.
CASES = [
    (
        "a 20-year-old",
        {},
        AGE_20,
        "medical.under-21-psilocybin",
        {"default": "warning", "oregon-ops": "critical", "colorado-nmp": "critical", "clinical-trial": None, "practice": None},
    ),
    (
        "a 20-year-old, trial age range",
        {},
        AGE_20,
        "medical.outside-trial-age-range",
        {"default": None, "oregon-ops": None, "colorado-nmp": None, "clinical-trial": None, "practice": None},
    ),
    (
        "a 70-year-old",
        {},
        {"person": {"age": 70}},
        "medical.outside-trial-age-range",
        {"default": None, "oregon-ops": None, "colorado-nmp": None, "clinical-trial": "critical", "practice": None},
    ),
    ("lithium 20 days before", {}, LITHIUM_20_DAYS, "medication.lithium-within-30-days", {p: "critical" for p in PROGRAMS}),
    ("lithium 40 days before", {}, LITHIUM_40_DAYS, "medication.lithium-within-30-days", {p: None for p in PROGRAMS}),
    (
        "blood pressure 145/92",
        {},
        BP_145_92,
        "cardiovascular.blood-pressure-140-90",
        {
            "default": "warning",
            "oregon-ops": "warning",
            "colorado-nmp": "warning",
            "clinical-trial": "critical",
            "practice": "warning",
        },
    ),
    (
        "a 3-hour psilocybin session at 25 mg",
        {"session_hours": 3},
        {"plan": {"dose_mg": 25}},
        "setting.session-shorter-than-oregon-minimum",
        {"default": "warning", "oregon-ops": "critical", "colorado-nmp": None, "clinical-trial": None, "practice": "info"},
    ),
    (
        "one sober facilitator for one participant",
        {"sober_facilitators": 1},
        {},
        "setting.fewer-monitors-than-protocol",
        {"default": None, "oregon-ops": None, "colorado-nmp": None, "clinical-trial": "warning", "practice": None},
    ),
    (
        "a 5-hour psilocybin session at 25 mg",
        {"session_hours": 5},
        {"plan": {"dose_mg": 25}},
        "setting.session-shorter-than-oregon-minimum",
        {p: None for p in PROGRAMS},
    ),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_same_intake_under_each_program_gives_the_flags_its_sources_say(book, case, engine):
    _, session, participant, rule_id, expected = case
    intake = _intake(book, session, participant)
    for program in PROGRAMS:
        report = screen(intake, program=program, engine=engine, today=EXAMPLE_DATE)
        assert _flags(report).get(rule_id) == expected[program], program


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unanswered_question_oregon_requires_is_flagged_critical_only_under_oregon(book, engine):
    intake = _intake(book, participant={"needs": {"interpreter": "unknown"}})
    oregon = screen(intake, program="oregon-ops", engine=engine, today=EXAMPLE_DATE)
    flag = next(f for f in oregon.flags if f.rule_id == "missing-information.required-by-oregon-ops")
    assert flag.severity == "critical"
    assert [e.field for e in flag.evidence] == ["needs.interpreter"]
    assert any(
        m.field == "needs.interpreter" and "missing-information.required-by-oregon-ops" in m.needed_by
        for m in oregon.missing_information
    )
    default = screen(intake, engine=engine, today=EXAMPLE_DATE)
    assert not any(f.rule_id.startswith("missing-information.required-by") for f in default.flags)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_duo_agreement_left_open_is_required_in_practice(book, baseline_duo, engine):
    baseline_duo["participants"][1]["relationship"]["agreement_check_in_signal"] = "unknown"
    report = screen(baseline_duo, program="practice", engine=engine, today=EXAMPLE_DATE)
    flags = [(f.rule_id, f.participant, f.severity) for f in report.flags if f.rule_id.startswith("missing-information.required")]
    assert flags == [("missing-information.required-by-practice-duo", "B", "warning")]
    assert not screen(baseline_duo, program="practice", engine=engine, today=EXAMPLE_DATE).view_for("A").flags


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("program", PROGRAMS)
def test_every_program_example_passes(book, program, engine):
    results = run_program_examples(book, program, engine)
    assert results or program == "default"
    assert [r for r in results if not r.passed] == []


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_rule_example_passes_under_every_program_where_its_parameters_are_the_defaults(book, program):
    """A rule's examples hold for the parameter defaults; under a program that keeps them, they still pass."""
    from screening.authoring.examples import run_example

    compiled, chosen = resolve(book, program)
    changed = {n for n, c in chosen.meta.parameters.items() if c.value != book.parameters[n].default}
    checked = 0
    for rule in compiled.active:
        if rule.params & changed or rule.path.startswith("programs/"):
            continue  # the program's own examples cover these
        for example in rule.meta.examples:
            result = run_example(compiled, rule, example, "python")
            assert result.passed, (program, rule.id, example.name, result.detail)
            checked += 1
    assert checked > 300


def test_default_reports_equal_todays_apart_from_the_program(book, tmp_path):
    """Without the programs folder (the rulebook as it was) the report is the same but for `program`."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("programs"))
    bare = load_rulebook(tmp_path / "rules")
    assert bare.sha256 == book.sha256  # programs are not part of the rulebook's identity
    for path in sorted((ROOT / "examples").rglob("*.y*ml")) + sorted((ROOT / "examples").glob("*.json")):
        from screening.interop.fhir import read_intake_file

        try:
            intake = read_intake_file(path)
        except ScreeningError:  # a file in examples/ that is not an intake
            continue
        ours = json.loads(screen(intake, today=EXAMPLE_DATE).to_json())
        before = json.loads(screen(intake, rulebook=bare, today=EXAMPLE_DATE).to_json())
        assert ours.pop("program")["id"] == "default"
        before.pop("program")
        assert ours.pop("report_id") != before.pop("report_id")  # the id covers the program too
        # so does each participant's view id (a view names its program): same participants, other ids
        views, views_before = (r["participant_copies"].pop("view_ids") for r in (ours, before))
        assert views.keys() == views_before.keys() and all(views[p] != views_before[p] for p in views)
        assert ours == before, path


def test_a_program_is_compiled_once_and_the_default_is_the_base_rulebook(book):
    first, _ = resolve(book, "oregon-ops")
    again, _ = resolve(book, "oregon-ops")
    assert first is again and first is not book
    assert resolve(book, "default")[0] is book
    assert resolve(first, None)[0] is first


def test_the_report_names_the_program_and_its_hash(book, baseline_individual):
    report = screen(baseline_individual, program="oregon-ops", today=EXAMPLE_DATE)
    program = load_programs(book)["oregon-ops"]
    assert report.program.model_dump() == {"id": "oregon-ops", "version": program.meta.version, "sha256": program.sha256}
    assert report.rulebook.sha256 == book.sha256
    from screening import render_text

    assert "Program: oregon-ops" in render_text(report)


def test_an_unknown_program_is_a_clear_error(baseline_individual):
    with pytest.raises(RulebookError, match="did you mean 'oregon-ops'"):
        screen(baseline_individual, program="oregon")


@pytest.mark.skipif("durable" not in ENGINES, reason="durable_rules does not import here")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), program=st.sampled_from(PROGRAMS))
def test_both_engines_agree_under_every_program(book, data, program):
    intake = data.draw(intakes())
    if data.draw(st.booleans()):  # near the thresholds the programs change
        for person in intake["participants"]:
            person["person"]["age"] = data.draw(st.sampled_from([None, 17, 18, 20, 21, 22, 64, 65, 66]))
            person["physical"]["systolic_bp"], person["physical"]["diastolic_bp"] = data.draw(
                st.sampled_from([(None, None), (139, 89), (140, 80), (130, 90), (145, 92)])
            )
            person["plan"]["dose_mg"] = data.draw(st.sampled_from([None, 4.9, 5, 10, 25, 35]))
        intake["session"]["session_hours"] = data.draw(st.sampled_from([None, 0.5, 1, 2, 3, 4, 5, 6]))
    durable = screen(intake, program=program, engine="durable", today=EXAMPLE_DATE)
    python = screen(intake, program=program, engine="python", today=EXAMPLE_DATE)
    assert durable.model_dump(exclude={"engine"}) == python.model_dump(exclude={"engine"})


# ---------------------------------------------------------------------------- validation


def _broken(tmp_path, text: str, name: str = "oregon-ops"):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    path = tmp_path / "rules" / "programs" / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rulebook(tmp_path / "rules")


def _problems(book) -> list[str]:
    from screening.rulebook.programs import program_problems

    return [str(p) for p in program_problems(book)]


def test_program_mistakes_are_reported_with_file_line_and_did_you_mean(tmp_path):
    original = (ROOT / "rules" / "programs" / "oregon-ops.yaml").read_text(encoding="utf-8")
    text = (
        original.replace("  medical.under-21-psilocybin:\n    to: critical", "  medical.under-21-psilocibin:\n    to: critical")
        .replace("  program_minimum_age:\n    value: 21", "  program_minimum_ag:\n    value: 21")
        .replace("    source: oar-5250\nrequire:", "    source: oar-525\nrequire:")
    )
    problems = _problems(_broken(tmp_path, text))
    lines = original.splitlines()
    assert any(
        p.startswith(
            f"programs/oregon-ops.yaml:{lines.index('  medical.under-21-psilocybin:') + 1}: severity: unknown rule id 'medical.under-21-psilocibin'; did you mean 'medical.under-21-psilocybin'?"
        )
        for p in problems
    ), problems
    assert any(
        p.startswith(
            f"programs/oregon-ops.yaml:{lines.index('  program_minimum_age:') + 1}: parameters: unknown parameter 'program_minimum_ag'; did you mean 'program_minimum_age'?"
        )
        for p in problems
    ), problems
    assert any("unknown source 'oar-525'; did you mean 'oar-5250'?" in p for p in problems), problems


def test_an_override_without_a_source_and_an_undefined_parameter_are_rejected(tmp_path):
    text = """id: trial-x
title: A trial without sources
framework: a protocol
version: "1"
written: 2026-12-01
description: A program written to show the checks at work.
limitations: [none]
parameters:
  trial_minimum_age: {value: null, reason: the protocol has not said yet, source: nowhere}
severity:
  cardiovascular.blood-pressure-140-90: {to: critical, reason: an exclusion in this trial}
"""
    problems = "\n".join(_problems(_broken(tmp_path, text, "trial-x")))
    assert "programs/trial-x.yaml:11: severity.cardiovascular.blood-pressure-140-90.source: Field required" in problems
    shutil.rmtree(tmp_path / "rules")
    problems = "\n".join(
        _problems(
            _broken(
                tmp_path,
                text.replace(", reason: an exclusion in this trial}", ", reason: an exclusion in this trial, source: nowhere}"),
                "trial-x",
            )
        )
    )
    assert "programs/trial-x.yaml:9: parameters.trial_minimum_age: the program leaves the base parameter undefined" in problems
    assert "unknown source 'nowhere'" in problems


def test_a_rule_reading_an_unknown_parameter_is_rejected_with_a_suggestion(tmp_path):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    path = tmp_path / "rules" / "medication-interaction" / "lithium-within-30-days.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("{param: lithium_washout_days}}", "{param: lithium_washout_day}}"),
        encoding="utf-8",
    )
    with pytest.raises(
        RulebookError,
        match=r"lithium-within-30-days.yaml:\d+: when: unknown parameter 'lithium_washout_day'; did you mean 'lithium_washout_days'\?",
    ):
        load_rulebook(tmp_path / "rules")


def test_a_program_value_of_the_wrong_type_is_rejected(tmp_path):
    original = (ROOT / "rules" / "programs" / "clinical-trial.yaml").read_text(encoding="utf-8")
    problems = _problems(_broken(tmp_path, original.replace("    value: 65\n", "    value: 65.5\n"), "clinical-trial"))
    assert any("parameters.trial_maximum_age: trial_maximum_age is a whole number of years" in p for p in problems), problems


# ---------------------------------------------------------------------------- the command line


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "screening", *args], capture_output=True, text=True, input=stdin, cwd=ROOT)


def test_cli_screen_and_batch_under_a_program(book, tmp_path):
    intake = _intake(book, participant=AGE_20)
    path = tmp_path / "intake.json"
    path.write_text(json.dumps(intake))
    done = _cli("screen", str(path), "--format", "json", "--program", "oregon-ops", "--today", "2026-12-01")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["program"]["id"] == "oregon-ops"
    assert {f["rule_id"]: f["severity"] for f in report["flags"]}["medical.under-21-psilocybin"] == "critical"
    lines = "\n".join([json.dumps(intake)] * 3) + "\n"
    done = _cli("screen", "--batch", "-", "--program", "clinical-trial", "--jobs", "2", stdin=lines)
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line)["report"] for line in done.stdout.splitlines() if '"report"' in line[:30]]
    assert [r["program"]["id"] for r in reports] == ["clinical-trial"] * 3
    assert all("medical.under-21-psilocybin" not in {f["rule_id"] for f in r["flags"]} for r in reports)
    done = _cli("screen", "--batch", "-", "--program", "oregon", stdin=lines)
    assert done.returncode == 2 and "did you mean 'oregon-ops'" in done.stderr and not done.stdout


def test_rules_check_lists_the_programs():
    done = _cli("rules", "check")
    assert done.returncode == 0, done.stderr
    assert "programs (5, all valid): clinical-trial" in done.stdout


# ---------------------------------------------------------------------------- FHIR and CDS Hooks


OREGON_VERBATIM = {  # OAR 333-333-5050(3), as the rule words them
    "psychiatric.current_treatment": "Are you currently being treated by a medical, clinical or other healthcare provider for a medical, mental health, or behavioral health condition?",
    "physical.mushroom_allergy": "Have you ever had an allergic reaction to consuming mushrooms or other fungi?",
    "needs.interpreter": "Will you require assistance from an interpreter during an administration session?",
    "psychiatric.thoughts_of_harm_now": "Are you having thoughts of causing harm, or wanting to cause harm, to self or others?",
}


def _items(items):
    for item in items:
        yield item
        yield from _items(item.get("item") or [])


def test_the_oregon_questionnaire_asks_the_form_questions_word_for_word(book):
    from screening.interop import fhir

    base = {i["linkId"]: i for i in _items(fhir.questionnaire()["item"])}
    oregon_q = fhir.questionnaire("oregon-ops")
    oregon = {i["linkId"]: i for i in _items(oregon_q["item"])}
    assert set(oregon) == set(base)  # the same questions: a response is read like any other
    for link, text in OREGON_VERBATIM.items():
        assert oregon[link]["text"] == text
        assert oregon[link]["required"] is True
    assert base["needs.interpreter"]["text"] != OREGON_VERBATIM["needs.interpreter"]
    assert oregon["needs.interpreter"]["prefix"] == "(e)"
    assert oregon_q["url"].endswith("screening-intake-oregon-ops") and oregon_q["derivedFrom"] == [fhir.QUESTIONNAIRE_URL]
    assert fhir.questionnaire("default") == fhir.questionnaire()
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.questionnaire import Questionnaire

    Questionnaire.model_validate(oregon_q) if hasattr(Questionnaire, "model_validate") else Questionnaire.parse_obj(oregon_q)


def test_a_response_to_a_program_questionnaire_is_screened_under_that_program(book):
    pytest.importorskip("fhir.resources")
    from screening.interop import fhir

    intake = _intake(book, participant=AGE_20)
    response = fhir.response_from_intake(intake)
    response["questionnaire"] = fhir.questionnaire("oregon-ops")["url"]
    report = fhir.screen_fhir(response, program="oregon-ops", today=EXAMPLE_DATE)
    assert _flags(report)["medical.under-21-psilocybin"] == "critical"


def test_cds_cards_carry_the_program(book):
    from screening.interop.cds_hooks import card_uuid, cards

    intake = _intake(book, participant=AGE_20)
    default = screen(intake, today=EXAMPLE_DATE)
    oregon = screen(intake, program="oregon-ops", today=EXAMPLE_DATE)
    d_card = next(c for c in cards(default) if "younger than 21" in c["summary"])
    o_card = next(c for c in cards(oregon) if "younger than 21" in c["summary"])
    assert (d_card["indicator"], o_card["indicator"]) == ("warning", "critical")
    assert "program `oregon-ops 2026.12.0`" in o_card["detail"] and "program `default" in d_card["detail"]
    assert d_card["uuid"] == card_uuid("medical.under-21-psilocybin", "A", book.sha256)  # unchanged for default
    assert o_card["uuid"] != d_card["uuid"]


def test_the_worked_example_in_rules_readme_is_a_valid_program_whose_examples_pass(tmp_path):
    import re

    text = (ROOT / "rules" / "README.md").read_text(encoding="utf-8")
    section = text.split("### Worked example: a trial profile", 1)[1]
    program = re.search(r"```yaml\n(id: my-trial\n.*?)```", section, re.DOTALL).group(1)
    book = _broken(tmp_path, program, "my-trial")
    assert _problems(book) == []
    results = run_program_examples(book, "my-trial", "python")
    assert len(results) == 2 and all(r.passed for r in results), results
    report = screen(
        _intake(book, participant={"physical": {"systolic_bp": 136, "diastolic_bp": 80}}),
        rulebook=book,
        program="my-trial",
        today=EXAMPLE_DATE,
    )
    flag = next(f for f in report.flags if f.rule_id == "cardiovascular.blood-pressure-140-90")
    assert "135/85" in report.rules[flag.rule_id].summary


def test_a_text_showing_an_unknown_parameter_is_rejected_with_its_line(tmp_path):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    path = tmp_path / "rules" / "other-medical" / "under-21-psilocybin.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("younger than ${program_minimum_age}.", "younger than ${program_minimum_agee}."), encoding="utf-8"
    )
    line = next(i for i, l in enumerate(text.splitlines(), 1) if l.startswith("summary:"))
    with pytest.raises(
        RulebookError,
        match=rf"under-21-psilocybin.yaml:{line}: summary: unknown parameter \$\{{program_minimum_agee\}}; did you mean 'program_minimum_age'\?",
    ):
        load_rulebook(tmp_path / "rules")
