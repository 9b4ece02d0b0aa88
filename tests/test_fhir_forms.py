"""FHIR as intake systems write it: a republished Questionnaire (own canonical base, version),
every CodeSystem and ValueSet published, valueBoolean and valueQuantity answers from forms
tools, and searchset Bundles from a FHIR search. Resources are checked with fhir.resources."""

import copy
import json

import pytest
from test_fhir import _find, fill_intake, items_by_link

from screening import __version__, screen
from screening.cli.commands import main
from screening.errors import IntakeError
from screening.interop import fhir

pytest.importorskip("fhir.resources")
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.valueset import ValueSet

OWN_BASE = "https://forms.example.org/fhir"


def _error(resource, **options):
    with pytest.raises(IntakeError) as caught:
        fhir.intake_from_fhir(resource, **options)
    return str(caught.value)


@pytest.fixture
def response(baseline_individual):
    return fill_intake(fhir.questionnaire(), baseline_individual)


def _set(response, link_id, answer):
    _find(response["item"], link_id)["answer"] = [answer]


# ------------------------------------------------------------------ terminology


def _systems_used(questionnaire):
    return {
        o["valueCoding"]["system"] for item in items_by_link(questionnaire).values() for o in item.get("answerOption", [])
    } | {
        c["answerCoding"]["system"]
        for item in items_by_link(questionnaire).values()
        for c in item.get("enableWhen", [])
        if "answerCoding" in c
    }


def test_every_code_system_the_questionnaire_uses_is_published_with_every_code():
    questionnaire = fhir.questionnaire()
    published = {cs["url"]: cs for cs in fhir.code_systems()}
    assert set(published) == _systems_used(questionnaire) and len(published) == 8  # plan.dose_unit added its own (issue 28)
    for item in items_by_link(questionnaire).values():
        for option in item.get("answerOption", []):
            coding = option["valueCoding"]
            concepts = {c["code"]: c["display"] for c in published[coding["system"]]["concept"]}
            assert concepts[coding["code"]] == coding["display"]
    for system in published.values():
        CodeSystem.model_validate(system)
        assert system["count"] == len(system["concept"])


def test_every_code_system_has_a_value_set_and_the_bundle_validates():
    sets = fhir.value_sets()
    assert [v["compose"]["include"][0]["system"] for v in sets] == [c["url"] for c in fhir.code_systems()]
    for value_set in sets:
        ValueSet.model_validate(value_set)
    bundle = fhir.terminology()
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) == 16


def test_one_dont_know_code_in_every_system_and_no_machine_made_displays():
    for system in fhir.code_systems():
        codes = {c["code"]: c["display"] for c in system["concept"]}
        assert "unsure" not in codes
        if system["url"].endswith(("tri-state-answer", "setting", "relation_type", "conflict_level", "medications.status")):
            assert codes["unknown"] == "Unsure / don't know"
        for code, display in codes.items():
            assert code in fhir.DISPLAYS or code in ("yes", "no"), f"{system['url']}: no written display for {code}"
            assert "_" not in display
    displays = {
        o["valueCoding"]["code"]: o["valueCoding"]["display"]
        for o in items_by_link(fhir.questionnaire())["session.substance"]["answerOption"]
    }
    assert displays["mdma"] == "MDMA" and displays["lsd"] == "LSD" and displays["dmt"] == "DMT"
    relation = {
        o["valueCoding"]["code"]: o["valueCoding"]["display"]
        for o in items_by_link(fhir.questionnaire())["relationship.relation_type"]["answerOption"]
    }
    assert relation["parent_child"] == "Parent and child"


def test_cli_prints_the_terminology_bundle(capsys):
    assert main(["fhir", "terminology"]) == 0
    assert json.loads(capsys.readouterr().out) == fhir.terminology()


# ------------------------------------------------------------------ canonical base and version


def test_a_questionnaire_republished_under_another_base_is_valid_and_its_responses_are_read(baseline_individual):
    own = fhir.questionnaire(base=OWN_BASE)
    Questionnaire.model_validate(own)
    assert own["url"] == f"{OWN_BASE}/Questionnaire/screening-intake"
    assert _systems_used(own) == {cs["url"] for cs in fhir.code_systems(OWN_BASE)}
    assert all(url.startswith(OWN_BASE + "/") for url in _systems_used(own))
    response = fill_intake(own, baseline_individual)
    assert fhir.intake_from_fhir(response, base=OWN_BASE) == fhir.intake_from_fhir(
        fill_intake(fhir.questionnaire(), baseline_individual)
    )
    assert "expected https://screening.invalid/fhir/Questionnaire/screening-intake" in _error(response)


