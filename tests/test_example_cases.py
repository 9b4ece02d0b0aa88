"""The example intakes in examples/cases/: one realistic intake per rule category, with the flags
a clinician should see on it.

Each expected set was checked against the rule texts by hand: the flags that must be there for
the story in the file's header, and nothing else. A rule that stops firing, fires on the wrong
person, or a new rule that fires where it should not, changes a set and fails here.
"""

from __future__ import annotations

import pytest
from conftest import ENGINES, EXAMPLES

from screening import read_intake, screen

CASES = EXAMPLES / "cases"

EXPECTED: dict[str, set[tuple[str, str, str]]] = {
    "psychosis-family-history-psilocybin": {
        ("warning", "psychosis.family-first-degree", "A"),
        ("info", "psychosis.family-second-degree", "A"),
    },
    "suicide-attempt-ketamine": {
        # before ketamine a recent attempt asks for a risk assessment: esketamine is indicated in
        # depression with acute suicidal ideation or behaviour (the other substances keep critical)
        ("warning", "mood.suicide-attempt-12-months-ketamine", "A"),
        ("warning", "mood.history-of-harm", "A"),
        ("info", "medical.current-treatment", "A"),
        # sertraline with ketamine: no interaction rule (the chart finds ketamine effective with and without it)
    },
    "breastfeeding-mdma": {
        ("critical", "pregnancy.breastfeeding", "A"),
        ("warning", "missing-information.unanswered-questions", "A"),  # contraception after the session unanswered
    },
    "hypertension-arrhythmia-psilocybin": {
        ("critical", "cardiovascular.blood-pressure-160-100", "A"),
        ("warning", "cardiovascular.blood-pressure-140-90", "A"),
        ("warning", "cardiovascular.arrhythmia", "A"),
    },
    "young-low-weight-liver-mdma": {
        ("warning", "medical.liver-disease", "A"),
        ("warning", "medical.mdma-low-body-weight", "A"),
        ("info", "medical.needs-interpreter", "A"),
    },
    "trauma-low-support-psilocybin": {
        ("warning", "readiness.frequent-dissociation", "A"),
        ("info", "readiness.complex-trauma", "A"),
        ("warning", "readiness.no-support-contact", "A"),
        ("warning", "readiness.unstable-living", "A"),
        ("warning", "readiness.no-own-intention", "A"),  # answered unsure: not read as a yes
        ("warning", "missing-information.unanswered-questions", "A"),
    },
    "antidepressant-ayahuasca": {
        ("critical", "medication.serotonergic-antidepressant-with-ayahuasca", "A"),  # escitalopram 12 days before
        ("critical", "medication.serotonergic-supplement-with-ayahuasca", "A"),  # St John's wort, current
        ("warning", "medication.stopped-on-own-antidepressant", "A"),  # stopped without the prescriber
        (
            "warning",
            "medication.several-serotonergic-drugs-with-mdma-or-ayahuasca",
            "A",
        ),  # escitalopram and St John's wort within 14 days
        # ibuprofen: recognised, no interaction rule
    },
    "pressure-duo-psilocybin": {
        ("warning", "relationship.pressure-to-take-part", "B"),
        ("warning", "relationship.mainly-to-help-or-please-other", "B"),
        ("warning", "relationship.pressure-reported-by-one", "pair"),
        ("warning", "relationship.no-agreement-touch", "A"),
        ("warning", "relationship.no-agreement-touch", "B"),
    },
    "thin-setting-duo-lsd": {
        (severity, rule, who)
        for who in ("A", "B")
        for severity, rule in (
            ("warning", "setting.one-facilitator-for-duo"),
            ("warning", "setting.no-integration"),
            ("warning", "setting.no-transport-plan"),
            ("warning", "setting.facilitator-not-vetted"),  # a retreat; nobody checked the facilitator's training
            ("warning", "setting.lsd-session-shorter-than-its-effects"),  # six hours booked; LSD acts 6.7-11 h
            # together: two intoxicated people leaving with no way home (rules/combinations.yaml, issue 30)
            ("critical", "combination.no-safe-way-home"),
        )
    },
    "unanswered-lsd": {
        ("critical", "mood.thoughts-of-harm-now", "A"),  # unanswered: never read as "no"
        ("warning", "missing-information.unanswered-questions", "A"),
        ("warning", "missing-information.unrecognised-medication", "A"),  # "a herbal sleep tea"
        ("info", "medication.serotonin-reuptake-inhibitor-blunting", "A"),  # Zoloft, read from the same line
        ("warning", "setting.lsd-session-shorter-than-its-effects", "A"),  # a 7-hour session for LSD
    },
}


def test_every_case_file_has_expectations():
    assert {p.stem for p in CASES.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_case_gives_the_flags_a_clinician_should_see(name, engine):
    report = screen(read_intake(CASES / f"{name}.yaml"), engine=engine)
    assert {(f.severity, f.rule_id, f.participant) for f in report.flags} == EXPECTED[name]


def test_unanswered_questions_are_listed_by_name():
    report = screen(read_intake(CASES / "unanswered-lsd.yaml"))
    missing = {m.field for m in report.missing_information}
    assert {"psychiatric.thoughts_of_harm_now", "family_history.first_degree_bipolar", "physical.systolic_bp"} <= missing


def test_one_partners_private_answers_stay_out_of_the_others_view():
    report = screen(read_intake(CASES / "pressure-duo-psilocybin.yaml"))
    view_a = report.view_for("A")
    assert {f.rule_id for f in view_a.flags} == {"relationship.no-agreement-touch"}
    assert "pressure" not in view_a.to_json()
