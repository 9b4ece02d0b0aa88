"""A translation check is recorded like a rule review: a person's act, tied to the catalogue's
content hash, kept in the rules' repository. Tests use made-up reviewers in temporary folders."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT

from screening.cli.commands import main
from screening.rulebook.loading import default_rules_dir
from screening.rulebook.review import translation_state
from screening.rulebook.review_records import TRANSLATION_REVIEWS_FILE

FAKE = ["--reviewer", "Testje Verzonnen", "--role", "other:made-up test reviewer", "--registration", "TEST-000"]
YES = ["--check", "meaning=yes", "--check", "plain=yes", "--check", "wording=yes"]


@pytest.fixture
def rules(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder)
    (folder / TRANSLATION_REVIEWS_FILE).unlink(missing_ok=True)
    return folder


def test_the_dutch_is_not_yet_reviewed_until_a_check_of_this_catalogue_is_recorded(rules, capsys):
    assert translation_state(rules, "nl").state == "not-reviewed"
    assert main(["i18n", "review", "--lang", "nl", "--rules", str(rules)]) == 0
    assert "not yet reviewed" in capsys.readouterr().out
    code = main(["i18n", "review", "--lang", "nl", "--rules", str(rules), "--decision", "approved", *FAKE, *YES])
    out = capsys.readouterr().out
    assert code == 0 and "approved by Testje Verzonnen" in out
    record = json.loads((rules / TRANSLATION_REVIEWS_FILE).read_text().splitlines()[-1])
    state = translation_state(rules, "nl")
    assert record["catalogue_sha256"] == state.current_sha256 and record["lang"] == "nl"
    assert state.state == "approved" and "checked by Testje Verzonnen" in state.line()


def test_an_approval_of_an_earlier_catalogue_no_longer_counts(rules):
    main(["i18n", "review", "--lang", "nl", "--rules", str(rules), "--decision", "approved", *FAKE, *YES])
    path = rules / TRANSLATION_REVIEWS_FILE
    record = json.loads(path.read_text())
    record["catalogue_sha256"] = "0" * 64  # as if the catalogue changed after the check
    path.write_text(json.dumps(record) + "\n")
    state = translation_state(rules, "nl")
    assert state.state == "changed-since-review" and "not yet reviewed" in state.line()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--check", "meaning=yes", "--check", "plain=no", "--check", "wording=yes"], "not yes: plain"),
        (["--check", "tone=yes", *YES], "unknown checklist item"),
    ],
)
def test_an_approval_answers_yes_to_every_item(rules, capsys, extra, says):
    assert main(["i18n", "review", "--lang", "nl", "--rules", str(rules), "--decision", "approved", *FAKE, *extra]) == 2
    assert says in capsys.readouterr().err and not (rules / TRANSLATION_REVIEWS_FILE).exists()


def test_a_check_is_never_recorded_into_an_installed_package(tmp_path, capsys):
    installed = tmp_path / "lib" / "site-packages" / "screening" / "rules"
    shutil.copytree(default_rules_dir(), installed)
    code = main(["i18n", "review", "--lang", "nl", "--rules", str(installed), "--decision", "approved", *FAKE, *YES])
    assert code == 2 and "installed package" in capsys.readouterr().err
    assert not (installed / TRANSLATION_REVIEWS_FILE).exists()


def test_i18n_check_and_readme_say_what_the_records_say():
    from screening.authoring import translations
    from screening.rulebook.loading import default

    state = translation_state(default_rules_dir(), "nl")
    line = translations.coverage(default(), "nl").line()
    readme = (ROOT / "README.md").read_text()
    if state.state == "approved":
        assert "checked by" in line and "has **not been reviewed by a Dutch-speaking clinician**" not in readme
    else:
        assert "not yet reviewed by a clinician who reads it" in line
        assert "**not yet reviewed by a Dutch-speaking clinician**" in readme
