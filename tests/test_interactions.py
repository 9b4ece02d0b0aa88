"""Medication interactions end to end: realistic medication lists screened for real, on every engine.

The rule files test each interaction rule with its own examples. These tests check how the
medication rules work together on a whole intake (which flags a clinician sees, at which
severity), how washout windows and "stopped without the prescriber" are counted, and, through
the interaction matrix below, that every planned (medication class, substance) pair raises
exactly the intended rules (the matrix is data: rules/interactions/cases.yaml): a missing,
mis-scoped or duplicated rule fails here.
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml
from conftest import ENGINES

from screening import screen
from screening.rulebook import loading as rulebook
from screening.rulebook.conditions import walk

SESSION_DATE = dt.date(2026, 12, 1)  # the baseline's planned date; washout is counted to it
SUBSTANCES = ("psilocybin", "lsd", "dmt", "mdma", "ayahuasca", "ketamine")
CLASSIC = ("psilocybin", "lsd", "dmt")

BLUNTING = "medication.serotonin-reuptake-inhibitor-blunting"
AYA_ANTIDEPRESSANT = "medication.serotonergic-antidepressant-with-ayahuasca"
AYA_TRAMADOL = "medication.tramadol-with-ayahuasca"
AYA_DXM = "medication.dextromethorphan-with-ayahuasca"
AYA_SUPPLEMENT = "medication.serotonergic-supplement-with-ayahuasca"
AYA_TRIPTAN = "medication.triptan-with-ayahuasca"
AYA_ENTACTOGEN = "medication.entactogen-with-ayahuasca"
AYA_STIMULANT = "medication.stimulant-with-ayahuasca"
TRAMADOL_CRITICAL = "medication.tramadol-with-mdma-or-ketamine"
TRAMADOL_CLASSIC = "medication.tramadol-with-classic-psychedelic"
DXM_MDMA = "medication.dextromethorphan-with-mdma"
KETAMINE_DEPRESSANT = "medication.ketamine-with-alcohol-opioid-or-ghb"
KETAMINE_SEDATIVE = "medication.ketamine-with-sedatives"
KETAMINE_BP = "medication.ketamine-with-stimulant-or-maoi"
PREGABALIN_MDMA = "medication.pregabalin-with-mdma"
STIMULANT_MDMA = "medication.stimulant-with-mdma"
CYP2D6_MDMA = "medication.cyp2d6-inhibitor-with-mdma"
BOOSTER_MDMA = "medication.pharmacokinetic-booster-with-mdma"
MAOI_CLASSIC = "medication.maoi-with-classic-psychedelic"
AYA_LABEL_MAOI = "medication.maoi-contraindicated-drug-with-ayahuasca"
MAOI_CRITICAL = "medication.maoi-with-mdma-or-ayahuasca"
LITHIUM = "medication.lithium-within-30-days"
ANTIPSYCHOTIC = "medication.antipsychotic-within-30-days"
SELF_STOP_ANTIDEPRESSANT = "medication.stopped-on-own-antidepressant"
SELF_STOP_MOOD = "medication.stopped-on-own-mood-stabiliser-or-antipsychotic"
SELF_STOP_SEDATIVE = "medication.stopped-on-own-sedative"
UNRECOGNISED = "missing-information.unrecognised-medication"


# The interaction matrix is data that rule authors edit: rules/interactions/cases.yaml holds, per
# medication name as a person writes it, the exact medication flags each substance should raise.
# A substance not listed under a name raises none.
_CASES = yaml.safe_load((rulebook.default().root / "interactions" / "cases.yaml").read_text(encoding="utf-8"))["cases"]
MATRIX: dict[str, dict[str, dict[str, str]]] = {
    name: {substance: dict((row or {}).get(substance) or {}) for substance in SUBSTANCES} for name, row in _CASES.items()
}

MATRIX_CASES = [(name, substance) for name in MATRIX for substance in SUBSTANCES]


@pytest.fixture(scope="module")
def baseline():
    book = rulebook.default()
    return {"session": book.baseline["session"], "participant": book.baseline["participant"]}


def intake(baseline, substance: str, *medications: dict) -> dict:
    session = copy.deepcopy(baseline["session"])
    session["substance"] = substance
    person = copy.deepcopy(baseline["participant"])
    if substance == "mdma":
        person["plan"]["dose_mg"] = 120
    person["medications"] = list(medications)
    return {"session": session, "participants": [person]}


def stopped(name: str, days_before: int, with_prescriber: str | None = "yes") -> dict:
    med = {"name": name, "status": "stopped", "last_taken": (SESSION_DATE - dt.timedelta(days=days_before)).isoformat()}
    if with_prescriber is not None:
        med["stopped_with_prescriber"] = with_prescriber
    return med


def current(name: str) -> dict:
    return {"name": name, "status": "current"}


def flags(case: dict, engine: str) -> dict[str, str]:
    """Every flag for participant A: {rule id: severity}."""
    return {f.rule_id: f.severity for f in screen(case, engine=engine).flags if f.participant == "A"}


def medication_flags(case: dict, engine: str) -> dict[str, str]:
    return {rule: severity for rule, severity in flags(case, engine).items() if rule.startswith("medication.")}


# ------------------------------------------------------------------------------ clinical cases


@pytest.mark.parametrize("engine", ENGINES)
def test_current_zoloft_with_mdma_is_the_blunting_information_not_a_critical_flag(engine, baseline):
    assert flags(intake(baseline, "mdma", current("Zoloft 50mg daily")), engine) == {BLUNTING: "info"}


@pytest.mark.parametrize("engine", ENGINES)
def test_prozac_stopped_30_days_before_psilocybin_is_still_in_its_42_day_window(engine, baseline):
    assert flags(intake(baseline, "psilocybin", stopped("Prozac 20mg", 30)), engine) == {BLUNTING: "info"}


@pytest.mark.parametrize("engine", ENGINES)
def test_prozac_stopped_43_days_before_psilocybin_raises_no_flag(engine, baseline):
    assert flags(intake(baseline, "psilocybin", stopped("Prozac 20mg", 43)), engine) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_sertraline_stopped_15_days_before_psilocybin_is_past_its_14_day_window(engine, baseline):
    assert flags(intake(baseline, "psilocybin", stopped("sertraline", 15)), engine) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_sertraline_stopped_10_days_before_ayahuasca_is_critical(engine, baseline):
    assert flags(intake(baseline, "ayahuasca", stopped("sertraline", 10)), engine) == {AYA_ANTIDEPRESSANT: "critical"}


@pytest.mark.parametrize("engine", ENGINES)
def test_fluoxetine_stopped_5_weeks_before_ayahuasca_is_still_critical(engine, baseline):
    assert flags(intake(baseline, "ayahuasca", stopped("fluoxetine", 35)), engine) == {AYA_ANTIDEPRESSANT: "critical"}


@pytest.mark.parametrize("engine", ENGINES)
def test_tramadol_with_ketamine_is_critical_twice_as_tramadol_and_as_an_opioid(engine, baseline):
    assert flags(intake(baseline, "ketamine", current("Ultram 50mg as needed")), engine) == {
        TRAMADOL_CRITICAL: "critical",
        KETAMINE_DEPRESSANT: "critical",
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_tramadol_with_psilocybin_is_a_seizure_threshold_warning(engine, baseline):
    assert flags(intake(baseline, "psilocybin", current("tramadol")), engine) == {TRAMADOL_CLASSIC: "warning"}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_glass_of_wine_before_ketamine_is_critical(engine, baseline):
    wine = {"name": "alcohol", "dose": "a glass of wine with dinner", "status": "current"}
    report = screen(intake(baseline, "ketamine", wine), engine=engine)
    assert {f.rule_id: f.severity for f in report.flags} == {KETAMINE_DEPRESSANT: "critical"}
    evidence = " ".join(str(item.answer) for f in report.flags for item in f.evidence)
    assert "alcohol" in evidence


@pytest.mark.parametrize("engine", ENGINES)
def test_alcohol_last_drunk_3_days_before_ketamine_raises_no_flag(engine, baseline):
    assert flags(intake(baseline, "ketamine", stopped("alcohol", 3)), engine) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_an_antidepressant_stopped_without_the_prescriber_raises_the_self_stop_warning(engine, baseline):
    # 20 days: past the 14-day blunting window, so only the self-stop flag remains
    assert flags(intake(baseline, "psilocybin", stopped("Lexapro", 20, with_prescriber="no")), engine) == {
        SELF_STOP_ANTIDEPRESSANT: "warning",
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_prescriber_involvement_answered_unknown_counts_as_stopped_on_ones_own(engine, baseline):
    # facts.py counts any answer other than "yes" as a stop without the prescriber
    assert flags(intake(baseline, "psilocybin", stopped("Lexapro", 20, with_prescriber="unknown")), engine) == {
        SELF_STOP_ANTIDEPRESSANT: "warning",
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_prescriber_involvement_left_out_counts_as_stopped_on_ones_own(engine, baseline):
    assert flags(intake(baseline, "psilocybin", stopped("Lexapro", 20, with_prescriber=None)), engine) == {
        SELF_STOP_ANTIDEPRESSANT: "warning",
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_an_antidepressant_stopped_with_the_prescriber_raises_no_self_stop_flag(engine, baseline):
    assert flags(intake(baseline, "psilocybin", stopped("Lexapro", 20, with_prescriber="yes")), engine) == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_lithium_stopped_on_own_40_days_before_is_the_self_stop_flag_not_the_30_day_rule(engine, baseline):
    assert flags(intake(baseline, "psilocybin", stopped("lithium", 40, with_prescriber="no")), engine) == {
        SELF_STOP_MOOD: "warning",
        # lithium with bipolar disorder and mania both answered "no": what was it prescribed for? (issue 28)
        "mood.mood-stabiliser-or-antipsychotic-without-declared-history": "warning",
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_a_benzodiazepine_stopped_on_own_before_mdma_raises_the_sedative_self_stop_flag(engine, baseline):
    assert flags(intake(baseline, "mdma", stopped("Klonopin", 10, with_prescriber="no")), engine) == {
        SELF_STOP_SEDATIVE: "warning",
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_sertraline_stopped_on_own_10_days_before_ayahuasca_raises_critical_and_self_stop(engine, baseline):
    assert flags(intake(baseline, "ayahuasca", stopped("sertraline", 10, with_prescriber="no")), engine) == {
        AYA_ANTIDEPRESSANT: "critical",
        SELF_STOP_ANTIDEPRESSANT: "warning",
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unknown_medication_with_ketamine_still_raises_the_unrecognised_flag(engine, baseline):
    case = intake(baseline, "ketamine", current("Zorblax 20mg"), current("Xanax 0.5mg"))
    assert flags(case, engine) == {UNRECOGNISED: "warning", KETAMINE_SEDATIVE: "warning"}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_medication_with_no_timing_answer_counts_as_current(engine, baseline):
    assert flags(intake(baseline, "mdma", {"name": "Norvir"}), engine) == {BOOSTER_MDMA: "critical"}


@pytest.mark.parametrize("engine", ENGINES)
def test_mdma_with_paroxetine_explains_blunting_and_raised_exposure_separately(engine, baseline):
    report = screen(intake(baseline, "mdma", current("Paxil 20mg")), engine=engine)
    by_rule = {f.rule_id: f for f in report.flags}
    assert set(by_rule) == {BLUNTING, CYP2D6_MDMA}
    assert "CYP2D6" in report.rules[CYP2D6_MDMA].explanation
    assert "CYP2D6" not in report.rules[BLUNTING].explanation


# ------------------------------------------------------------------------------ the matrix


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("name", "substance"), MATRIX_CASES)
def test_interaction_matrix(engine, name, substance, baseline):
    assert medication_flags(intake(baseline, substance, current(name)), engine) == MATRIX[name][substance]


def test_the_matrix_names_only_known_substances_and_rules(book):
    known = {r.id for r in book.active}
    for name, row in _CASES.items():
        assert set(row or {}) <= set(SUBSTANCES), name
        assert {rule for by_rule in (row or {}).values() for rule in by_rule} <= known, name


def test_the_matrix_covers_every_rule_about_a_current_medication():
    """Each interaction rule that reads a current medication appears in the matrix at least once."""
    book = rulebook.default()
    expected = {rule for row in MATRIX.values() for by_rule in row.values() for rule in by_rule}
    interaction_rules = {
        r.id for r in book.active if r.id.startswith("medication.") and any(leaf.op == "taking" for leaf in walk(r.condition))
    }
    assert interaction_rules - expected == set()
