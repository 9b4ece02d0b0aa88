"""Report contract 2 (issue 30): rule texts once, flags and findings by id, and a reader of version 1 still served."""

from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from screening import read_intake, report_schema, screen
from screening.cli.audit import read_report
from screening.cli.commands import main
from screening.errors import ScreeningError
from screening.interop.cds_hooks import cards
from screening.report.findings import limitations_of, references_of
from screening.report.html import render_html
from screening.report.model import compute_report_id, render_text

sys.path.insert(0, str(ROOT / "benchmarks"))

TODAY = dt.date(2026, 12, 1)
V1 = Path(__file__).parent / "data" / "report-v1-duo-mdma.json"


@pytest.fixture(scope="module")
def duo():
    return screen(read_intake(EXAMPLES / "duo-mdma.yaml"), today=TODAY)


def test_each_rule_that_fired_is_written_once_and_flags_and_findings_name_it(duo):
    data = json.loads(duo.to_json())
    assert data["report_version"] == 2
    fired = [f["rule_id"] for f in data["flags"]]
    assert sorted(data["rules"]) == sorted(set(fired))
    text = duo.to_json()
    for rule_id, rule in data["rules"].items():
        # the explanation appears once in the whole JSON, however many flags and findings rest on the rule
        assert text.count(json.dumps(rule["explanation"], ensure_ascii=False)[1:-1]) == 1, rule_id
    for flag in data["flags"]:
        assert set(flag) == {"rule_id", "severity", "participant", "participants", "evidence", "combines"}
    for finding in data["findings"]:
        assert finding["rule_id"] in data["rules"]
        assert not {"summary", "explanation", "clinician_action", "limitations", "references"} & set(finding)
    asked = {e["field"] for f in data["flags"] + data["findings"] for e in f["evidence"]}
    assert asked <= set(data["questions"])
    assert data["summary"]["address_first"][0] in {f["id"] for f in data["findings"]}


def test_every_rendering_reads_the_texts_from_rules(duo):
    """Change a rule's texts in the report's rules: the text, HTML and cards all show the change."""
    rule_id = next(iter(duo.rules))
    marker = "Marker-explanation-for-the-test"
    changed = duo.model_copy(
        update={"rules": {**duo.rules, rule_id: duo.rules[rule_id].model_copy(update={"explanation": marker})}}
    )
    assert marker in render_text(changed)
    assert marker in render_html(changed)
    finding = next(f for f in changed.findings if f.rule_id == rule_id)
    card = cards(changed)[changed.findings.index(finding)]
    assert marker in card["detail"]


def test_a_finding_reads_the_limitations_and_sources_of_every_rule_it_covers(duo):
    several = [f for f in duo.findings if len({r.rule_id for r in f.rules}) > 1]
    assert several, "the example duo has a finding covering several rules"
    for finding in several:
        for covered in finding.rules:
            assert set(duo.rules[covered.rule_id].limitations) <= set(limitations_of(finding, duo.rules))
            urls = {ref.url for ref in references_of(finding, duo.rules)}
            assert {ref.url for ref in duo.rules[covered.rule_id].references} <= urls


def test_the_worst_case_duo_writes_under_320_kb_and_the_same_report_on_both_engines():
    import run

    from screening.rulebook import loading

    worst = run.worst_case(loading.default(), True)
    python, crossed = screen(worst, today=TODAY, engine="python"), screen(worst, today=TODAY, engine="cross-check")
    assert len(python.to_json(indent=None).encode()) < 320_000  # version 1 wrote 780 kB for this intake
    assert python.report_id == crossed.report_id
    assert python.model_copy(update={"engine": ""}).to_json() == crossed.model_copy(update={"engine": ""}).to_json()


def test_the_schema_is_version_2_and_every_report_and_view_validates(duo):
    jsonschema = pytest.importorskip("jsonschema")
    schema = report_schema()
    assert schema["$id"].endswith("/report/2/report.schema.json")
    assert schema["properties"]["report_version"]["const"] == 2
    validator = jsonschema.Draft202012Validator(schema)
    for report in (duo, duo.view_for("A"), duo.view_for("B"), duo.in_language("nl")):
        validator.validate(json.loads(report.to_json()))


def test_a_version_1_report_is_read_checked_by_its_own_id_and_keeps_it():
    data = json.loads(V1.read_text())
    assert "report_version" not in data
    report = read_report(str(V1))
    assert report.report_version == 2 and report.report_id == data["report_id"]
    assert {f["rule_id"] for f in data["flags"]} == set(report.rules)
    for old, new in zip(data["flags"], report.flags):
        assert report.rules[new.rule_id].explanation == old["explanation"]
        assert [report.questions[e.field] for e in new.evidence] == [e["question"] for e in old["evidence"]]
    assert len(report.findings) == len(data["findings"])
    assert [f["id"] for f in data["findings"]] == [f.id for f in report.findings]


def test_an_edited_version_1_report_is_refused(tmp_path):
    data = json.loads(V1.read_text())
    edited = copy.deepcopy(data)
    edited["flags"].pop()
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))
    with pytest.raises(ScreeningError, match="does not match its report_id"):
        read_report(str(path))


def test_diff_from_a_version_1_report_to_a_version_2_report(tmp_path, capsys):
    new = tmp_path / "new.json"
    main(["screen", str(EXAMPLES / "duo-mdma.yaml"), "--format", "json"])
    new.write_text(capsys.readouterr().out)
    assert main(["diff", str(V1), str(new)]) == 0
    out = capsys.readouterr().out
    assert "MDMA: blood pressure" in out  # titles, from the rules of each report
    assert compute_report_id(json.loads(new.read_text())) == json.loads(new.read_text())["report_id"]
