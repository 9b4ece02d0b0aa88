"""Review records tied to each rule's content: sign-off, invalidation by a later change, and
what changed since, through the command line as a reviewer uses it."""

import json
import re
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening import load_rulebook, screen
from screening.authoring.docs import render
from screening.cli.commands import main
from screening.report.findings import status_of
from screening.report.model import render_text
from screening.rulebook.loading import default_rules_dir
from screening.rulebook.review import CHECKLIST, REVIEWS_FILE, content_hash, state_of

RULE = "cardiovascular.recent-heart-attack-or-stroke"
FILE = "cardiovascular/recent-heart-attack-or-stroke.yaml"
ALL_YES = [arg for item in CHECKLIST for arg in ("--check", f"{item}=yes")]


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    (target / REVIEWS_FILE).unlink(missing_ok=True)
    return target


def approve(rules, rule=RULE, *extra):
    return main(
        [
            "rules",
            "review",
            rule,
            "--rules",
            str(rules),
            "--decision",
            "approved",
            "--reviewer",
            "Dr Jane Example",
            "--role",
            "psychiatrist",
            "--date",
            "2026-11-30",
            *ALL_YES,
            *extra,
        ]
    )


def intake_with_recent_heart_attack(book):
    participant = json.loads(json.dumps(book.baseline["participant"]))
    participant["physical"]["heart_attack_last_6_months"] = "yes"
    return {"session": dict(book.baseline["session"]), "participants": [participant]}


def test_an_approval_is_recorded_and_shows_in_check_docs_and_reports(rules_copy, capsys):
    rulebook_hash = load_rulebook(rules_copy).sha256
    assert approve(rules_copy) == 0
    assert load_rulebook(rules_copy).sha256 == rulebook_hash  # a review changes no rule
    record = json.loads((rules_copy / REVIEWS_FILE).read_text().splitlines()[0])
    assert record["rule_id"] == RULE and record["decision"] == "approved"
    assert record["reviewer"] == "Dr Jane Example" and record["role"] == "psychiatrist"
    assert record["checklist"] == {item: "yes" for item in CHECKLIST}
    book = load_rulebook(rules_copy)
    assert record["rule_sha256"] == content_hash(book.rule(RULE), book)
    capsys.readouterr()
    assert main(["rules", "check", "--rules", str(rules_copy)]) == 0
    assert "approved 1" in capsys.readouterr().out
    pages = render(book)
    row = next(line for line in pages["index.md"].splitlines() if f"{RULE}.md" in line)
    assert "| approved | Dr Jane Example (psychiatrist), 2026-11-30 |" in row
    assert "last: approved by Dr Jane Example" in pages[f"cardiovascular/{RULE}.md"]
    report = screen(intake_with_recent_heart_attack(book), rulebook=book, engine="python")
    flag = next(f for f in report.flags if f.rule_id == RULE)
    assert report.rules[flag.rule_id].rule_status == "approved"


def test_changing_a_threshold_after_approval_shows_changed_since_approval_everywhere(rules_copy, capsys):
    approve(rules_copy, "cardiovascular.blood-pressure-160-100")
    path = rules_copy / "cardiovascular/blood-pressure-160-100.yaml"
    text = path.read_text()
    assert "160" in text
    text = text.replace("physical.systolic_bp: 160", "physical.systolic_bp: 150")
    path.write_text(text.replace('"159/99"', '"149/99"').replace('"systolic_bp": 159', '"systolic_bp": 149'))
    book = load_rulebook(rules_copy)
    rule = book.rule("cardiovascular.blood-pressure-160-100")
    assert state_of(book, rule).state == "changed since approval"
    capsys.readouterr()
    assert main(["rules", "check", "--rules", str(rules_copy)]) == 0
    out = capsys.readouterr().out
    assert "changed since approval 1" in out and "cardiovascular.blood-pressure-160-100" in out
    index = render(book)["index.md"]
    assert any("blood-pressure-160-100.md" in line and "changed since approval" in line for line in index.splitlines())
    assert main(["rules", "review", rule.id, "--rules", str(rules_copy)]) == 0
    shown = capsys.readouterr().out
    assert "changed since the approval of 2026-11-30" in shown
    assert "-      physical.systolic_bp: 160" in shown and "+      physical.systolic_bp: 150" in shown