def test_a_response_with_the_default_systems_is_refused_under_another_base(response):
    response["questionnaire"] = f"{OWN_BASE}/Questionnaire/screening-intake"
    assert "not one of the question's answer options" in _error(response, base=OWN_BASE)


def test_the_cli_reads_a_response_to_a_republished_questionnaire(tmp_path, baseline_individual, capsys):
    path = tmp_path / "response.json"
    path.write_text(json.dumps(fill_intake(fhir.questionnaire(base=OWN_BASE), baseline_individual)))
    assert main(["screen", str(path), "--fhir-base", OWN_BASE + "/", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["participants"] == ["A"]
    assert main(["screen", str(path)]) == 3
    assert main(["fhir", "questionnaire", "--base", OWN_BASE]) == 0
    assert json.loads(capsys.readouterr().out)["url"].startswith(OWN_BASE)


@pytest.mark.parametrize("bad", ["forms.example.org/fhir", "ftp://x.org", "https://x.org/a b", "https://x.org|1"])
def test_a_base_that_is_not_an_absolute_http_url_is_a_usage_error(bad, capsys):
    with pytest.raises(ValueError, match="absolute http"):
        fhir.questionnaire(base=bad)
    with pytest.raises(SystemExit) as exit_info:
        main(["fhir", "questionnaire", "--base", bad])
    assert exit_info.value.code == 2 and "absolute http" in capsys.readouterr().err


def test_the_questionnaire_version_is_checked_when_the_response_names_one(response):
    response["questionnaire"] = f"{fhir.QUESTIONNAIRE_URL}|{__version__}"
    assert fhir.intake_from_fhir(response).participants[0].participant_id == "A"
    response["questionnaire"] = f"{fhir.QUESTIONNAIRE_URL}|9.9.9"
    message = _error(response)
    assert "version 9.9.9" in message and f"reads version {__version__}" in message


# ------------------------------------------------------------------ how forms tools answer


def test_yes_no_questions_accept_value_boolean(response):
    _set(response, "psychiatric.bipolar_1", {"valueBoolean": True})
    _set(response, "physical.arrhythmia", {"valueBoolean": False})
    QuestionnaireResponse.model_validate(response)
    intake = fhir.intake_from_fhir(response)
    assert intake.participants[0].psychiatric.bipolar_1 == "yes"
    assert intake.participants[0].physical.arrhythmia == "no"
    assert "psychosis.bipolar-1" in {f.rule_id for f in screen(intake).flags}


def test_value_boolean_is_refused_where_the_question_is_not_yes_or_no(response):
    _set(response, "session.setting", {"valueBoolean": True})
    assert "session.setting: expected an answer of type choice (valueCoding), got valueBoolean" in _error(response)


@pytest.mark.parametrize(
    ("link_id", "quantity", "expected"),
    [
        ("person.weight_kg", {"value": 70.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}, 70.5),
        ("person.weight_kg", {"value": 154, "unit": "lb", "system": "http://unitsofmeasure.org", "code": "[lb_av]"}, 69.853225),
        ("person.weight_kg", {"value": 70000, "system": "http://unitsofmeasure.org", "code": "g"}, 70.0),
        ("physical.systolic_bp", {"value": 152, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}, 152),
        ("physical.systolic_bp", {"value": 20, "unit": "kPa", "system": "http://unitsofmeasure.org", "code": "kPa"}, 150),
        ("plan.dose_mg", {"value": 0.025, "system": "http://unitsofmeasure.org", "code": "g"}, 25.0),
    ],
)
def test_measured_numbers_accept_value_quantity_in_ucum_units(response, link_id, quantity, expected):
    _set(response, link_id, {"valueQuantity": quantity})
    QuestionnaireResponse.model_validate(response)
    participant = fhir.intake_from_fhir(response).participants[0]
    group, field = link_id.split(".")
    assert getattr(getattr(participant, group), field) == pytest.approx(expected)


def test_a_blood_pressure_in_kpa_flags_like_the_same_pressure_in_mmhg(response):
    in_mmhg = copy.deepcopy(response)
    _set(in_mmhg, "physical.systolic_bp", {"valueQuantity": {"value": 165, "system": fhir.UCUM, "code": "mm[Hg]"}})
    _set(response, "physical.systolic_bp", {"valueQuantity": {"value": 22, "system": fhir.UCUM, "code": "kPa"}})  # 165.0 mmHg
    flags = [f.rule_id for f in screen(fhir.intake_from_fhir(response)).flags]
    assert flags == [f.rule_id for f in screen(fhir.intake_from_fhir(in_mmhg)).flags]
    assert any("blood-pressure" in rule_id for rule_id in flags)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ({"value": 70, "unit": "stone"}, "needs a UCUM unit"),
        ({"value": 70, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}, "code one of kg, g, [lb_av]"),
        ({"value": 70, "system": "http://snomed.info/sct", "code": "kg"}, "needs a UCUM unit"),
        ({"value": 70, "comparator": "<", "system": "http://unitsofmeasure.org", "code": "kg"}, "comparator"),
        ({"system": "http://unitsofmeasure.org", "code": "kg"}, "numeric value"),
    ],
)
def test_a_quantity_that_cannot_be_read_names_the_link_id(response, quantity, message):
    _set(response, "person.weight_kg", {"valueQuantity": quantity})
    text = _error(response)
    assert "person.weight_kg" in text and message in text


