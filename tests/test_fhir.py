"""FHIR: the intake Questionnaire, QuestionnaireResponses back in, and the round trip.

The round trip fills a response the way a form filler would, from the Questionnaire alone
(linkIds, item types, answer options, enableWhen), and requires exactly the same flags as
screening the intake directly.
"""

import copy
import json
import subprocess
import sys

import pytest
import yaml
from conftest import EXAMPLES

from screening import screen
from screening.cli.commands import main
from screening.errors import IntakeError
from screening.intake.fields import catalogue
from screening.interop import fhir

fhir_resources = pytest.importorskip("fhir.resources")
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as R4QuestionnaireResponse

# the two main examples and the case intakes (one per rule category); not the FHIR files themselves
EXAMPLE_FILES = sorted(
    p for p in [*EXAMPLES.glob("*"), *(EXAMPLES / "cases").glob("*")] if p.suffix in (".json", ".yaml", ".yml")
)


def load_example(path):
    return yaml.safe_load(path.read_text())


def items_by_link(questionnaire):
    found = {}

    def walk(items):
        for item in items:
            found[item["linkId"]] = item
            walk(item.get("item", []))

    walk(questionnaire["item"])
    return found


# ---------------------------------------------------------------------------- a form filler


def _enabled(item, answered):
    """FHIR enableWhen with the operators the Questionnaire uses (=, exists)."""
    if "enableWhen" not in item:
        return True
    results = []
    for cond in item["enableWhen"]:
        given = answered.get(cond["question"])
        if cond["operator"] == "exists":
            results.append((given is not None) == cond["answerBoolean"])
        elif cond["operator"] == "=":
            results.append(given is not None and given == cond["answerCoding"]["code"])
        else:
            raise AssertionError(f"unexpected operator {cond['operator']}")
    return any(results) if item.get("enableBehavior") == "any" else all(results)


def _answer(item, value):
    if value is None or value == "unknown":
        return None
    kind = item["type"]
    if kind == "choice":
        (coding,) = [o["valueCoding"] for o in item["answerOption"] if o["valueCoding"]["code"] == value]
        return {"valueCoding": coding}, coding["code"]
    if kind == "integer":
        return {"valueInteger": int(value)}, value
    if kind == "decimal":
        return {"valueDecimal": float(value)}, value
    if kind == "date":
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return {"valueDate": text}, text
    return {"valueString": str(value)}, value


def fill(questionnaire, session, participant):
    """A completed response for one participant, from the Questionnaire and the intake dict."""
    answered = {}

    def value_of(link_id, medication):
        if medication is not None:
            return medication.get(link_id.split(".", 1)[1])
        if link_id == "participant_id":
            return participant["participant_id"]
        group, key = link_id.split(".", 1)
        return (session if group == "session" else participant.get(group) or {}).get(key)

    def fill_items(items, medication=None, scope=answered):
        out = []
        for item in items:
            if item["type"] == "display" or not _enabled(item, scope):  # a display item is read, not answered
                continue
            if item["type"] == "group":
                if item.get("repeats"):
                    for med in participant.get("medications", []):
                        inner = dict(answered)
                        children = fill_items(item["item"], med, inner)
                        out.append({"linkId": item["linkId"], "item": children})
                    continue
                children = fill_items(item["item"], medication, scope)
                if children:
                    out.append({"linkId": item["linkId"], "item": children})
                continue
            result = _answer(item, value_of(item["linkId"], medication))
            if result is not None:
                answer, code = result
                scope[item["linkId"]] = code
                out.append({"linkId": item["linkId"], "answer": [answer]})
        return out

    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire["url"],
        "status": "completed",
        "item": fill_items(questionnaire["item"]),
    }


def fill_intake(questionnaire, intake):
    responses = [fill(questionnaire, intake["session"], p) for p in intake["participants"]]
    if len(responses) == 1:
        return responses[0]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in responses]}


def flags_of(report):
    return [(f.rule_id, f.participant, tuple(f.participants)) for f in report.flags]


def missing_of(report):
    return [(m.participant, m.field) for m in report.missing_information]


# ---------------------------------------------------------------------------- the Questionnaire


def test_generated_questionnaire_parses_as_fhir_r4b():
    from fhir.resources.R4B.codesystem import CodeSystem
    from fhir.resources.R4B.questionnaire import Questionnaire

    resource = Questionnaire.model_validate(fhir.questionnaire())
    assert resource.url == fhir.QUESTIONNAIRE_URL and resource.status == "active"
    CodeSystem.model_validate(fhir.answer_code_system())


