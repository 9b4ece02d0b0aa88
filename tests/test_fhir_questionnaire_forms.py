"""The Questionnaire as forms tools see it (issue 31): what LHC-Forms tripped over, mended."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import EXAMPLES

from screening.errors import IntakeError
from screening.interop import fhir
from screening.pipeline.screener import read_intake


def by_link(items, found=None):  # type: ignore[no-untyped-def]
    found = {} if found is None else found
    for item in items:
        found[item["linkId"]] = item
        by_link(item.get("item", []), found)
    return found


def test_no_question_inside_the_optional_medications_group_is_required() -> None:
    group = by_link(fhir.questionnaire()["item"])["medications"]
    assert group.get("required") is not True and group["repeats"] is True
    assert not [i["linkId"] for i in group["item"] if i.get("required")]


def test_a_medication_without_a_name_is_still_refused_naming_the_field() -> None:
    bundle = fhir.response_from_intake(read_intake(EXAMPLES / "duo-mdma.yaml"))
    text = json.dumps(bundle)
    assert '"medications.name"' in text
    data = json.loads(text)

    def drop_name(items):  # type: ignore[no-untyped-def]
        for item in items:
            item["item"] = (
                [i for i in item.get("item", []) if i["linkId"] != "medications.name"]
                if item["linkId"] == "medications"
                else item.get("item", [])
            )
            drop_name(item.get("item", []))

    for entry in data["entry"]:
        drop_name(entry["resource"]["item"])
    with pytest.raises(IntakeError, match="name"):
        fhir.intake_from_fhir(data)


def test_the_session_questions_are_required_not_their_group_and_the_needs_group_reads_plainly() -> None:
    items = by_link(fhir.questionnaire()["item"])
    # a required group is, to LHC-Forms, a question without an answer: its validity check fails for everyone
    assert "required" not in items["session"]
    assert items["session.substance"]["required"] is True and items["session.format"]["required"] is True
    assert items["needs"]["text"] == "Support needed during the session."


def test_every_value_set_carries_its_expansion() -> None:
    systems = {s["url"]: s for s in fhir.code_systems()}
    for value_set in fhir.value_sets():
        system = systems[value_set["compose"]["include"][0]["system"]]
        expansion = value_set["expansion"]
        assert [c["code"] for c in expansion["contains"]] == [c["code"] for c in system["concept"]]
        assert expansion["total"] == len(system["concept"]) and expansion["timestamp"]
    assert fhir.value_sets() == fhir.value_sets()  # reproducible


def test_an_empty_response_names_every_missing_required_answer() -> None:
    empty = {"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": fhir.QUESTIONNAIRE_URL}
    with pytest.raises(IntakeError) as raised:
        fhir.intake_from_fhir(empty)
    message = str(raised.value)
    for link_id in ("participant_id", "session.substance", "session.format"):
        assert link_id in message


def test_a_value_coding_without_its_system_is_refused() -> None:
    response = fhir.response_from_intake(read_intake(EXAMPLES / "individual-psilocybin.json"))
    broken = copy.deepcopy(response)
    text = json.dumps(broken)
    system = fhir.ANSWER_SYSTEM
    first = text.index(f'"system": "{system}"')
    text = text[:first] + text[first:].replace(f'"system": "{system}", ', "", 1)
    with pytest.raises(IntakeError, match="has no system"):
        fhir.intake_from_fhir(json.loads(text))


@pytest.mark.parametrize("program", [None, "oregon-ops"])
def test_every_enable_when_answer_is_one_the_question_it_follows_offers(program) -> None:  # type: ignore[no-untyped-def]
    # LHC-Forms compares system and code: plan.dose_mg, coded in the yes/no system, was never shown once a unit was picked
    items = by_link(fhir.questionnaire(program)["item"])
    checked = 0
    for item in items.values():
        for condition in item.get("enableWhen", []):
            if "answerCoding" in condition:
                offered = [o["valueCoding"] for o in items[condition["question"]]["answerOption"]]
                answer = condition["answerCoding"]
                assert any(o["system"] == answer["system"] and o["code"] == answer["code"] for o in offered), item["linkId"]
                checked += 1
    assert checked >= 10
