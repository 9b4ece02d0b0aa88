"""Bad input never crashes the screening: every malformed intake is exit 3 with a message that
names the problem, no traceback and nothing on stdout, in bounded time; every malformed rule
file is exit 2 with file:line."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from screening import IntakeError
from screening.cli.commands import main
from screening.intake.fields import PARTICIPANT_GROUPS
from screening.intake.models import Session
from screening.pipeline.screener import MAX_INTAKE_BYTES, parse_intake, read_intake
from screening.rulebook.loading import default_rules_dir

MARKER = "Qx7MarkerZebra"
FORBIDDEN = re.compile(r"\b(eligible|eligibility|cleared|approved|safe)\b", re.IGNORECASE)


def _valid(book) -> dict:
    session = copy.deepcopy(book.baseline["session"])
    session["format"] = "duo"
    first = copy.deepcopy(book.baseline["participant"])
    first["relationship"] = copy.deepcopy(book.baseline["relationship"])
    second = copy.deepcopy(first)
    second["participant_id"] = "B"
    first["medications"] = [{"name": "sertraline 50 mg", "status": "current"}]
    return {"session": session, "participants": [first, second]}


def _changed(intake: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(intake)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _dropped(intake: dict, path: tuple) -> dict:
    out = copy.deepcopy(intake)
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


WRONG_VALUES = ["maybe", 7, 1.5, [], {"yes": True}, -1, 10**12, "x" * 5000, f"{MARKER}"]


def field_cases(book) -> list[tuple[str, dict, str]]:
    """(name, intake data, the field the message names): every field given values of the wrong kind."""
    base = _valid(book)
    cases = []
    sections = [(("session",), Session)] + [(("participants", 1, group), model) for group, model in PARTICIPANT_GROUPS.items()]
    for prefix, model in sections:
        for name in model.model_fields:
            if name in ("substance", "format"):
                continue
            dotted = ".".join(str(p) for p in (*prefix, name))
            for value in WRONG_VALUES:
                try:  # only values the model really rejects are bad input
                    model.model_validate(
                        {**({} if prefix[0] != "session" else {"substance": "mdma", "format": "duo"}), name: value}
                    )
                    continue
                except ValueError:
                    pass
                cases.append((f"{dotted}={str(value)[:20]}", _changed(base, (*prefix, name), value), dotted))
    medication = ("participants", 0, "medications", 0)
    cases += [
        ("medication name too long", _changed(base, (*medication, "name"), MARKER * 50), "participants.0.medications.0.name"),
        ("medication name empty", _changed(base, (*medication, "name"), ""), "participants.0.medications.0.name"),
        ("medication status", _changed(base, (*medication, "status"), "sometimes"), "participants.0.medications.0.status"),
        ("current with a last date", _changed(base, (*medication, "last_taken"), "2026-11-01"), "participants.0.medications.0"),
        ("medication as a string", _changed(base, ("participants", 0, "medications"), MARKER), "participants.0.medications"),
        (
            "61 medications",
            _changed(base, ("participants", 0, "medications"), [{"name": "aspirin"}] * 61),
            "participants.0.medications",
        ),
        ("invalid date", _changed(base, ("session", "planned_date"), "2026-02-30"), "session.planned_date"),
        ("words for a date", _changed(base, ("session", "planned_date"), "next tuesday"), "session.planned_date"),
        (
            "invalid last_taken",
            _changed(base, (*medication, "last_taken"), "01/02/2026"),
            "participants.0.medications.0.last_taken",
        ),
        ("unknown substance", _changed(base, ("session", "substance"), "mescaline"), "session.substance"),
        ("unknown format", _changed(base, ("session", "format"), "group"), "session.format"),
        ("unknown top-level field", {**base, "notes": MARKER}, "notes"),
        (
            "unknown nested field",
            _changed(base, ("participants", 0, "psychiatric", "psychotic_disorde"), "no"),
            "participants.0.psychiatric.psychotic_disorde",
        ),
        ("no session", _dropped(base, ("session",)), "session"),
        ("no participants", _dropped(base, ("participants",)), "participants"),
        ("zero participants", _changed(base, ("participants",), []), "participants"),
        (
            "three participants",
            _changed(base, ("participants",), base["participants"] + [dict(base["participants"][1], participant_id="C")]),
            "participants",
        ),
        ("duo with one participant", _changed(base, ("participants",), base["participants"][:1]), "duo intake needs exactly two"),
        ("individual with two", _changed(base, ("session", "format"), "individual"), "individual intake has exactly one"),
        (
            "same participant id twice",
            _changed(base, ("participants", 1, "participant_id"), "A"),
            "participant_id values must differ",
        ),
        (
            "participant id with spaces",
            _changed(base, ("participants", 1, "participant_id"), "Jane Doe"),
            "participants.1.participant_id",
        ),
        ("no participant id", _dropped(base, ("participants", 1, "participant_id")), "participants.1.participant_id"),
        ("systolic below diastolic", _changed(base, ("participants", 0, "physical", "diastolic_bp"), 150), "systolic_bp"),
        ("participants a mapping", _changed(base, ("participants",), {"A": {}}), "participants"),
        ("session a list", _changed(base, ("session",), [1, 2]), "session"),
        (
            "NaN weight",
            _changed(base, ("participants", 0, "person", "weight_kg"), float("nan")),
            "participants.0.person.weight_kg",
        ),
        ("infinite session", _changed(base, ("session", "session_hours"), float("inf")), "session.session_hours"),
    ]
    return cases


def test_every_field_with_a_wrong_value_is_rejected_naming_the_field(book):
    cases = field_cases(book)
    assert len(cases) > 300
    for name, data, named in cases:
        with pytest.raises(IntakeError) as caught:
            parse_intake(data)
        message = str(caught.value)
        assert named in message, (name, message)
        assert MARKER not in message, f"{name}: the message quotes the answer"
        assert not FORBIDDEN.search(message), (name, message)


def _bytes_cases(book) -> list[tuple[str, str, bytes, str]]:
    """(name, file suffix, content, a phrase the message holds)."""
    good = json.dumps(_valid(book)).encode()
    good_yaml = yaml.safe_dump(json.loads(good)).encode()
    bomb = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n".encode()
        for i in range(8)
    )
    return [
        ("empty file", ".yaml", b"", "mapping"),
        ("empty JSON file", ".json", b"", "not valid JSON"),
        ("only whitespace", ".yaml", b"   \n\n  ", "mapping"),
        ("a list", ".json", b"[1, 2, 3]", "mapping"),
        ("a YAML list", ".yaml", b"- session\n- participants\n", "mapping"),
        ("a number", ".yaml", b"42\n", "mapping"),
        ("a string", ".json", b'"intake"', "mapping"),
        ("null", ".json", b"null", "mapping"),
        ("truncated JSON", ".json", good[: len(good) // 2], "not valid JSON"),
        ("truncated YAML", ".yaml", good_yaml[: len(good_yaml) // 2] + b"\n  - [unclosed", "YAML"),
        ("not UTF-8", ".json", b"\xff\xfe" + good[:40], "not UTF-8"),
        (
            "latin-1 text",
            ".yaml",
            "session: {substance: psilocybin, format: individual}\nname: J\xf6rg\n".encode("latin-1"),
            "not UTF-8",
        ),
        ("UTF-16", ".json", good.decode().encode("utf-16"), "not UTF-8"),
        ("NUL bytes", ".yaml", b"\x00\x00\x00session:", "YAML"),
        ("binary junk", ".bin", bytes(range(256)) * 20, "UTF-8"),
        ("100,000 nested JSON lists", ".json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("100,000 nested YAML lists", ".yaml", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("100,000 nested JSON objects", ".json", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        ("YAML bomb", ".yaml", bomb, "YAML anchors are not accepted"),
        (
            "YAML anchor",
            ".yaml",
            b"session: &s {substance: mdma, format: individual}\nparticipants: [{participant_id: A}]\n",
            "anchors",
        ),
        ("YAML alias", ".yaml", b"x: 1\nsession: *x\n", "YAML aliases are not accepted"),
        ("python object tag", ".yaml", b"session: !!python/object/apply:os.system ['echo hi']\n", "YAML"),
        ("huge file", ".json", b'{"session": "' + b"x" * (MAX_INTAKE_BYTES + 10) + b'"}', "larger than"),
        ("huge string under the size cap", ".json", json.dumps({**_valid(book), "x": "y" * 900_000}).encode(), "x: Extra inputs"),
        ("JSON with trailing junk", ".json", good + b"}}}", "not valid JSON"),
        ("tab-indented YAML", ".yaml", b"session:\n\tsubstance: mdma\n", "YAML"),
        (
            "duplicate participants",
            ".json",
            json.dumps({**_valid(book), "participants": [_valid(book)["participants"][0]] * 2}).encode(),
            "must differ",
        ),
    ]


@pytest.fixture(scope="module")
def byte_cases(book):
    return _bytes_cases(book)


def test_malformed_files_exit_3_with_a_clear_message_and_nothing_on_stdout(tmp_path, book, capsys):
    for n, (name, suffix, content, phrase) in enumerate(_bytes_cases(book)):
        path = tmp_path / f"case{n}{suffix}"
        path.write_bytes(content)
        started = time.perf_counter()
        code = main(["screen", str(path)])
        elapsed = time.perf_counter() - started
        out, err = capsys.readouterr()
        assert code == 3, (name, err)
        assert out == "", name
        assert phrase in err, (name, err[:300])
        assert "Traceback" not in err and len(err) < 5000, name
        assert elapsed < 10, (name, elapsed)
        assert not FORBIDDEN.search(err), (name, err)


def test_missing_file_and_a_folder_are_usage_errors(tmp_path, capsys):
    assert main(["screen", str(tmp_path / "absent.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["screen", str(tmp_path)]) == 2
    assert "not a file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name", ["100,000 nested JSON lists", "100,000 nested YAML lists", "YAML bomb", "not UTF-8", "a list", "empty file"]
)
def test_the_command_line_survives_hostile_files_in_a_fresh_process(tmp_path, book, name):
    """As a user runs it: a separate process, exit 3, no traceback, within a generous timeout."""
    suffix, content, phrase = next((s, c, p) for n, s, c, p in _bytes_cases(book) if n == name)
    path = tmp_path / f"intake{suffix}"
    path.write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "screening", "screen", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert phrase in result.stderr and "Traceback" not in result.stderr


def test_every_field_case_through_the_command_line_exits_3(tmp_path, book, capsys):
    """A sample of the wrong-value cases, written to files and screened by the CLI."""
    cases = field_cases(book)[::7]
    for n, (name, data, named) in enumerate(cases):
        path = tmp_path / f"f{n}.json"
        path.write_text(json.dumps(data, default=str))
        assert main(["screen", str(path), "--format", "json"]) == 3, name
        out, err = capsys.readouterr()
        assert out == "" and named in err and "Traceback" not in err, (name, err)


def test_read_intake_reads_yaml_and_json_of_the_same_intake(tmp_path, book):
    data = _valid(book)
    (tmp_path / "a.json").write_text(json.dumps(data))
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(data))
    assert read_intake(tmp_path / "a.json") == read_intake(tmp_path / "a.yaml")


# ---------------------------------------------------------------------------- malformed rule files

RULE = "relationship/pressure-to-take-part.yaml"


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def _rules_check(folder, capsys) -> tuple[int, str]:
    code = main(["rules", "check", "--rules", str(folder)])
    _out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, err


def _line_of(text: str, startswith: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(startswith))


def test_bad_yaml_in_a_rule_is_exit_2_with_file_and_line(rules_copy, capsys):
    path = rules_copy / RULE
    text = path.read_text().replace("severity: warning", "severity: [warning")
    path.write_text(text)
    code, err = _rules_check(rules_copy, capsys)
    assert code == 2
    assert re.search(re.escape(RULE) + r":\d+: not valid YAML", err), err


def test_an_unknown_rule_field_is_exit_2_with_a_did_you_mean(rules_copy, capsys):
    path = rules_copy / RULE
    text = path.read_text().replace("summary:", "sumary:", 1)
    path.write_text(text)
    code, err = _rules_check(rules_copy, capsys)
    assert code == 2
    assert f"{RULE}:{_line_of(text, 'sumary:')}:" in err and "did you mean 'summary'" in err, err


def test_a_misspelt_intake_field_in_when_is_exit_2_with_a_did_you_mean(rules_copy, capsys):
    path = rules_copy / RULE
    text = path.read_text().replace("relationship.pressure_to_take_part: [", "relationship.presure_to_take_part: [")
    path.write_text(text)
    code, err = _rules_check(rules_copy, capsys)
    assert code == 2
    assert f"{RULE}:" in err and "did you mean 'relationship.pressure_to_take_part'" in err, err


def test_a_duplicate_rule_id_is_exit_2_naming_both_files(rules_copy, capsys):
    shutil.copy(rules_copy / RULE, rules_copy / "relationship" / "copy-of-pressure.yaml")
    code, err = _rules_check(rules_copy, capsys)
    assert code == 2
    assert re.search(r"relationship/(copy-of-pressure|pressure-to-take-part)\.yaml:1: duplicate id", err), err


def test_missing_limitations_is_exit_2_with_file_and_line(rules_copy, capsys):
    path = rules_copy / RULE
    data = path.read_text()
    start = data.index("limitations:")
    end = data.index("references:")
    path.write_text(data[:start] + data[end:])
    code, err = _rules_check(rules_copy, capsys)
    assert code == 2
    assert re.search(re.escape(RULE) + r":\d+: limitations: Field required", err), err


def test_directive_wording_is_exit_2_with_file_and_line(rules_copy, capsys):
    path = rules_copy / RULE
    text = path.read_text().replace("clinician_action: >\n", "clinician_action: >\n  Do not proceed with the session.\n")
    path.write_text(text)
    code, err = _rules_check(rules_copy, capsys)
    assert code == 2
    assert f"{RULE}:{_line_of(text, 'clinician_action:')}: clinician_action gives a directive" in err, err


def test_a_rule_without_a_no_flag_example_is_exit_2_with_file_and_line(rules_copy, capsys):
    path = rules_copy / RULE
    data = yaml.safe_load(path.read_text())
    data["examples"] = [e for e in data["examples"] if e["expect"] == "flag"]
    text = yaml.safe_dump(data, sort_keys=False)
    path.write_text(text)
    code, err = _rules_check(rules_copy, capsys)
    assert code == 2
    assert f"{RULE}:{_line_of(text, 'examples:')}: examples need at least one case" in err, err


def test_a_rule_file_that_is_a_list_or_empty_is_exit_2(rules_copy, capsys):
    (rules_copy / RULE).write_text("- id: x\n")
    (rules_copy / "setting" / "empty.yaml").write_text("")
    code, err = _rules_check(rules_copy, capsys)
    assert code == 2
    assert f"{RULE}:1: a rule file holds one mapping" in err, err
