"""The published JSON Schemas and the library give the same verdict on the same input.

One mutation suite: each case edits a valid intake in one way; the schema (jsonschema, with
format checking) and the library (parse_intake) must both accept it or both refuse it. The few
checks JSON Schema cannot express are listed in the schema's $comment and tested here as the
only cases where the two differ. Reports the library writes validate against the report schema.
"""

import copy
import functools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

jsonschema = pytest.importorskip("jsonschema")

from conftest import EXAMPLES

from screening import read_intake, report_schema, screen
from screening.cli.commands import main
from screening.errors import IntakeError
from screening.interop.schemas import DIALECT, LIBRARY_ONLY_CHECKS, intake_schema, schema_id
from screening.pipeline.screener import parse_intake

VALIDATOR = jsonschema.Draft202012Validator(intake_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def schema_accepts(data):
    return VALIDATOR.is_valid(data)


def library_accepts(data):
    try:
        parse_intake(copy.deepcopy(data))
    except IntakeError:
        return False
    return True


def _p(intake, index=0):
    return intake["participants"][index]


def _set(section, **values):
    def mutate(intake, index=0):
        _p(intake, index).setdefault(section, {}).update(values)

    return mutate


# (name, which baseline, mutation): each must get the same verdict from both
MUTATIONS = [
    ("unchanged individual", "individual", lambda d: None),
    ("unchanged duo", "duo", lambda d: None),
    ("duo with one participant", "duo", lambda d: d["participants"].pop()),
    ("individual with two participants", "duo", lambda d: d["session"].update(format="individual")),
    (
        "three participants",
        "duo",
        lambda d: d["participants"].append({**copy.deepcopy(d["participants"][0]), "participant_id": "C"}),
    ),
    ("no participants", "individual", lambda d: d["participants"].clear()),
    ("relationship answers in an individual session", "individual", lambda d: _p(d).update(relationship={"mistrust": "no"})),
    ("relationship null in an individual session", "individual", lambda d: _p(d).update(relationship=None)),
    ("relationship answers in a duo", "duo", lambda d: _p(d).update(relationship={"mistrust": "yes"})),
    ("answer true", "individual", _set("psychiatric", bipolar_1=True)),
    ("answer false", "individual", _set("psychiatric", bipolar_1=False)),
    ("answer 'Yes'", "individual", _set("psychiatric", bipolar_1="Yes")),
    ("answer 'unsure'", "individual", _set("psychiatric", bipolar_1="unsure")),
    ("answer ''", "individual", _set("psychiatric", bipolar_1="")),
    ("answer null (not answered)", "individual", _set("psychiatric", bipolar_1=None)),
    ("answer 1", "individual", _set("psychiatric", bipolar_1=1)),
    ("answer 'unknown'", "individual", _set("psychiatric", bipolar_1="unknown")),
    ("age '46'", "individual", _set("person", age="46")),
    ("age 46.0", "individual", _set("person", age=46.0)),
    ("age 46.5", "individual", _set("person", age=46.5)),
    ("age true", "individual", _set("person", age=True)),
    ("age -1", "individual", _set("person", age=-1)),
    ("age 121", "individual", _set("person", age=121)),
    ("age 120", "individual", _set("person", age=120)),
    ("weight '70'", "individual", _set("person", weight_kg="70")),
    ("weight 19.9", "individual", _set("person", weight_kg=19.9)),
    ("weight 70", "individual", _set("person", weight_kg=70)),
    ("systolic 59", "individual", _set("physical", systolic_bp=59, diastolic_bp=40)),
    ("systolic null", "individual", _set("physical", systolic_bp=None)),
    ("dose 0 (exclusive minimum)", "individual", _set("plan", dose_mg=0)),
    ("session hours 48", "individual", lambda d: d["session"].update(session_hours=48)),
    ("session hours 48.5", "individual", lambda d: d["session"].update(session_hours=48.5)),
    ("facilitators '2'", "individual", lambda d: d["session"].update(sober_facilitators="2")),
    ("facilitators 21", "individual", lambda d: d["session"].update(sober_facilitators=21)),
    ("substance 'MDMA'", "individual", lambda d: d["session"].update(substance="MDMA")),
    ("substance 'mescaline'", "individual", lambda d: d["session"].update(substance="mescaline")),
    ("format missing", "individual", lambda d: d["session"].pop("format")),
    ("session missing", "individual", lambda d: d.pop("session")),
    ("setting 'unsure'", "individual", lambda d: d["session"].update(setting="unsure")),
    ("planned date 2026-02-30", "individual", lambda d: d["session"].update(planned_date="2026-02-30")),
    ("planned date in another format", "individual", lambda d: d["session"].update(planned_date="01/11/2026")),
    ("planned date null", "individual", lambda d: d["session"].update(planned_date=None)),
    ("planned date 0 (a number)", "individual", lambda d: d["session"].update(planned_date=0)),
    (
        "last dose as a number",
        "individual",
        lambda d: _p(d).update(medications=[{"name": "sertraline", "status": "stopped", "last_taken": 20260101}]),
    ),
    ("unknown top-level field", "individual", lambda d: d.update(notes="x")),
    ("unknown participant field", "individual", lambda d: _p(d).update(shoe_size=44)),
    ("unknown section field", "individual", _set("physical", shoe_size=44)),
    ("section that is a list", "individual", lambda d: _p(d).update(physical=[])),
    ("participant_id with a space inside", "individual", lambda d: _p(d).update(participant_id="A B")),
    ("participant_id empty", "individual", lambda d: _p(d).update(participant_id="")),
    ("participant_id 41 characters", "individual", lambda d: _p(d).update(participant_id="A" * 41)),
    ("participant_id 40 characters", "individual", lambda d: _p(d).update(participant_id="A" * 40)),
    ("participant_id missing", "individual", lambda d: _p(d).pop("participant_id")),
    ("participant_id a number", "individual", lambda d: _p(d).update(participant_id=7)),
    (
        "current medication with a last dose",
        "individual",
        lambda d: _p(d).update(medications=[{"name": "sertraline", "status": "current", "last_taken": "2026-01-01"}]),
    ),
    (
        "stopped medication with a last dose",
        "individual",
        lambda d: _p(d).update(medications=[{"name": "sertraline", "status": "stopped", "last_taken": "2026-01-01"}]),
    ),
    (
        "medication status left out with a last dose",
        "individual",
        lambda d: _p(d).update(medications=[{"name": "sertraline", "last_taken": "2026-01-01"}]),
    ),
    ("medication without a name", "individual", lambda d: _p(d).update(medications=[{"status": "current"}])),
    ("medication with an empty name", "individual", lambda d: _p(d).update(medications=[{"name": ""}])),
    ("medication name of spaces only", "individual", lambda d: _p(d).update(medications=[{"name": "   "}])),
    ("medication name with spaces around", "individual", lambda d: _p(d).update(medications=[{"name": " Zoloft "}])),
    ("medication name of 201 characters", "individual", lambda d: _p(d).update(medications=[{"name": "x" * 201}])),
    ("61 medications", "individual", lambda d: _p(d).update(medications=[{"name": "vitamin d"}] * 61)),
    (
        "medication answer 'Yes'",
        "individual",
        lambda d: _p(d).update(medications=[{"name": "x", "status": "stopped", "stopped_with_prescriber": "Yes"}]),
    ),
    ("relation type 'partner'", "duo", lambda d: _p(d).update(relationship={"relation_type": "partner"})),
    ("conflict level null", "duo", lambda d: _p(d).update(relationship={"conflict_level": None})),
    ("relationship answer true", "duo", lambda d: _p(d).update(relationship={"fear_of_other": True})),
]

# What only the library checks (the schema's $comment); here the two differ, by design.
LIBRARY_ONLY = [
    ("duplicate participant ids", lambda d: _p(d, 1).update(participant_id=_p(d, 0)["participant_id"])),
    ("diastolic above systolic", lambda d: _p(d).setdefault("physical", {}).update(systolic_bp=80, diastolic_bp=120)),
]


@pytest.fixture
def intakes(baseline_individual, baseline_duo):
    return {"individual": baseline_individual, "duo": baseline_duo}


@pytest.mark.parametrize(("name", "which", "mutate"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_schema_and_library_agree(intakes, name, which, mutate):
    data = copy.deepcopy(intakes[which])
    mutate(data)
    assert schema_accepts(data) == library_accepts(data), name


def test_the_suite_has_both_verdicts(intakes):
    verdicts = set()
    for _, which, mutate in MUTATIONS:
        data = copy.deepcopy(intakes[which])
        mutate(data)
        verdicts.add(library_accepts(data))
    assert verdicts == {True, False}


@pytest.mark.parametrize(("name", "mutate"), LIBRARY_ONLY, ids=[m[0] for m in LIBRARY_ONLY])
def test_the_documented_library_only_checks_are_the_only_differences(baseline_duo, name, mutate):
    mutate(baseline_duo)
    assert schema_accepts(baseline_duo) and not library_accepts(baseline_duo)


def test_the_schema_names_the_checks_only_the_library_makes():
    comment = intake_schema()["$comment"]
    assert all(check in comment for check in LIBRARY_ONLY_CHECKS)
    assert len(LIBRARY_ONLY_CHECKS) == len(LIBRARY_ONLY) + 1  # + whitespace, shown below


def test_surrounding_spaces_are_removed_by_the_library(baseline_individual):
    _p(baseline_individual).update(participant_id=" A")
    assert not schema_accepts(baseline_individual)
    assert parse_intake(baseline_individual).participants[0].participant_id == "A"


# a value pool an intake system might send, written into any one field
VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1,
    46,
    46.0,
    46.5,
    1e9,
    "",
    " ",
    "yes",
    "no",
    "unknown",
    "Yes",
    "46",
    "2026-11-01",
    "duo",
    "individual",
    "current",
    "stopped",
    "mdma",
    [],
    {},
    ["yes"],
    {"a": 1},
]


@functools.cache
def _field_paths():
    """(which, path) for every field of a participant section and the session."""
    schema = intake_schema()
    defs = schema["$defs"]
    paths = [("individual", ("session", name)) for name in defs["Session"]["properties"]]
    for section, ref in defs["Participant"]["properties"].items():
        target = ref.get("$ref") or next((a.get("$ref") for a in ref.get("anyOf", []) if "$ref" in a), None)
        which = "duo" if section == "relationship" else "individual"
        if target is None:
            paths.append((which, ("participants", 0, section)))
            continue
        for name in defs[target.rsplit("/", 1)[1]]["properties"]:
            paths.append((which, ("participants", 0, section, name)))
    for name in defs["Medication"]["properties"]:
        paths.append(("individual", ("participants", 0, "medications", 0, name)))
    return paths


def _baselines(book):
    session = copy.deepcopy(book.baseline["session"])
    individual = {"session": session, "participants": [copy.deepcopy(book.baseline["participant"])]}
    first, second = copy.deepcopy(book.baseline["participant"]), copy.deepcopy(book.baseline["participant"])
    second["participant_id"] = "B"
    duo = {"session": {**copy.deepcopy(session), "format": "duo"}, "participants": [first, second]}
    return {"individual": individual, "duo": duo}


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_one_field_set_to_any_common_value_gets_the_same_verdict(data):
    from screening.rulebook import loading as rulebook

    baselines = _baselines(rulebook.default())  # not a fixture: a failure report stays short
    which, path = data.draw(st.sampled_from(_field_paths()))
    value = data.draw(st.sampled_from(VALUES))
    intake = copy.deepcopy(baselines[which])
    if path[2:4] == ("medications", 0):
        intake["participants"][0]["medications"] = [{"name": "vitamin d"}]
    node = intake
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = value
    assert schema_accepts(intake) == library_accepts(intake), (path, value)


# ------------------------------------------------------------------ headers and reports


def test_both_schemas_name_their_dialect_and_id(capsys):
    for which, schema in (("intake", intake_schema()), ("report", report_schema())):
        # the report's contract has its own version (report/2/), the intake's goes with the library
        assert schema["$schema"] == DIALECT and schema["$id"] == schema_id(which, 2 if which == "report" else None)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert main(["schema", which]) == 0
        assert json.loads(capsys.readouterr().out) == schema


def test_every_example_intake_is_valid_under_the_schema():
    import yaml

    for path in [*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.json"), *(EXAMPLES / "cases").glob("*.yaml")]:
        as_json = json.loads(
            json.dumps(yaml.safe_load(path.read_text()), default=lambda d: d.isoformat())
        )  # YAML dates as JSON text
        assert schema_accepts(as_json) and library_accepts(as_json), path.name


@pytest.mark.parametrize("name", ["duo-mdma.yaml", "individual-psilocybin.json"])
def test_reports_and_participant_views_validate_against_the_report_schema(name):
    report = screen(read_intake(EXAMPLES / name))
    validator = jsonschema.Draft202012Validator(report_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for view in [report, *(report.view_for(p) for p in report.participants)]:
        validator.validate(json.loads(view.to_json()))