def test_every_catalogue_question_is_asked_with_its_dotted_path_as_link_id():
    items = items_by_link(fhir.questionnaire())
    for path, spec in catalogue().items():
        if spec.kind == "count" or spec.derived:
            assert path not in items  # derived (a count, or the dose per kg), never asked
            continue
        assert items[path]["text"] == spec.question
    assert {"session", "person", "psychiatric", "family_history", "physical", "relationship", "medications"} <= set(items)
    assert items["psychiatric.bipolar_1"]["type"] == "choice"
    assert [o["valueCoding"]["code"] for o in items["psychiatric.bipolar_1"]["answerOption"]] == ["yes", "no", "unknown"]
    assert {o["valueCoding"]["system"] for o in items["psychiatric.bipolar_1"]["answerOption"]} == {fhir.ANSWER_SYSTEM}


def test_link_ids_are_unique_and_types_follow_the_intake_model():
    questionnaire = fhir.questionnaire()
    seen = []

    def walk(items):
        for item in items:
            seen.append(item["linkId"])
            walk(item.get("item", []))

    walk(questionnaire["item"])
    assert len(seen) == len(set(seen))
    items = items_by_link(questionnaire)
    assert items["person.age"]["type"] == "integer"
    assert items["physical.systolic_bp"]["extension"] == [
        {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 60},
        {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 280},
        {
            "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-unit",
            "valueCoding": {"system": "http://unitsofmeasure.org", "code": "mm[Hg]", "display": "mmHg"},
        },
    ]
    assert items["person.weight_kg"]["type"] == "decimal"
    assert items["session.planned_date"]["type"] == "date"
    assert [o["valueCoding"]["code"] for o in items["session.substance"]["answerOption"]] == [
        "psilocybin",
        "mdma",
        "ketamine",
        "lsd",
        "ayahuasca",
        "dmt",
    ]
    assert items["session.substance"]["required"] and items["session.format"]["required"]
    medications = items["medications"]
    assert medications["type"] == "group" and medications["repeats"] is True
    assert [i["linkId"] for i in medications["item"]] == [
        "medications.name",
        "medications.dose",
        "medications.status",
        "medications.last_taken",
        "medications.stopped_with_prescriber",
    ]


def test_follow_up_questions_are_enabled_only_by_the_answer_they_follow():
    items = items_by_link(fhir.questionnaire())
    induced = items["psychiatric.psychosis_substance_induced_only"]
    assert induced["enableBehavior"] == "any"
    assert not _enabled(induced, {"psychiatric.psychotic_disorder": "no"})
    assert _enabled(induced, {"psychiatric.psychotic_disorder": "yes"})
    assert _enabled(induced, {"psychiatric.psychotic_disorder": "unknown"})
    assert _enabled(induced, {})  # not answered is unknown, never no
    assert not _enabled(items["relationship"], {"session.format": "individual"})
    assert _enabled(items["relationship"], {"session.format": "duo"})
    assert not _enabled(items["medications.last_taken"], {"medications.status": "current"})
    assert _enabled(items["medications.last_taken"], {"medications.status": "stopped"})


def test_cli_prints_the_questionnaire(capsys):
    assert main(["fhir", "questionnaire"]) == 0
    assert json.loads(capsys.readouterr().out) == fhir.questionnaire()


def test_the_committed_example_questionnaire_is_current():
    committed = json.loads((EXAMPLES / "fhir" / "intake-questionnaire.json").read_text())
    assert committed == fhir.questionnaire(), "regenerate: screening fhir questionnaire > examples/fhir/intake-questionnaire.json"


# ---------------------------------------------------------------------------- the round trip


def _intakes(book):
    """Every example intake, and every rule example's intake built on the baseline."""
    cases = [(path.name, load_example(path)) for path in EXAMPLE_FILES]
    for rule in book.active:
        for example in rule.meta.examples:
            cases.append((f"{rule.id}: {example.name}", book.example_intake(rule, example)))
    return cases


def test_round_trip_through_a_filled_questionnaire_response_gives_the_same_flags(book):
    questionnaire = fhir.questionnaire()
    kinds = set()
    compared = 0
    for name, data in _intakes(book):
        direct = screen(copy.deepcopy(data), engine="python")
        resource = fill_intake(questionnaire, data)
        via_fhir = fhir.screen_fhir(resource, engine="python")
        assert flags_of(via_fhir) == flags_of(direct), name
        assert missing_of(via_fhir) == missing_of(direct), name
        kinds.add(data["session"]["format"])
        compared += 1
    assert kinds == {"individual", "duo"}
    assert compared >= len(EXAMPLE_FILES) + 2 * len(book.active)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_response_from_intake_round_trips_the_examples_exactly(path):
    from screening.pipeline.screener import parse_intake

    intake = parse_intake(load_example(path))
    resource = fhir.response_from_intake(intake)
    assert fhir.intake_from_fhir(resource) == intake


