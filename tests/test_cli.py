"""The command line: results on stdout, diagnostics on stderr, documented exit codes."""

import json
import subprocess
import sys

import pytest
from conftest import EXAMPLES

from screening.cli.commands import main


def run(*args):
    """`python -m screening ...` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "screening", *args], capture_output=True, text=True, timeout=120)


def test_screen_prints_a_text_report_and_exits_0():
    result = run("screen", str(EXAMPLES / "duo-mdma.yaml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Screening report for the clinician: MDMA, duo session")
    assert "decides nothing" in result.stdout
    assert result.stderr == ""


def test_json_output_follows_the_report_schema(capsys):
    assert main(["screen", str(EXAMPLES / "individual-psilocybin.json"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["view"] == "clinician" and report["flags"]
    assert not {"eligible", "cleared", "safe"} & set(report)


def test_fail_on_exits_1_only_when_a_flag_reaches_the_severity(tmp_path, baseline_individual, capsys):
    assert main(["screen", str(EXAMPLES / "individual-psilocybin.json"), "--fail-on", "warning"]) == 1
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(baseline_individual))
    assert main(["screen", str(clean), "--fail-on", "info"]) == 0
    assert "No rule matched" in capsys.readouterr().out


def test_an_invalid_intake_exits_3_naming_the_field_and_prints_nothing_on_stdout(tmp_path):
    bad = tmp_path / "bad.json"
    data = json.loads((EXAMPLES / "individual-psilocybin.json").read_text())
    data["participants"][0]["person"]["age"] = -1
    bad.write_text(json.dumps(data))
    result = run("screen", str(bad))
    assert result.returncode == 3
    assert result.stdout == ""
    assert "participants.0.person.age" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_is_a_usage_error_naming_it(tmp_path):
    result = run("screen", str(tmp_path / "nope.json"))
    assert result.returncode == 2 and f"no such file: {tmp_path / 'nope.json'}" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_usage_errors_exit_2():
    assert run("screen").returncode == 2
    assert run("frobnicate").returncode == 2


def test_a_broken_rulebook_exits_2_with_file_and_line(tmp_path):
    import shutil

    from screening.rulebook.loading import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    path = rules / "pregnancy" / "pregnant-or-possibly-pregnant.yaml"
    path.write_text(path.read_text().replace("person.pregnant:", "person.pregant:"))
    result = run("rules", "check", "--rules", str(rules))
    assert result.returncode == 2
    assert "pregnancy/pregnant-or-possibly-pregnant.yaml:" in result.stderr and "did you mean" in result.stderr


def test_rules_check_passes_on_the_shipped_rulebook():
    result = run("rules", "check")
    assert result.returncode == 0, result.stderr
    assert "all valid" in result.stdout and "rules per category" in result.stdout


@pytest.mark.parametrize("which", ["intake", "report"])
def test_schema_prints_json_schema(which, capsys):
    assert main(["schema", which]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object" and schema["properties"]


def test_a_participant_view_leaves_out_the_other_participants_answers(capsys):
    assert main(["screen", str(EXAMPLES / "duo-mdma.yaml"), "--format", "json", "--view", "B"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["view"] == "participant:B"
    assert all(e["participant"] == "B" for f in report["flags"] for e in f["evidence"])
    assert all(m["participant"] == "B" for m in report["missing_information"])


def test_rules_check_rejects_a_rule_too_complex_for_the_engine(tmp_path):
    """durable_rules fails at run time past 64 tests on one fact; the check says so up front."""
    import shutil

    from screening.rulebook.loading import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    path = rules / "psychosis-risk" / "bipolar-1.yaml"
    thresholds = "\n".join(f"    - above: {{physical.systolic_bp: {100 + k}}}" for k in range(60))
    text = path.read_text().replace("when:\n  is:\n    psychiatric.bipolar_1: 'yes'\n", f"when:\n  any:\n{thresholds}\n")
    path.write_text(text)
    result = run("rules", "check", "--rules", str(rules))
    assert result.returncode == 2, result.stdout
    assert "psychosis-risk/bipolar-1.yaml:9" in result.stderr and "engine tests" in result.stderr


def test_text_report_keeps_every_source_link_whole(capsys):
    """A reader clicks the sources: wrapping must never cut a URL."""
    assert main(["screen", str(EXAMPLES / "duo-mdma.yaml"), "--format", "json"]) == 0
    urls = {r["url"] for rule in json.loads(capsys.readouterr().out)["rules"].values() for r in rule["references"]}
    assert main(["screen", str(EXAMPLES / "duo-mdma.yaml")]) == 0
    text = capsys.readouterr().out
    assert urls and all(f"<{url}>" in text for url in urls)
