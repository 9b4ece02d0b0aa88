"""End-to-end clinical cases: realistic intakes screened for real, on every engine.

Each test states the exact set of flags a clinician should see. The per-rule examples (in the
rule files, run by test_rule_examples.py) test one rule at a time; these test how the rules
work together on a whole intake, so a new rule that fires where it should not, or a family of
rules that flags one finding twice, shows up here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import ENGINES

from screening import screen

TODAY = dt.date(2026, 12, 1)


def flagged(intake: dict, engine: str) -> set[tuple[str, str]]:
    return {(f.rule_id, f.participant) for f in screen(intake, engine=engine, today=TODAY).flags}


def _mdma_duo(baseline_duo: dict) -> dict:
    baseline_duo["session"]["substance"] = "mdma"
    for person in baseline_duo["participants"]:
        person["plan"]["dose_mg"] = 120
    return baseline_duo


@pytest.mark.parametrize("engine", ENGINES)
def test_well_prepared_individual_psilocybin_intake_raises_no_flag(engine, baseline_individual):
    assert flagged(baseline_individual, engine) == set()


@pytest.mark.parametrize("engine", ENGINES)
def test_well_prepared_duo_raises_no_flag(engine, baseline_duo):
    assert flagged(baseline_duo, engine) == set()


@pytest.mark.parametrize("engine", ENGINES)
def test_mdma_duo_with_150_95_and_one_partner_pressured_flags_blood_pressure_critical_and_pressure(engine, baseline_duo):
    intake = _mdma_duo(baseline_duo)
    intake["participants"][0]["physical"].update(systolic_bp=150, diastolic_bp=95)
    intake["participants"][1]["relationship"]["pressure_to_take_part"] = "yes"
    assert flagged(intake, engine) == {
        ("cardiovascular.blood-pressure-140-90-mdma", "A"),
        ("relationship.pressure-to-take-part", "B"),
        ("relationship.pressure-reported-by-one", "pair"),
    }
    report = screen(intake, engine=engine, today=TODAY)
    severities = {f.rule_id: f.severity for f in report.flags}
    assert severities["cardiovascular.blood-pressure-140-90-mdma"] == "critical"


@pytest.mark.parametrize("engine", ENGINES)
def test_pressure_reported_privately_stays_out_of_the_other_participants_view(engine, baseline_duo):
    intake = _mdma_duo(baseline_duo)
    intake["participants"][1]["relationship"]["pressure_to_take_part"] = "yes"
    report = screen(intake, engine=engine, today=TODAY)
    assert {f.rule_id for f in report.view_for("A").flags} == set()
    assert {f.rule_id for f in report.view_for("B").flags} == {"relationship.pressure-to-take-part"}


@pytest.mark.parametrize("engine", ENGINES)
def test_150_95_with_psilocybin_is_a_warning_not_the_mdma_critical(engine, baseline_individual):
    baseline_individual["participants"][0]["physical"].update(systolic_bp=150, diastolic_bp=95)
    assert flagged(baseline_individual, engine) == {("cardiovascular.blood-pressure-140-90", "A")}


@pytest.mark.parametrize("engine", ENGINES)
def test_ketamine_with_165_105_and_an_aneurysm_flags_both_blood_pressure_levels_and_the_label_contraindication(
    engine, baseline_individual
):
    baseline_individual["session"]["substance"] = "ketamine"
    baseline_individual["participants"][0]["physical"].update(systolic_bp=165, diastolic_bp=105, aneurysm="yes")
    assert flagged(baseline_individual, engine) == {
        ("cardiovascular.blood-pressure-140-90", "A"),
        ("cardiovascular.blood-pressure-160-100", "A"),
        ("cardiovascular.aneurysm-ketamine", "A"),
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_20_year_old_on_30_mg_psilocybin_for_4_hours_flags_oregon_age_and_session_length(engine, baseline_individual):
    person = baseline_individual["participants"][0]
    person["person"]["age"] = 20
    person["plan"]["dose_mg"] = 30
    baseline_individual["session"]["session_hours"] = 4
    assert flagged(baseline_individual, engine) == {
        ("medical.under-21-psilocybin", "A"),
        ("setting.session-shorter-than-oregon-minimum", "A"),
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_21_year_old_on_30_mg_psilocybin_for_5_hours_raises_no_flag(engine, baseline_individual):
    person = baseline_individual["participants"][0]
    person["person"]["age"] = 21
    person["plan"]["dose_mg"] = 30
    baseline_individual["session"]["session_hours"] = 5
    assert flagged(baseline_individual, engine) == set()


@pytest.mark.parametrize("engine", ENGINES)
def test_duo_with_one_facilitator_and_an_aunt_with_bipolar_flags_staffing_for_both_and_second_degree_history(
    engine, baseline_duo
):
    baseline_duo["session"]["sober_facilitators"] = 1
    baseline_duo["participants"][0]["family_history"]["second_degree_bipolar"] = "yes"
    assert flagged(baseline_duo, engine) == {
        ("setting.one-facilitator-for-duo", "A"),
        ("setting.one-facilitator-for-duo", "B"),
        ("psychosis.family-second-degree", "A"),
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_a_parent_with_schizophrenia_is_a_first_degree_warning_not_the_second_degree_info(engine, baseline_individual):
    baseline_individual["participants"][0]["family_history"]["first_degree_psychotic_disorder"] = "yes"
    report = screen(baseline_individual, engine=engine, today=TODAY)
    assert [(f.rule_id, f.severity) for f in report.flags] == [("psychosis.family-first-degree", "warning")]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("substance", "severity", "rule_id"),
    [
        ("psilocybin", "critical", "psychosis.bipolar-2"),
        ("lsd", "critical", "psychosis.bipolar-2"),
        ("mdma", "warning", "psychosis.bipolar-2-mdma-ketamine"),
        ("ketamine", "warning", "psychosis.bipolar-2-mdma-ketamine"),
    ],
)
def test_bipolar_2_severity_follows_the_programs_for_each_substance(engine, baseline_individual, substance, severity, rule_id):
    baseline_individual["session"]["substance"] = substance
    baseline_individual["participants"][0]["psychiatric"]["bipolar_2"] = "yes"
    report = screen(baseline_individual, engine=engine, today=TODAY)
    assert [(f.rule_id, f.severity) for f in report.flags] == [(rule_id, severity)]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unanswered_active_psychosis_question_is_flagged_critical_and_listed_as_missing(engine, baseline_individual):
    baseline_individual["participants"][0]["psychiatric"]["active_psychosis"] = "unknown"
    report = screen(baseline_individual, engine=engine, today=TODAY)
    assert {(f.rule_id, f.severity) for f in report.flags} == {
        ("psychosis.active-psychosis", "critical"),
        ("missing-information.unanswered-questions", "warning"),
    }
    assert [m.field for m in report.missing_information] == ["psychiatric.active_psychosis"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("other_answer", "rule_id"),
    [
        ("no", "relationship.fear-reported-by-one"),
        ("unknown", "relationship.fear-not-confirmed-by-other"),
        ("yes", "relationship.fear-reported-by-both"),
    ],
)
def test_fear_of_the_other_is_flagged_once_for_the_pair_whatever_the_other_answers(engine, baseline_duo, other_answer, rule_id):
    baseline_duo["participants"][0]["relationship"]["fear_of_other"] = "yes"
    baseline_duo["participants"][1]["relationship"]["fear_of_other"] = other_answer
    fear_flags = {key for key in flagged(baseline_duo, engine) if key[0].startswith("relationship.fear")}
    assert fear_flags == {(rule_id, "pair")}


@pytest.mark.parametrize("engine", ENGINES)
def test_violence_reported_by_one_partner_is_critical_for_that_partner(engine, baseline_duo):
    baseline_duo["participants"][1]["relationship"]["violence_last_year"] = "yes"
    report = screen(baseline_duo, engine=engine, today=TODAY)
    assert [(f.rule_id, f.participant, f.severity) for f in report.flags] == [
        ("relationship.violence-last-year", "B", "critical")
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_parent_and_child_duo_without_agreements_flags_power_and_each_missing_agreement_for_both(engine, baseline_duo):
    for person in baseline_duo["participants"]:
        person["relationship"].update(relation_type="parent_child", agreement_touch="no", agreement_check_in_signal="unknown")
    expected = {
        (rule, pid)
        for pid in ("A", "B")
        for rule in (
            "relationship.power-imbalance",
            "relationship.no-agreement-touch",
            "relationship.no-agreement-check-in-signal",
            "missing-information.unanswered-questions",
        )
    }
    assert flagged(baseline_duo, engine) == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_an_individual_session_gets_only_the_facilitator_authority_rule_of_the_relationship_category(engine, baseline_individual):
    baseline_individual["participants"][0]["plan"]["facilitator_has_authority"] = "yes"
    assert flagged(baseline_individual, engine) == {("relationship.facilitator-has-authority", "A")}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_skipped_medication_section_is_listed_as_missing_not_read_as_taking_nothing(engine, baseline_individual):
    person = baseline_individual["participants"][0]
    person.pop("medication_use", None)
    person["medications"] = []
    report = screen(baseline_individual, engine=engine, today=TODAY)
    assert ("missing-information.medication-question-open", "A") in {(f.rule_id, f.participant) for f in report.flags}
    assert "medication_use.takes_any" in {m.field for m in report.missing_information}


@pytest.mark.parametrize("engine", ENGINES)
def test_yes_to_the_medication_question_with_a_list_raises_nothing_about_the_list(engine, baseline_individual):
    person = baseline_individual["participants"][0]
    person["medication_use"] = {"takes_any": "yes"}
    person["medications"] = [{"name": "ibuprofen 400 mg", "status": "current"}]
    report = screen(baseline_individual, engine=engine, today=TODAY)
    assert "missing-information.medication-question-open" not in {f.rule_id for f in report.flags}
    assert "medication_use.takes_any" not in {m.field for m in report.missing_information}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("substance", "dose", "flagged_rule"),
    [
        ("mdma", 300, "medical.mdma-dose-above-studied"),
        ("ketamine", 500, "medical.ketamine-dose-above-studied"),
        ("psilocybin", 80, "medical.psilocybin-dose-above-studied"),
        ("mdma", 120, None),
        ("mdma", 180, None),
        ("ketamine", 56, None),
        ("psilocybin", 25, None),
    ],
)
def test_a_dose_above_the_studied_range_is_flagged_and_a_typical_dose_never(
    engine, baseline_individual, substance, dose, flagged_rule
):
    baseline_individual["session"]["substance"] = substance
    baseline_individual["participants"][0]["plan"]["dose_mg"] = dose
    dose_rules = {f.rule_id for f in screen(baseline_individual, engine=engine, today=TODAY).flags if "dose-above" in f.rule_id}
    assert dose_rules == ({flagged_rule} if flagged_rule else set())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("plan", "weight", "expected"),
    [
        ({"dose_unit": "g_truffles", "dose_grams": 15}, None, {"medical.psilocybin-dose-in-grams-to-convert"}),
        ({"dose_unit": "g_fresh_mushrooms", "dose_grams": 30}, None, {"medical.psilocybin-dose-in-grams-to-convert"}),
        ({"dose_unit": "g_dried_mushrooms", "dose_grams": 5}, None, {"medical.psilocybin-dried-mushroom-dose-above-studied"}),
        ({"dose_unit": "g_dried_mushrooms", "dose_grams": 2}, None, set()),
        ({"dose_unit": "mg_active_substance", "dose_mg": 25}, 50, {"medical.psilocybin-dose-per-kg-above-studied"}),
        ({"dose_unit": "mg_active_substance", "dose_mg": 25}, 70, set()),
        ({"dose_unit": "mg_active_substance", "dose_mg": 25}, None, set()),
    ],
)
def test_grams_of_truffles_are_never_read_as_milligrams_and_the_dose_per_kg_is_read(
    engine, baseline_individual, plan, weight, expected
):
    baseline_individual["session"]["substance"] = "psilocybin"
    person = baseline_individual["participants"][0]
    person["plan"] = {**{k: v for k, v in person["plan"].items() if k != "dose_mg"}, **plan}
    person["person"]["weight_kg"] = weight
    dose_rules = {f.rule_id for f in screen(baseline_individual, engine=engine, today=TODAY).flags if "dose" in f.rule_id}
    assert dose_rules == expected


def test_grams_without_a_grams_unit_are_refused_naming_the_field(baseline_individual):
    from screening.errors import IntakeError

    baseline_individual["participants"][0]["plan"]["dose_grams"] = 15
    with pytest.raises(IntakeError) as caught:
        screen(baseline_individual, today=TODAY)
    assert "plan.dose_unit" in str(caught.value)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("line", "arrhythmia", "flagged"),
    [("apixaban 5 mg 2dd", "no", True), ("Eliquis", "no", True), ("apixaban 5 mg", "yes", False), ("ibuprofen", "no", False)],
)
def test_a_blood_thinner_with_every_heart_condition_denied_asks_what_it_is_for(
    engine, baseline_individual, line, arrhythmia, flagged
):
    person = baseline_individual["participants"][0]
    person["medication_use"] = {"takes_any": "yes"}
    person["medications"] = [{"name": line, "status": "current"}]
    person["physical"]["arrhythmia"] = arrhythmia
    flags = {f.rule_id: f.severity for f in screen(baseline_individual, engine=engine, today=TODAY).flags}
    assert ("cardiovascular.anticoagulant-without-declared-condition" in flags) is flagged
    if flagged:
        assert flags["cardiovascular.anticoagulant-without-declared-condition"] == "info"
