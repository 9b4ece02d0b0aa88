"""A participant's own view: addressed to them, plain and non-directive, their answers only.

The clinician's texts (explanations, actions, limitations, sources) never reach it; what it
says comes from each rule's participant_text, which `rules check` keeps free of directives,
verdicts and clinical shorthand.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys

import pytest
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings
from strategies import TODAY as GENERATED_TODAY
from strategies import duos, intakes

from screening import read_intake, render_text, screen
from screening.report.model import render_participant_text
from screening.rulebook.loading import FORBIDDEN_WORDING, PARTICIPANT_WORDING

TODAY = dt.date(2026, 12, 1)
FILES = sorted([*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.json"), *(EXAMPLES / "cases").glob("*.yaml")])
# what a participant's copy never says: clinician-facing words, directives, verdicts
NEVER = re.compile(
    r"\b(clinician action|for review|why it matters|limitations|sources|rule|critical|warning|contraindicat\w*|"
    r"do not share|exclude|unsafe|eligib\w*|cleared|you must|you should|predictor)\b|\[[A-Z]+\]|->",
    re.IGNORECASE,
)


def views():
    for path in FILES:
        report = screen(read_intake(path), today=TODAY)
        for pid in report.participants:
            yield path.stem, report, report.view_for(pid)


@pytest.mark.parametrize("include_private", [False, True])
def test_every_participant_view_on_the_examples_passes_the_wording_test(include_private):
    for name, report, view in views():
        text = render_participant_text(view, include_private=include_private)
        hit = NEVER.search(text)
        assert hit is None, (name, view.view, hit.group(0))
        own = " ".join(text.split())
        for item in view.missing_information:  # the intake's own questions as asked aside
            own = own.replace(" ".join(view.questions[item.field].split()), "")
        for pattern, what in FORBIDDEN_WORDING + PARTICIPANT_WORDING:
            assert not pattern.search(own), (name, what)
        for finding in report.findings:  # the clinician's texts are not in it
            rule = report.rules[finding.rule_id] if finding.rule_id else None
            assert rule is None or (rule.clinician_action not in text and rule.explanation not in text)


def test_the_view_is_addressed_to_the_participant_and_says_what_will_be_discussed():
    report = screen(read_intake(EXAMPLES / "duo-mdma.yaml"), today=TODAY)
    text = " ".join(render_text(report.view_for("B")).split())
    assert text.startswith("Your screening answers: what we will talk about (participant B)")
    assert "talk through with your facilitator" in text
    assert "The blood pressure you gave is on the high side." in text
    assert "It is not a decision about you" in text


def test_relationship_points_are_left_out_unless_asked():
    report = screen(read_intake(EXAMPLES / "duo-mdma.yaml"), today=TODAY)
    view = report.view_for("A")
    plain = render_text(view)
    assert "pressured" not in plain and "mainly for the other person" not in plain
    asked = render_participant_text(view, include_private=True)
    assert "feeling pressured" in asked and "mainly for the other person" in asked


def test_harm_answers_are_left_out_of_the_printed_copy_unless_asked():
    report = screen(read_intake(EXAMPLES / "cases" / "suicide-attempt-ketamine.yaml"), today=TODAY)
    view = report.view_for("A")
    text = render_text(view).lower()  # the crisis numbers are there (a line's name may say "suicide"), the answers are not
    assert "suicide attempt" not in text and "caused harm" not in text and "988 suicide & crisis lifeline" in text
    assert "suicide attempt" in render_participant_text(view, include_private=True)


def test_the_cli_participant_view_with_private_points(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "screening", "screen", str(EXAMPLES / "duo-mdma.yaml"), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert "feeling pressured" not in run("--view", "A")
    assert "feeling pressured" in run("--view", "A", "--include-private")


def test_rules_check_rejects_a_directive_participant_text(tmp_path):
    from screening.rulebook.loading import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    path = rules / "medication-interaction" / "lithium-within-30-days.yaml"
    text = re.sub(
        r"^participant_text: .*$",
        'participant_text: "You should stop lithium, it is unsafe with this."',
        path.read_text(),
        count=1,
        flags=re.MULTILINE,
    )
    path.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "screening", "rules", "check", "--rules", str(rules)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert (
        "medication-interaction/lithium-within-30-days.yaml:3: participant_text tells the participant what to do" in result.stderr
    )
    assert "participant_text gives a verdict ('unsafe')" in result.stderr


def test_rules_check_rejects_a_session_rule_that_reads_a_persons_answer(tmp_path):
    from screening.rulebook.loading import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    path = rules / "setting" / "no-preparation.yaml"
    path.write_text(path.read_text().replace("applies_to: session", "applies_to: participant"))
    result = subprocess.run(
        [sys.executable, "-m", "screening", "rules", "check", "--rules", str(rules)], capture_output=True, text=True
    )
    assert (
        result.returncode == 2 and "setting/no-preparation.yaml" in result.stderr and "use applies_to: session" in result.stderr
    )


NOTHING_CAME_UP = "None of the screening's points came up"


def _harm_case():
    """Reproduction 1 of issue 29: an individual with current thoughts of harm and a recent attempt."""
    import yaml

    data = yaml.safe_load((EXAMPLES / "cases" / "suicide-attempt-ketamine.yaml").read_text())
    data["participants"][0]["psychiatric"].update(thoughts_of_harm_now="yes", current_treatment="no")
    return screen(data, today=TODAY)


def test_withheld_harm_points_are_never_called_nothing():
    view = _harm_case().view_for("A")
    text = " ".join(render_participant_text(view).split())
    assert NOTHING_CAME_UP not in text
    assert "There are points from your answers that your facilitator will talk through with you in private." in text
    assert "suicide attempt" not in text.lower()  # the harm answers themselves stay off the printed copy


def test_partner_b_who_reported_pressure_is_not_told_nothing_came_up():
    report = screen(read_intake(EXAMPLES / "cases" / "pressure-duo-psilocybin.yaml"), today=TODAY)
    text = " ".join(render_participant_text(report.view_for("B")).split())
    assert NOTHING_CAME_UP not in text
    assert "talk through with you in private" in text and "pressured" not in text


def test_the_count_of_unrecognised_medicines_follows_the_list():
    import yaml

    data = yaml.safe_load((EXAMPLES / "cases" / "suicide-attempt-ketamine.yaml").read_text())
    person = data["participants"][0]
    person["medications"] += [{"name": f"zzunknownmed{n}", "status": "current"} for n in range(5)]
    text = " ".join(render_participant_text(screen(data, today=TODAY).view_for("A")).split())
    assert "5 items on your medicine list were not recognised. Your facilitator will ask you what they are." in text
    assert "One item" not in text
    person["medications"] = person["medications"][:-4]
    text = " ".join(render_participant_text(screen(data, today=TODAY).view_for("A")).split())
    assert "One item on your medicine list was not recognised." in text


def test_a_copy_whose_answers_report_harm_gives_crisis_numbers_even_with_the_harm_points_withheld():
    view = _harm_case().view_for("A")
    for text in (render_participant_text(view), render_participant_text(view, include_private=True)):
        flat = " ".join(text.split())
        assert "113 Zelfmoordpreventie (the Netherlands): 113" in flat
        assert "Samaritans (United Kingdom and Ireland): 116 123" in flat and "988" in flat and ": 112 " in flat
    assert "suicide attempt" not in render_participant_text(view).lower()
    # a copy whose answers report no harm has none
    report = screen(read_intake(EXAMPLES / "cases" / "pressure-duo-psilocybin.yaml"), today=TODAY)
    assert "Samaritans" not in render_participant_text(report.view_for("B"), include_private=True)


def test_a_program_picks_the_locale_of_its_crisis_numbers():
    import yaml

    data = yaml.safe_load((EXAMPLES / "cases" / "suicide-attempt-ketamine.yaml").read_text())
    data["session"]["substance"] = "psilocybin"
    report = screen(data, today=TODAY, program="oregon-ops")
    assert report.participant_copies.crisis.locale == "us"
    text = " ".join(render_participant_text(report.view_for("A")).split())
    assert "988 Suicide & Crisis Lifeline: 988" in text and "113" not in text and "116 123" not in text


def _rules_copy(tmp_path):
    from screening.rulebook.loading import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    return rules


def test_the_crisis_file_is_checked_when_the_rulebook_loads(tmp_path):
    from screening.errors import RulebookError
    from screening.rulebook.loading import load

    rules = _rules_copy(tmp_path)
    path = rules / "crisis-contacts.yaml"
    path.write_text(path.read_text().replace("source: https://988lifeline.org", "source: ask around", 1))
    with pytest.raises(RulebookError) as caught:
        load(rules)
    assert "crisis-contacts.yaml" in str(caught.value) and "source" in str(caught.value)
    path.unlink()
    with pytest.raises(RulebookError, match="crisis contacts file is missing"):
        load(rules)


def test_a_program_naming_an_unknown_crisis_locale_is_refused(tmp_path):
    rules = _rules_copy(tmp_path)
    path = rules / "programs" / "oregon-ops.yaml"
    path.write_text(path.read_text().replace("crisis_locale: us", "crisis_locale: xx"))
    result = subprocess.run(
        [sys.executable, "-m", "screening", "rules", "check", "--rules", str(rules)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "crisis_locale 'xx' is not a locale of crisis-contacts.yaml" in result.stderr


# ---------------------------------------------------------------- issue 29: over every example and generated intakes

HEX_ID = re.compile(r"\b[0-9a-f]{16,64}\b")


def _calls_for_crisis(intake: dict, pid: str) -> bool:
    """From the intake itself: current thoughts of harm (yes, or left open) or an attempt in the last 12 months."""
    person = next(p for p in intake["participants"] if p["participant_id"] == pid)
    psych = person.get("psychiatric") or {}
    return (
        psych.get("thoughts_of_harm_now", "unknown") in ("yes", "unknown", None)
        or psych.get("suicide_attempt_last_12_months") == "yes"
    )


def _renderings(view):
    from screening.report.html import render_html

    printed = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    yield "json", view.to_json(), None
    for private in (False, True):
        yield f"text{'-private' * private}", render_participant_text(view, include_private=private), private
        yield f"html{'-private' * private}", render_html(view, printed=printed, include_private=private), private


def _check_copies(intake: dict, report, where: str) -> None:
    crisis = report.participant_copies.crisis
    for pid in report.participants:
        view = report.view_for(pid)
        resting = [f.id for f in report.findings if pid in f.participants]
        wanted = _calls_for_crisis(intake, pid)
        for name, out, private in _renderings(view):
            flat = " ".join(out.split())
            if resting:
                assert NOTHING_CAME_UP not in flat, (where, pid, name, resting)
            if report.session.format == "duo":
                assert NOTHING_CAME_UP not in flat, (where, pid, name)
            shown = all(f"{c.name}: {c.number}" in flat or c.source in flat for c in crisis.contacts)
            assert shown == wanted, (where, pid, name, wanted)
            if private is not None:  # the printed copies: plain words only
                assert not HEX_ID.search(out.replace("#x27", "")), (where, pid, name, HEX_ID.search(out))
                for word in ("sha256", "durable_rules", "engine", report.library_version, report.rulebook.version):
                    assert word not in out, (where, pid, name, word)
        assert view.report_id == "" and view.intake_sha256 == ""


def test_every_example_copy_tells_the_truth_and_gives_crisis_numbers_exactly_when_called_for():
    for path in FILES:
        intake = read_intake(path)
        report = screen(intake, today=TODAY)
        _check_copies(intake.model_dump(mode="json"), report, path.name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intake=intakes())
def test_generated_copies_tell_the_truth_and_give_crisis_numbers_exactly_when_called_for(intake):
    from screening.intake.models import Intake

    report = screen(intake, engine="python", today=GENERATED_TODAY)
    _check_copies(Intake.model_validate(intake).model_dump(mode="json"), report, "generated")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intake=duos())
def test_generated_duo_copies_tell_the_truth_and_give_crisis_numbers_exactly_when_called_for(intake):
    from screening.intake.models import Intake

    report = screen(intake, engine="python", today=GENERATED_TODAY)
    _check_copies(Intake.model_validate(intake).model_dump(mode="json"), report, "generated duo")


@settings(max_examples=40, deadline=None)
@given(duos())
def test_the_view_ids_screen_binds_are_the_views_own_ids(intake):
    """screen() hashes each view's fields as it builds them (cheaper than building the view):
    the id it binds is exactly the one the participant's view carries."""
    from screening.report.model import compute_view_id, fast_view_id

    report = screen(intake, today=GENERATED_TODAY, engine="python")
    for pid in report.participants:
        view = report.view_for(pid)
        assert report.participant_copies.view_ids[pid] == fast_view_id(report, pid) == compute_view_id(view) == view.view_id
