"""The Questionnaire as forms tools see it (issue 31): what LHC-Forms tripped over, mended."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

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


@pytest.mark.parametrize(
    ("lang", "what_to_list", "name"),
    [
        (
            "en",
            "Every medication, supplement or other substance taken now or in the last three months.",
            "Medication or substance",
        ),
        (
            "nl",
            "Alle medicijnen, supplementen en andere middelen die u nu gebruikt of in de afgelopen drie maanden gebruikte.",
            "Medicijn of middel",
        ),
    ],
)
def test_the_medications_group_is_named_short_after_what_to_list(tmp_path: Path, lang: str, what_to_list: str, name: str) -> None:
    """A forms tool labels a repeating group's add button with the group's text (LHC-Forms: "+ "
    and the text), so the group is named short and what to list is a display item before it;
    the project's own web form shows that as the section's heading, as before."""
    *_, intro, group = fhir.questionnaire(lang=lang)["item"]
    assert (intro["linkId"], intro["type"], intro["text"]) == ("medications_intro", "display", what_to_list)
    assert (group["linkId"], group["text"], group["repeats"]) == ("medications", name, True)
    pytest.importorskip("screening.web", reason="the web extra is not installed: pip install 'screening[web]'")
    pytest.importorskip("argon2")
    from web_helpers import SESSION_FORM, login, make_app, participant_csrf

    client, _ = make_app(tmp_path)
    created = client.post("/new", data={**SESSION_FORM, "language.0": lang, "csrf": login(client)})
    link = re.search(r'value="http://testserver(/p/[^"]+)"', created.text)
    assert link, created.text
    client.post(link.group(1), data={"csrf": participant_csrf(client, link.group(1))})  # consent
    page = client.get(link.group(1)).text
    assert f'<h2 id="h-medications">{what_to_list}</h2>' in page and f"<legend>{name} 1</legend>" in page


def test_the_display_item_may_come_back_as_text_and_is_refused_with_an_answer() -> None:
    response = fhir.response_from_intake(read_intake(EXAMPLES / "individual-psilocybin.json"))
    native = fhir.screen_fhir(response)
    response["item"].append({"linkId": "medications_intro", "text": "Every medication ..."})  # some tools echo display items
    assert fhir.screen_fhir(response).intake_sha256 == native.intake_sha256
    response["item"][-1]["answer"] = [{"valueString": "aspirin"}]
    with pytest.raises(IntakeError, match="medications_intro: a display item has no answers"):
        fhir.intake_from_fhir(response)


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