def test_formatting_and_bookkeeping_do_not_invalidate_an_approval(rules_copy):
    approve(rules_copy)
    path = rules_copy / FILE
    text = path.read_text().replace("written: 2026-11-22", "written: 2026-11-23")
    path.write_text(text.replace("\nsummary:", "\n\n# a comment\nsummary:"))
    book = load_rulebook(rules_copy)
    assert state_of(book, book.rule(RULE)).state == "approved"


def test_an_approval_needs_every_checklist_item_and_no_no(rules_copy, capsys):
    common = [
        "rules",
        "review",
        RULE,
        "--rules",
        str(rules_copy),
        "--decision",
        "approved",
        "--reviewer",
        "Dr X",
        "--role",
        "physician",
    ]
    assert main([*common, "--check", "logic=yes"]) == 2
    assert "missing: severity" in capsys.readouterr().err
    answers = [a if a != "sources=yes" else "sources=no" for a in ALL_YES]
    assert main([*common, *answers]) == 2
    assert "not yes: sources" in capsys.readouterr().err
    answers = [a if a != "related=yes" else "related=no" for a in ALL_YES]
    assert main([*common, *answers]) == 2
    assert "request changes instead" in capsys.readouterr().err
    assert not (rules_copy / REVIEWS_FILE).exists()


def test_a_request_for_changes_needs_a_comment_and_is_the_state(rules_copy, capsys):
    common = [
        "rules",
        "review",
        RULE,
        "--rules",
        str(rules_copy),
        "--decision",
        "changes-requested",
        "--reviewer",
        "Dr X",
        "--role",
        "physician",
    ]
    assert main(common) == 2
    assert "needs --comment" in capsys.readouterr().err
    assert main([*common, "--comment", "Say where the 6-month window for heart attack comes from."]) == 0
    book = load_rulebook(rules_copy)
    assert state_of(book, book.rule(RULE)).state == "changes requested"


def test_a_review_dated_in_the_future_or_without_a_reviewer_is_refused(rules_copy, capsys):
    assert (
        main(["rules", "review", RULE, "--rules", str(rules_copy), "--decision", "approved", "--role", "physician", *ALL_YES])
        == 2
    )
    assert "--reviewer" in capsys.readouterr().err
    assert approve(rules_copy, RULE, "--date", "2999-01-01") == 2
    assert "in the future" in capsys.readouterr().err


def test_a_broken_review_file_is_a_rulebook_error_with_its_line(rules_copy, capsys):
    approve(rules_copy)
    with (rules_copy / REVIEWS_FILE).open("a") as handle:
        handle.write('{"rule_id": "no.such-rule"}\n')
    assert main(["rules", "check", "--rules", str(rules_copy)]) == 2
    err = capsys.readouterr().err
    assert "reviews.jsonl:2: rule_sha256: Field required" in err
    assert "Traceback" not in err


CONTENT_EDITS = {
    "severity": ("severity: critical", "severity: warning"),
    "summary": ('in the last 6 months."', 'in the last six months."'),
    "logic": ("stroke_or_tia_last_6_months: 'yes'", "stroke_or_tia_last_6_months: 'unknown'"),
    "example": ('name: "TIA this year"', 'name: "TIA in March"'),
    "source": ("Excludes myocardial infarction", "Leaves out myocardial infarction"),
}


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(sorted(CONTENT_EDITS)))
def test_any_content_change_changes_the_hash(tmp_path_factory, part):
    rules = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(default_rules_dir(), rules)
    book = load_rulebook(rules)
    before = content_hash(book.rule(RULE), book)
    old, new = CONTENT_EDITS[part]
    path = rules / FILE
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    book = load_rulebook(rules)
    assert content_hash(book.rule(RULE), book) != before