def test_a_fractional_pressure_in_mmhg_is_refused_and_quantity_is_refused_where_nothing_is_measured(response):
    _set(response, "physical.systolic_bp", {"valueQuantity": {"value": 150.5, "system": fhir.UCUM, "code": "mm[Hg]"}})
    assert "physical.systolic_bp: a whole number of mm[Hg] is expected" in _error(response)
    _set(response, "physical.systolic_bp", {"valueInteger": 150})
    _set(response, "person.age", {"valueQuantity": {"value": 40, "system": fhir.UCUM, "code": "a"}})
    assert "person.age: expected an answer of type integer (valueInteger), got valueQuantity" in _error(response)


def test_a_converted_value_outside_the_intake_bounds_is_refused_by_field(response):
    _set(response, "person.weight_kg", {"valueQuantity": {"value": 2000, "system": fhir.UCUM, "code": "[lb_av]"}})  # 907 kg
    assert "weight_kg" in _error(response)


def test_measured_items_carry_their_ucum_unit_in_the_questionnaire():
    items = items_by_link(fhir.questionnaire())
    for link_id, (unit, _) in fhir.UNITS.items():
        (ext,) = [e for e in items[link_id]["extension"] if e["url"].endswith("questionnaire-unit")]
        assert ext["valueCoding"]["system"] == fhir.UCUM and ext["valueCoding"]["code"] == unit


# ------------------------------------------------------------------ searchset Bundles


def _searchset(responses, extra=()):
    entries = [
        {"fullUrl": f"https://ehr.example.org/fhir/QuestionnaireResponse/{i}", "resource": r, "search": {"mode": "match"}}
        for i, r in enumerate(responses)
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(responses), "entry": entries + list(extra)}


def test_a_searchset_of_two_responses_is_a_duo_and_included_resources_are_skipped(baseline_duo):
    collection = fill_intake(fhir.questionnaire(), baseline_duo)
    patient = {"resource": {"resourceType": "Patient", "id": "p1"}, "search": {"mode": "include"}}
    outcome = {
        "resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]},
        "search": {"mode": "outcome"},
    }
    searchset = _searchset([e["resource"] for e in collection["entry"]], [patient, outcome])
    Bundle.model_validate(searchset)
    assert fhir.intake_from_fhir(searchset) == fhir.intake_from_fhir(collection)


def test_a_searchset_reporting_an_error_is_refused(baseline_duo):
    collection = fill_intake(fhir.questionnaire(), baseline_duo)
    outcome = {
        "resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "too-costly"}]},
        "search": {"mode": "outcome"},
    }
    assert "the search reported an error" in _error(_searchset([e["resource"] for e in collection["entry"]], [outcome]))


def test_a_searchset_with_three_matches_is_refused(baseline_duo):
    collection = fill_intake(fhir.questionnaire(), baseline_duo)
    responses = [e["resource"] for e in collection["entry"]]
    assert "one or two QuestionnaireResponses expected" in _error(_searchset([*responses, responses[0]]))