def test_response_from_intake_answers_only_enabled_questions(baseline_individual):
    baseline_individual["participants"][0]["psychiatric"]["psychosis_substance_induced_only"] = "no"
    response = fhir.response_from_intake(baseline_individual)
    answered = json.dumps(response)
    assert "psychiatric.psychosis_substance_induced_only" not in answered  # psychotic_disorder is no
    assert "relationship" not in answered  # an individual session


def test_the_committed_example_bundle_is_a_duo_intake():
    intake = fhir.intake_from_fhir(json.loads((EXAMPLES / "fhir" / "duo-mdma-response-bundle.json").read_text()))
    assert intake.is_duo and len(intake.participants) == 2


def test_screen_cli_accepts_a_fhir_bundle(tmp_path, capsys):
    data = load_example(EXAMPLES / "duo-mdma.yaml")
    bundle = tmp_path / "duo-response.json"
    bundle.write_text(json.dumps(fill_intake(fhir.questionnaire(), data), default=str))
    assert main(["screen", str(bundle), "--format", "json"]) == 0
    via_fhir = json.loads(capsys.readouterr().out)
    assert main(["screen", str(EXAMPLES / "duo-mdma.yaml"), "--format", "json"]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert via_fhir["flags"] == direct["flags"] and via_fhir["session"]["format"] == "duo"


# ---------------------------------------------------------------------------- errors


@pytest.fixture
def response(baseline_individual):
    return fill_intake(fhir.questionnaire(), baseline_individual)


def _error(resource):
    with pytest.raises(IntakeError) as caught:
        fhir.intake_from_fhir(resource)
    return str(caught.value)


def _find(items, link_id):
    for item in items:
        if item["linkId"] == link_id:
            return item
        found = _find(item.get("item", []), link_id)
        if found:
            return found
    return None


def test_an_unknown_link_id_is_named(response):
    _find(response["item"], "person")["item"].append({"linkId": "person.shoe_size", "answer": [{"valueInteger": 44}]})
    assert "unknown linkId 'person.shoe_size'" in _error(response)


def test_a_wrong_answer_type_is_named_without_quoting_the_answer(response):
    _find(response["item"], "person.age")["answer"] = [{"valueString": "forty-two"}]
    message = _error(response)
    assert "person.age: expected an answer of type integer (valueInteger), got valueString" in message
    assert "forty-two" not in message


def test_an_answer_outside_the_options_is_named(response):
    _find(response["item"], "psychiatric.bipolar_1")["answer"] = [
        {"valueCoding": {"system": fhir.ANSWER_SYSTEM, "code": "maybe"}}
    ]
    assert "psychiatric.bipolar_1: the answer is not one of the question's answer options" in _error(response)


@pytest.mark.parametrize("link_id", ["session.substance", "session.format"])
def test_a_missing_required_answer_is_named(response, link_id):
    session = _find(response["item"], "session")
    session["item"] = [i for i in session["item"] if i["linkId"] != link_id]
    assert f"{link_id}: required answer missing" in _error(response)


@pytest.mark.parametrize("status", ["in-progress", "stopped", "entered-in-error"])
def test_only_completed_or_amended_responses_are_screened(response, status):
    response["status"] = status
    assert "only a completed or amended response is screened" in _error(response)
    response["status"] = "amended"
    assert fhir.intake_from_fhir(response).participants[0].participant_id == "A"


def test_unsure_is_read_as_unknown_never_no(response):
    _find(response["item"], "psychiatric.bipolar_1")["answer"] = [
        {"valueCoding": {"system": fhir.ANSWER_SYSTEM, "code": "unknown"}}
    ]
    assert fhir.intake_from_fhir(response).participants[0].psychiatric.bipolar_1 == "unknown"


def test_a_duo_whose_responses_disagree_on_the_session_is_an_error(baseline_duo):
    bundle = fill_intake(fhir.questionnaire(), baseline_duo)
    second = bundle["entry"][1]["resource"]
    _find(second["item"], "session.substance")["answer"] = [
        {"valueCoding": {"system": f"{fhir.BASE_URL}/CodeSystem/session.substance", "code": "mdma"}}
    ]
    assert "session.substance: the two responses give different answers" in _error(bundle)


def test_a_duo_may_answer_the_session_in_one_response_only(baseline_duo):
    bundle = fill_intake(fhir.questionnaire(), baseline_duo)
    second = bundle["entry"][1]["resource"]
    second["item"] = [i for i in second["item"] if i["linkId"] != "session"]
    intake = fhir.intake_from_fhir(bundle)
    assert intake.is_duo and [p.participant_id for p in intake.participants] == ["A", "B"]


def test_a_bundle_that_is_not_a_collection_is_refused(baseline_duo):
    bundle = fill_intake(fhir.questionnaire(), baseline_duo)
    bundle["type"] = "transaction"
    assert "Bundle of type 'collection'" in _error(bundle)


def test_invalid_fhir_structure_is_an_intake_error(response):
    response["item"] = "not a list"
    assert "invalid intake" in _error(response)


def test_cli_exits_3_naming_the_link_id(tmp_path, response):
    _find(response["item"], "person")["item"].append({"linkId": "person.shoe_size", "answer": [{"valueInteger": 44}]})
    path = tmp_path / "response.json"
    path.write_text(json.dumps(response))
    result = subprocess.run([sys.executable, "-m", "screening", "screen", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3 and result.stdout == ""
    assert "person.shoe_size" in result.stderr


def test_reading_needs_no_fhir_resources(response, monkeypatch):
    """The run-time structure check is the library's own: fhir.resources is for the tests."""
    from screening.interop import fhir_structure

    monkeypatch.setattr(fhir, "check_structure", fhir_structure.check_structure)  # without conftest's R4 cross-check
    monkeypatch.setitem(sys.modules, "fhir.resources.R4B.bundle", None)
    monkeypatch.setitem(sys.modules, "fhir.resources.R4B.questionnaireresponse", None)
    assert fhir.intake_from_fhir(response).participants


# a broken structure, the path the error names, and whether fhir.resources refuses it too (it coerces
# "34" to 34 and checks neither required code bindings nor the uri and canonical patterns)
BROKEN = [
    (lambda r: r.update(status="done"), "QuestionnaireResponse: status", False),
    (lambda r: r.pop("status"), "QuestionnaireResponse: status", True),
    (lambda r: r.update(authored="20 Nov 2026"), "QuestionnaireResponse: authored", True),
    (lambda r: r.update(questionnaire="has space"), "QuestionnaireResponse: questionnaire", False),
    (lambda r: r["item"][0].pop("linkId"), "QuestionnaireResponse: item.0.linkId", True),
    (lambda r: r["item"][0].update(linkId=""), "QuestionnaireResponse: item.0.linkId", True),
    (lambda r: r["item"][0].update(item={"linkId": "x"}), "QuestionnaireResponse: item.0.item", True),
    (lambda r: _first_answer(r, "person.age").update(valueInteger="34"), "valueInteger", False),
    (lambda r: _first_answer(r, "person.age").update(valueInteger=34.5), "valueInteger", True),
    (lambda r: _first_answer(r, "session.substance")["valueCoding"].update(code=3), "valueCoding.code", True),
    (lambda r: _first_answer(r, "session.substance")["valueCoding"].update(system="a b"), "valueCoding.system", False),
]


def _first_answer(response, link_id):
    return _find(response["item"], link_id)["answer"][0]


@pytest.mark.parametrize(("breaking", "path", "full_models_refuse"), BROKEN)
def test_a_broken_structure_is_refused_naming_the_element(response, breaking, path, full_models_refuse):
    breaking(response)
    if full_models_refuse:
        with pytest.raises(ValueError):
            R4QuestionnaireResponse.model_validate(response)
    message = _error(response)
    assert path in message
    assert "34.5" not in message and "'34'" not in message  # the value is never quoted


def test_a_bundle_entry_is_checked_as_r4_too(baseline_duo):
    bundle = fill_intake(fhir.questionnaire(), baseline_duo)
    bundle["entry"][1]["resource"]["status"] = 1
    assert "Bundle: entry.1.resource: status" in _error(bundle)


def test_cli_converts_an_intake_to_a_response_bundle_and_back(capsys):
    from screening.pipeline.screener import read_intake

    assert main(["fhir", "response", str(EXAMPLES / "duo-mdma.yaml")]) == 0
    bundle = json.loads(capsys.readouterr().out)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection" and len(bundle["entry"]) == 2
    assert fhir.intake_from_fhir(bundle) == read_intake(EXAMPLES / "duo-mdma.yaml")
    assert main(["fhir", "codesystem"]) == 0
    assert [c["code"] for c in json.loads(capsys.readouterr().out)["concept"]] == ["yes", "no", "unknown"]