def git(repo, *args):
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@x",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@x",
            "HOME": str(repo),
            "PATH": "/usr/bin:/bin",
        },
    )


def test_docs_diff_lists_changes_by_part_since_a_ref_or_a_version(tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(default_rules_dir(), repo / "rules")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    git(repo, "tag", "v1")
    path = repo / "rules" / FILE
    path.write_text(path.read_text().replace("severity: critical", "severity: warning"))
    (repo / "rules/cardiovascular/long-qt.yaml").unlink()
    assert main(["docs", "diff", "--since", "v1", "--rules", str(repo / "rules")]) == 0
    out = capsys.readouterr().out
    assert "0 added, 1 removed, 1 changed" in out
    assert f"changed: {RULE} (severity)" in out and "-severity: critical" in out and "+severity: warning" in out
    assert "removed: cardiovascular.long-qt" in out
    version = load_rulebook(default_rules_dir()).version
    assert main(["docs", "diff", "--since", version, "--rules", str(repo / "rules")]) == 0
    assert "1 changed" in capsys.readouterr().out
    assert main(["docs", "diff", "--since", "no-such-ref", "--rules", str(repo / "rules")]) == 2
    assert "neither a git ref nor a rulebook version" in capsys.readouterr().err


def _review(rules, *argv):
    return main(["rules", "review", RULE, "--rules", str(rules), "--date", "2026-11-30", *argv])


def test_an_approval_needs_a_yes_to_each_core_item_all_na_is_refused(rules_copy, capsys):
    """Issue 27, 7: logic, severity, sources and wording answered yes, or no approval."""
    all_na = [arg for item in CHECKLIST for arg in ("--check", f"{item}=n/a")]
    assert _review(rules_copy, "--decision", "approved", "--reviewer", "Dr Jane Example", "--role", "psychiatrist", *all_na) == 2
    err = capsys.readouterr().err
    assert "not yes: logic, severity, sources, wording" in err and len(err.strip().splitlines()) == 1
    assert not (rules_copy / REVIEWS_FILE).exists()


@pytest.mark.parametrize(
    "reviewer, role, field",
    [
        ("xy", "psychiatrist", "--reviewer"),
        ("a", "psychiatrist", "--reviewer"),
        ("Dr Jane Example", "anyone", "--role"),
        ("Dr Jane Example", "other:", "--role"),
        ("Dr\x1b[2J Example", "psychiatrist", "--reviewer"),
        ("Dr Jane Example\u202e", "psychiatrist", "--reviewer"),
    ],
)
def test_a_bad_reviewer_or_role_is_one_line_naming_the_field(rules_copy, capsys, reviewer, role, field):
    assert _review(rules_copy, "--decision", "approved", "--reviewer", reviewer, "--role", role, *ALL_YES) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"screening: {field}") and len(err.strip().splitlines()) == 1
    assert "input_value" not in err and "http" not in err and "\x1b" not in err
    assert not (rules_copy / REVIEWS_FILE).exists()


