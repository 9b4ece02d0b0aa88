"""Strict reading: what a file says is what is screened, or it is refused naming the field.

Each test here is a reproduction from issue 11 that was accepted before: a key written twice
(the last one won), ``true`` read as 1, YAML 1.1's octal and base-60 numbers, implausible
dates that switched washout rules off, an Intake edited in Python that skipped validation,
and integers or nesting that ended in a traceback.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys

import pytest
import yaml
from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from screening import IntakeError, screen
from screening.cli.commands import main
from screening.interop.fhir import MAX_FHIR_DEPTH, response_from_intake
from screening.pipeline.screener import MAX_INTAKE_DEPTH, parse_intake, parse_intake_text

TODAY = dt.date(2026, 12, 1)
MARKER = "Zq9Marker"


def _problems(raw: bytes, where: str = "intake", today=TODAY) -> str:
    with pytest.raises(IntakeError) as caught:
        parse_intake_text(raw, where, today=today)
    message = str(caught.value)
    assert MARKER not in message and "Traceback" not in message
    return message


def _json(data) -> bytes:
    return json.dumps(data, default=str).encode()


def _yaml(data) -> bytes:
    return yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False).encode()


# ---------------------------------------------------------------------------- duplicate keys


def test_a_key_written_twice_in_json_is_an_error_naming_the_field():
    raw = (
        b'{"session":{"substance":"mdma","format":"individual"},"participants":[{"participant_id":"A",'
        b'"person":{"pregnant":"yes","pregnant":"no"}}]}'
    )
    assert "participants.0.person.pregnant: the key is written more than once" in _problems(raw, "x.json")


def test_a_key_written_twice_in_yaml_is_an_error_naming_the_field_and_line():
    raw = (
        b"session: {substance: mdma, format: individual}\nparticipants:\n- participant_id: A\n"
        b"  person:\n    pregnant: 'yes'\n    pregnant: 'no'\n"
    )
    assert "intake:6: participants.0.person.pregnant: the key is written more than once" in _problems(raw)


@pytest.mark.parametrize("fmt", [_json, _yaml])
def test_every_key_written_twice_anywhere_is_named(baseline_duo, fmt):
    text = fmt(baseline_duo).decode()
    for key in ("substance", "participant_id", "fear_of_other", "age", "systolic_bp"):
        sep = '"' if fmt is _json else ""
        first = text.index(f"{sep}{key}{sep}:")
        line_end = text.index("," if fmt is _json else "\n", first)
        doubled = (
            text[:line_end]
            + ("," if fmt is _json else "\n" + " " * (first - text.rfind("\n", 0, first) - 1))
            + text[first:line_end]
            + text[line_end:]
        )
        assert f"{key}: the key is written more than once" in _problems(doubled.encode(), "x.json" if fmt is _json else "x.yaml")


def test_a_duplicate_key_in_a_fhir_file_is_refused(tmp_path, baseline_individual, capsys):
    text = json.dumps(response_from_intake(baseline_individual))
    text = text.replace('"status": "completed"', '"status": "completed", "status": "completed"', 1)
    (tmp_path / "r.json").write_text(text)
    assert main(["screen", str(tmp_path / "r.json")]) == 3
    assert "status: the key is written more than once" in capsys.readouterr().err


# ---------------------------------------------------------------------------- values as written


@pytest.mark.parametrize(
    "section, field",
    [("person", "age"), ("person", "weight_kg"), ("physical", "systolic_bp"), ("physical", "diastolic_bp"), ("plan", "dose_mg")],
)
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_a_number(baseline_individual, section, field, value):
    baseline_individual["participants"][0][section][field] = value
    with pytest.raises(IntakeError, match=f"participants.0.{section}.{field}: a number is asked here, not true/false"):
        parse_intake(baseline_individual, today=TODAY)


@pytest.mark.parametrize("field", ["session_hours", "sober_facilitators"])
def test_a_boolean_is_not_a_number_in_the_session(baseline_individual, field):
    baseline_individual["session"][field] = True
    with pytest.raises(IntakeError, match=f"session.{field}: a number is asked here"):
        parse_intake(baseline_individual, today=TODAY)


def _yaml_person(line: str) -> bytes:
    return f"session: {{substance: mdma, format: individual}}\nparticipants:\n- participant_id: A\n  {line}\n".encode()


def test_yaml_070_is_seventy_not_octal_56():
    assert parse_intake_text(_yaml_person("person: {age: 070}"), today=TODAY).participants[0].person.age == 70


def test_yaml_base_60_is_text_and_refused_not_126():
    assert "participants.0.person.age: a number is asked here, not text" in _problems(_yaml_person("person: {age: 2:06}"))
    assert "participants.0.person.weight_kg" in _problems(_yaml_person("person: {weight_kg: '1:10'}"))


def test_yaml_exponent_numbers_are_read_as_numbers():
    assert parse_intake_text(_yaml_person("plan: {dose_mg: 5e-5}"), today=TODAY).participants[0].plan.dose_mg == 5e-5


@pytest.mark.parametrize("word", ["on", "off", "y", "n", "Y"])
def test_yaml_1_1_booleans_are_not_yes_or_no(word):
    assert "participants.0.person.pregnant" in _problems(_yaml_person(f"person: {{pregnant: {word}}}"))


@pytest.mark.parametrize("word, answer", [("yes", "yes"), ("no", "no"), ("null", "unknown")])
def test_yaml_answers_spelt_out_are_read_as_written(word, answer):
    assert parse_intake_text(_yaml_person(f"person: {{pregnant: {word}}}"), today=TODAY).participants[0].person.pregnant == answer


@pytest.mark.parametrize("word", ["true", "false"])
def test_yaml_booleans_are_refused_as_answers_as_the_json_schema_refuses_them(word):
    assert "participants.0.person.pregnant: an answer is the text 'yes', 'no' or 'unknown', not true/false" in _problems(
        _yaml_person(f"person: {{pregnant: {word}}}")
    )


def test_a_yaml_merge_key_merges_nothing():
    raw = _yaml_person("person: {<<: {pregnant: 'yes'}}")
    assert "participants.0.person.<<" in _problems(raw)


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize("planned", ["9999-12-31", "1900-01-01", "2025-11-30", "2028-12-02", "0001-01-01"])
def test_an_implausible_planned_date_is_refused_stating_the_rule(baseline_individual, planned):
    baseline_individual["session"]["planned_date"] = planned
    message = _problems(_json(baseline_individual))
    assert (
        "session.planned_date: a planned date is at most one year before and at most two years after today (2026-12-01)"
        in message
    )
    assert planned not in message


@pytest.mark.parametrize("planned", ["2025-12-01", "2026-12-01", "2028-12-01"])
def test_planned_dates_within_the_window_are_accepted(baseline_individual, planned):
    baseline_individual["session"]["planned_date"] = planned
    assert str(parse_intake(baseline_individual, today=TODAY).session.planned_date) == planned


def test_the_window_follows_the_today_given(baseline_individual):
    baseline_individual["session"]["planned_date"] = "2020-03-01"
    assert parse_intake(baseline_individual, today=dt.date(2020, 2, 29)).session.planned_date == dt.date(2020, 3, 1)
    with pytest.raises(IntakeError, match="session.planned_date"):
        parse_intake(baseline_individual, today=TODAY)


def test_a_last_dose_before_1900_is_refused(baseline_individual):
    baseline_individual["participants"][0]["medications"] = [{"name": "lithium", "status": "stopped", "last_taken": "0001-01-01"}]
    assert "participants.0.medications.0.last_taken: a last dose is on or after 1900-01-01" in _problems(
        _json(baseline_individual)
    )


def test_a_last_dose_after_the_planned_session_is_refused(baseline_individual):
    baseline_individual["session"]["planned_date"] = "2026-12-10"
    baseline_individual["participants"][0]["medications"] = [
        {"name": "sertraline", "status": "stopped", "last_taken": "2026-12-01"},
        {"name": "lithium", "status": "stopped", "last_taken": "2026-12-11"},
    ]
    message = _problems(_json(baseline_individual))
    assert "participants.0.medications.1.last_taken: a last dose is not after the planned session date" in message
    assert "2026-12-11" not in message and "2026-12-10" not in message and "medications.0" not in message


def test_without_a_planned_date_a_last_dose_is_not_after_today(baseline_individual):
    baseline_individual["session"]["planned_date"] = None
    baseline_individual["participants"][0]["medications"] = [{"name": "lithium", "status": "stopped", "last_taken": "2026-12-02"}]
    assert "a last dose is not after today, 2026-12-01" in _problems(_json(baseline_individual))
    baseline_individual["participants"][0]["medications"][0]["last_taken"] = "2026-12-01"
    assert screen(baseline_individual, today=TODAY, engine="python").flags


# ---------------------------------------------------------------------------- an Intake given to screen()


@pytest.fixture
def duo(baseline_duo):
    return parse_intake(baseline_duo, today=TODAY)


def _edited(duo, **person):
    first = duo.participants[0]
    return duo.model_copy(
        update={
            "participants": [first.model_copy(update={"person": first.person.model_copy(update=person)}), duo.participants[1]]
        }
    )


@pytest.mark.parametrize("engine", ["python", "auto"])
def test_screen_validates_an_intake_edited_with_model_copy(duo, engine):
    cases = {
        "three participants": (
            duo.model_copy(
                update={"participants": [*duo.participants, duo.participants[1].model_copy(update={"participant_id": "C"})]}
            ),
            "participants",
        ),
        "two identical participants": (
            duo.model_copy(update={"participants": [duo.participants[0], duo.participants[0]]}),
            "must differ",
        ),
        "age -5": (_edited(duo, age=-5), "participants.0.person.age"),
        "pregnant maybe": (_edited(duo, pregnant="maybe"), "participants.0.person.pregnant"),
        "age true": (_edited(duo, age=True), "participants.0.person.age"),
        "a reserved id": (
            duo.model_copy(
                update={
                    "participants": [duo.participants[0], duo.participants[1].model_copy(update={"participant_id": "clinician"})]
                }
            ),
            "reserved word",
        ),
        "a planned date far ahead": (
            duo.model_copy(update={"session": duo.session.model_copy(update={"planned_date": dt.date(9999, 12, 31)})}),
            "session.planned_date",
        ),
    }
    for name, (intake, named) in cases.items():
        with pytest.raises(IntakeError) as caught:
            screen(intake, engine=engine, today=TODAY)
        assert named in str(caught.value), name


def test_an_intake_checked_against_another_day_is_checked_again(duo):
    with pytest.raises(IntakeError, match="session.planned_date"):
        screen(duo, today=dt.date(2030, 1, 1), engine="python")
    assert screen(duo, today=TODAY, engine="python").participants == ["A", "B"]


# ---------------------------------------------------------------------------- limits


def test_a_5000_digit_integer_is_refused_naming_the_field(baseline_individual):
    for raw in (
        _json(baseline_individual).replace(b'"age": 40', b'"age": ' + b"7" * 5000),
        _yaml(baseline_individual).replace(b"age: 40", b"age: " + b"7" * 5000),
    ):
        message = _problems(raw, "x.json" if raw.startswith(b"{") else "x.yaml")
        assert "participants.0.person.age: a number of 5000 digits; no answer has more than 30" in message
        assert "7777" not in message


def test_a_5000_digit_integer_through_the_command_line_is_exit_3_without_a_traceback(tmp_path, baseline_individual):
    path = tmp_path / "big.json"
    path.write_bytes(_json(baseline_individual).replace(b'"age": 40', b'"age": ' + b"7" * 5000))
    result = subprocess.run([sys.executable, "-m", "screening", "screen", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "Traceback" not in result.stderr and "participants.0.person.age" in result.stderr


def test_nesting_deeper_than_the_limit_is_refused_with_the_limit_named(baseline_individual):
    data = copy.deepcopy(baseline_individual)
    data["participants"][0]["medications"] = [{"name": [[[[["x"]]]]]}]
    assert f"nested more than {MAX_INTAKE_DEPTH} levels deep" in _problems(_json(data))
    data["participants"][0]["medications"] = [{"name": [[["x"]]]}]
    assert "participants.0.medications.0.name: Input should be a valid string" in _problems(_json(data))


def _fhir_text(intake) -> str:
    return json.dumps(response_from_intake(intake))


def test_our_own_duo_bundle_is_well_inside_the_fhir_depth_limit():
    bundle = json.loads((EXAMPLES / "fhir" / "duo-mdma-response-bundle.json").read_text())

    def depth(node):
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        return 1 + max((depth(c) for c in children), default=0) if isinstance(node, (dict, list)) else 0

    assert depth(bundle) * 3 < MAX_FHIR_DEPTH


@pytest.mark.parametrize("levels", [MAX_FHIR_DEPTH, 900, 50_000])
def test_a_deeply_nested_fhir_file_is_exit_3_with_a_clear_message(tmp_path, baseline_individual, levels):
    text = _fhir_text(baseline_individual)
    deep = '{"linkId": "session", "item": [' * levels + "]}" * levels
    path = tmp_path / "deep.json"
    path.write_text(text.replace('"item": [', '"item": [' + deep + ", ", 1))
    result = subprocess.run([sys.executable, "-m", "screening", "screen", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert "nested" in result.stderr, result.stderr


def test_a_fhir_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path, baseline_individual, capsys):
    text = _fhir_text(baseline_individual)
    path = tmp_path / "big.json"
    path.write_text(text[:-1] + ', "text": "' + "x" * 1_100_000 + '"}')
    assert main(["screen", str(path)]) == 3
    assert "larger than 1,000,000 bytes" in capsys.readouterr().err


# The one-pass reading (batch lines and files) against the two readings it stands for.

_keys = st.sampled_from(["a", "b", "session", "participants", "x"])
_scalars = st.none() | st.booleans() | st.integers(-(10**40), 10**40) | st.floats(allow_nan=False) | st.text(max_size=5)


def _json_text(value) -> str:
    """JSON text of nested pairs lists (objects, whose keys may repeat) and lists (arrays)."""
    if isinstance(value, tuple):
        return "{" + ",".join(f"{json.dumps(k)}:{_json_text(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(value)


_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(_keys, inner), max_size=3).map(tuple),
    max_leaves=25,
).map(_json_text) | st.sampled_from(["", "{", "[1,", '{"a":1}x', "nul", "[" * 12 + "]" * 12])


@settings(max_examples=400, deadline=None)
@given(_documents, st.integers(1, 9))
def test_the_one_pass_reading_gives_what_the_two_readings_give(text, depth):
    """Same data, or the same problems (a key twice, too deep, not JSON), as load_json then check_shape."""
    from screening.intake import reading

    def outcome(read):
        try:
            return "data", repr(read())  # a TooLong compares by identity; its repr by digits
        except IntakeError as error:
            return "refused", [str(p) for p in error.problems]

    one = outcome(lambda: reading.load_json_checked(text, "line 3", depth))
    two = outcome(lambda: reading.check_shape(reading.load_json(text, "line 3"), "line 3", depth))
    assert one == two
