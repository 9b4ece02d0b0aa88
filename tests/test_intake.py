"""The intake models: tri-state answers, strict validation with field names, a JSON Schema."""

import pytest

from screening import IntakeError, parse_intake
from screening.intake.models import Intake


def problems(data):
    with pytest.raises(IntakeError) as error:
        parse_intake(data)
    return {p.where: p.message for p in error.value.problems}


def test_unanswered_questions_default_to_unknown_never_no(baseline_individual):
    del baseline_individual["participants"][0]["psychiatric"]
    intake = parse_intake(baseline_individual)
    assert intake.participants[0].psychiatric.bipolar_1 == "unknown"


def test_booleans_and_other_spellings_are_refused_as_the_schema_refuses_them(baseline_individual):
    baseline_individual["participants"][0]["psychiatric"].update(bipolar_1=True, bipolar_2="Yes", mania_history="unsure")
    found = problems(baseline_individual)
    assert "not true/false" in found["participants.0.psychiatric.bipolar_1"]
    assert "'yes', 'no' or 'unknown'" in found["participants.0.psychiatric.bipolar_2"]
    assert "participants.0.psychiatric.mania_history" in found


def test_null_is_not_answered_and_read_as_unknown(baseline_individual):
    baseline_individual["participants"][0]["psychiatric"].update(bipolar_1=None)
    assert parse_intake(baseline_individual).participants[0].psychiatric.bipolar_1 == "unknown"


def test_negative_age_names_the_field(baseline_individual):
    baseline_individual["participants"][0]["person"]["age"] = -3
    assert "participants.0.person.age" in problems(baseline_individual)


def test_impossible_blood_pressure_names_both_fields(baseline_individual):
    baseline_individual["participants"][0]["physical"].update(systolic_bp=20, diastolic_bp=300)
    found = problems(baseline_individual)
    assert "participants.0.physical.systolic_bp" in found
    assert "participants.0.physical.diastolic_bp" in found


def test_systolic_below_diastolic_is_rejected(baseline_individual):
    baseline_individual["participants"][0]["physical"].update(systolic_bp=80, diastolic_bp=120)
    assert "systolic" in problems(baseline_individual)["participants.0.physical"]


def test_a_duo_with_one_person_is_rejected(baseline_individual):
    baseline_individual["session"]["format"] = "duo"
    assert "exactly two participants" in " ".join(problems(baseline_individual).values())


def test_an_unknown_substance_is_rejected(baseline_individual):
    baseline_individual["session"]["substance"] = "mescalinne"
    assert "session.substance" in problems(baseline_individual)


def test_unknown_fields_are_rejected_with_their_path(baseline_individual):
    baseline_individual["participants"][0]["psychiatric"]["bipolar_3"] = "no"
    assert "participants.0.psychiatric.bipolar_3" in problems(baseline_individual)


def test_every_problem_is_reported_at_once(baseline_individual):
    baseline_individual["participants"][0]["person"]["age"] = 400
    baseline_individual["participants"][0]["person"]["weight_kg"] = 2
    baseline_individual["session"]["sober_facilitators"] = -1
    assert len(problems(baseline_individual)) == 3


def test_error_messages_do_not_quote_answers(baseline_individual):
    baseline_individual["participants"][0]["medications"] = [{"name": "SECRET-NAME", "status": "sometimes"}]
    with pytest.raises(IntakeError) as error:
        parse_intake(baseline_individual)
    assert "SECRET-NAME" not in str(error.value) and "sometimes" not in str(error.value)


def test_relationship_answers_are_only_for_duos(baseline_individual, book):
    baseline_individual["participants"][0]["relationship"] = dict(book.baseline["relationship"])
    assert "only asked in a duo" in " ".join(problems(baseline_individual).values())


def test_duplicate_participant_ids_are_rejected(baseline_duo):
    baseline_duo["participants"][1]["participant_id"] = "A"
    assert "must differ" in " ".join(problems(baseline_duo).values())


def test_the_models_publish_a_json_schema():
    schema = Intake.model_json_schema()
    assert schema["required"] == ["session", "participants"]
    psychiatric = schema["$defs"]["Psychiatric"]["properties"]["bipolar_1"]
    assert psychiatric["enum"] == ["yes", "no", "unknown"] and "bipolar I" in psychiatric["description"]