def test_a_review_keeps_the_role_registration_and_who_recorded_it(rules_copy, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("USER", "made-up-typist")
    monkeypatch.chdir(tmp_path)
    argv = ["--decision", "approved", "--reviewer", "Dr Jane Example", "--role", "other:addiction medicine"]
    assert _review(rules_copy, *argv, "--registration", "BIG 00000000000", *ALL_YES) == 0
    record = json.loads((rules_copy / REVIEWS_FILE).read_text().splitlines()[-1])
    assert record["role"] == "other:addiction medicine" and record["registration"] == "BIG 00000000000"
    assert record["recorded_by"] == "made-up-typist" and record["reviewer"] == "Dr Jane Example"


def test_a_review_is_written_into_a_repository_never_an_installed_package(rules_copy, capsys, monkeypatch, tmp_path):
    """Issue 27, 7: without --rules, ./rules of a checkout; an installed package's folder is refused."""
    argv = ["rules", "review", RULE, "--decision", "approved", "--reviewer", "Dr Jane Example", "--role", "psychiatrist"]
    monkeypatch.chdir(tmp_path / "rules" / "..")
    assert main([*argv, *ALL_YES, "--date", "2026-11-30"]) == 0  # ./rules: the checkout's folder
    assert (rules_copy / REVIEWS_FILE).exists()
    installed = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "screening" / "rules"
    shutil.copytree(default_rules_dir(), installed)
    (installed / REVIEWS_FILE).unlink(missing_ok=True)
    assert main([*argv, "--rules", str(installed), *ALL_YES]) == 2
    err = capsys.readouterr().err
    assert "installed package" in err and "--rules PATH" in err and not (installed / REVIEWS_FILE).exists()
    monkeypatch.chdir(tmp_path / "venv")
    assert main([*argv, *ALL_YES]) == 2  # no ./rules here: never the shipped rulebook
    assert "not a rules folder" in capsys.readouterr().err


def test_reviewer_pages_show_names_and_comments_as_text_never_markup_or_links(rules_copy):
    """Issue 27, 6: what a record says reaches the pages as text; a control character never gets in."""
    book = load_rulebook(rules_copy)
    rule = book.rule(RULE)
    record = {
        "rule_id": RULE,
        "rule_sha256": content_hash(rule, book),
        "reviewer": "Dr <script>alert(1)</script> [x](javascript:alert(1))",
        "role": "psychiatrist",
        "date": "2026-11-30",
        "decision": "changes-requested",
        "comments": "<img src=x onerror=alert(1)> see [here](javascript:alert(2)) | cell",
        "checklist": {},
        "content": {},
    }
    (rules_copy / REVIEWS_FILE).write_text(json.dumps(record) + "\n")
    pages = render(load_rulebook(rules_copy))
    text = "\n".join(pages.values())
    assert "Dr \\<script\\>" in text
    for raw in ("<script>", "<img", "](javascript:", "[x](", "| cell"):  # each only with a backslash before it
        assert not re.search(r"(?<!\\)" + re.escape(raw), text), raw
    record["reviewer"] = "Dr\x1b[2J Example"
    (rules_copy / REVIEWS_FILE).write_text(json.dumps(record) + "\n")
    assert main(["rules", "check", "--rules", str(rules_copy)]) != 0


def _hashes(rules):
    book = load_rulebook(rules)
    return {rule.id: content_hash(rule, book) for rule in book.rules}


@pytest.mark.parametrize(
    "file, old, new, shows",
    [
        ("parameters.yaml", "    default: 140\n    unit: mmHg", "    default: 160\n    unit: mmHg", "bp_systolic_elevated: 160"),
        ("conditions.yaml", "      within_days: 14", "      within_days: 10", "within_days: 10"),
        (
            "mood-and-suicide/thoughts-of-harm-now.yaml",
            "participant_copy: on-request",
            "participant_copy: shown",
            "participant_copy: shown",
        ),
    ],
)
def test_docs_diff_and_the_review_hash_see_the_same_changes(tmp_path, capsys, file, old, new, shows):
    """Issue 27, 5: a parameter, a named condition or participant_copy changed outside a rule's
    file: docs diff lists each rule it touches, with old and new value, exactly where the hash moved."""
    repo = tmp_path / "repo"
    shutil.copytree(default_rules_dir(), repo / "rules")
    (repo / "rules" / REVIEWS_FILE).unlink(missing_ok=True)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    before = _hashes(repo / "rules")
    path = repo / "rules" / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    after = _hashes(repo / "rules")
    moved = sorted(rule_id for rule_id in after if after[rule_id] != before.get(rule_id))
    assert moved, "the review hash must see the change"
    assert main(["docs", "diff", "--since", "HEAD", "--rules", str(repo / "rules")]) == 0
    out = capsys.readouterr().out
    listed = sorted(re.findall(r"^changed: (\S+)", out, re.MULTILINE))
    assert listed == moved
    assert re.search(r"^\s*\+\s*" + re.escape(shows), out, re.MULTILINE)  # the new value ...
    old_value = old.split("\n")[0].split(":")[-1].strip()
    assert re.search(r"^\s*-.*: " + re.escape(old_value) + "$", out, re.MULTILINE)  # ... and the old one


def _status_everywhere(rules, capsys):
    """RULE's status as `rules check`, the index, the rule's page, a report's flag and finding
    and the text report each show it."""
    capsys.readouterr()
    assert main(["rules", "check", RULE, "--rules", str(rules)]) == 0
    check = re.search(rf"^{re.escape(RULE)}: (.+)$", capsys.readouterr().out, re.MULTILINE)
    book = load_rulebook(rules)
    pages = render(book)
    row = next(line for line in pages["index.md"].splitlines() if f"{RULE}.md" in line)
    page = re.search(r"^\| Status \| \*\*(.+?)\*\*:", pages[f"cardiovascular/{RULE}.md"], re.MULTILINE)
    report = screen(intake_with_recent_heart_attack(book), rulebook=book, engine="python")
    flag = next(f for f in report.flags if f.rule_id == RULE)
    finding = next(f for f in report.findings if f.rules[0].rule_id == RULE)
    text = re.search(rf"Rules: .*{re.escape(RULE)} \(([a-z ]+)\)", render_text(report))
    assert check and page and text
    return {
        check.group(1),
        row.split(" | ")[2],
        page.group(1),
        report.rules[flag.rule_id].rule_status,
        status_of(finding, report.rules),
        text.group(1),
    }


def _request_changes(rules):
    return _review(
        rules,
        "--decision",
        "changes-requested",
        "--reviewer",
        "Dr Jane Example",
        "--role",
        "physician",
        "--comment",
        "Say where the six-month window comes from.",
    )


def _edit_summary(rules):
    path = rules / FILE
    text = path.read_text()
    assert "\nsummary: " in text
    path.write_text(text.replace("\nsummary: ", "\nsummary: Edited. ", 1))


def test_each_status_reads_the_same_in_check_docs_and_reports(rules_copy, capsys):
    """One status per rule, never 'approved; draft': made-up reviewers in a copy of the rules."""
    assert _status_everywhere(rules_copy, capsys) == {"draft"}
    assert _request_changes(rules_copy) == 0
    assert _status_everywhere(rules_copy, capsys) == {"changes requested"}
    _edit_summary(rules_copy)  # the author answers the request: awaiting a decision again
    assert _status_everywhere(rules_copy, capsys) == {"in review"}
    assert approve(rules_copy) == 0  # the file still says draft; the approval decides
    assert "status: draft" in (rules_copy / FILE).read_text()
    assert _status_everywhere(rules_copy, capsys) == {"approved"}
    _edit_summary(rules_copy)
    assert _status_everywhere(rules_copy, capsys) == {"changed since approval"}


def test_a_rule_marked_reviewed_in_its_file_without_a_record_is_in_review(rules_copy, capsys):
    path = rules_copy / FILE
    text = path.read_text().replace("status: draft", "status: reviewed\nreviewed_by: Dr Jane Example\nreviewed: 2026-11-30")
    path.write_text(text)
    assert _status_everywhere(rules_copy, capsys) == {"in review"}


def test_a_finding_over_several_rules_is_approved_only_when_each_rule_is():
    from screening.rulebook.review import least_settled

    assert least_settled(["approved", "approved"]) == "approved"
    assert least_settled(["approved", "in review"]) == "in review"
    assert least_settled(["approved", "draft", "changed since approval"]) == "changed since approval"
    assert least_settled(["changes requested", "changed since approval"]) == "changes requested"
