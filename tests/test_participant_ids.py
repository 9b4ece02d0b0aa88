"""Participant ids follow one pattern and never take a word a report uses for someone else.

A participant named ``clinician`` would be given the clinician's view (with the other
partner's private answers) by ``--view clinician``; one named ``pair`` would read as a flag
about the two together. Such ids are refused when the intake is read.
"""

from __future__ import annotations

import json

import pytest

from screening import IntakeError, screen
from screening.cli.commands import main
from screening.intake.models import RESERVED_PARTICIPANT_IDS
from screening.pipeline.screener import parse_intake


@pytest.mark.parametrize("reserved", sorted(RESERVED_PARTICIPANT_IDS) + ["Clinician", "PAIR", "Self"])
def test_a_reserved_word_as_participant_id_is_refused_naming_the_field(baseline_duo, reserved):
    baseline_duo["participants"][1]["participant_id"] = reserved
    with pytest.raises(IntakeError) as caught:
        parse_intake(baseline_duo)
    assert "participants.1.participant_id" in str(caught.value)
    assert "reserved word" in str(caught.value)


def test_clinician_as_the_second_participant_cannot_open_the_clinician_view(tmp_path, baseline_duo, capsys):
    """The reproduction: B named 'clinician' and --view clinician gave B the whole report."""
    baseline_duo["participants"][0]["relationship"]["fear_of_other"] = "yes"
    baseline_duo["participants"][1]["participant_id"] = "clinician"
    path = tmp_path / "duo.json"
    path.write_text(json.dumps(baseline_duo))
    assert main(["screen", str(path), "--view", "clinician", "--format", "json"]) == 3
    out, err = capsys.readouterr()
    assert out == "" and "participants.1.participant_id" in err


@pytest.mark.parametrize("bad", ["", "-A", "A B", "A:B", "participant:A", "Ä", "x" * 41, "A\tB", "A\u202e"])
def test_ids_outside_the_pattern_are_refused(baseline_duo, bad):
    baseline_duo["participants"][1]["participant_id"] = bad
    with pytest.raises(IntakeError, match="participants.1.participant_id"):
        parse_intake(baseline_duo)


def test_ids_that_differ_only_in_case_are_refused(baseline_duo):
    baseline_duo["participants"][0]["participant_id"] = "a"
    baseline_duo["participants"][1]["participant_id"] = "A"
    with pytest.raises(IntakeError, match="must differ"):
        parse_intake(baseline_duo)


@pytest.mark.parametrize("good", ["B", "p1", "partner-2", "x.y_z", "9", "Pairing", "clinician2"])
def test_ordinary_labels_are_accepted(baseline_duo, good):
    baseline_duo["participants"][1]["participant_id"] = good
    assert parse_intake(baseline_duo).participants[1].participant_id == good


def test_a_view_is_addressed_by_id_or_by_its_view_name(baseline_duo):
    baseline_duo["participants"][0]["relationship"]["fear_of_other"] = "yes"
    report = screen(baseline_duo, engine="python")
    by_id, by_name = report.view_for("B"), report.view_for("participant:B")
    assert by_id == by_name and by_id.view == "participant:B"
    assert "fear_of_other" not in by_id.to_json()
    with pytest.raises(ValueError, match="no participant"):
        report.view_for("clinician")


def test_messages_about_ids_do_not_quote_them(baseline_duo):
    baseline_duo["participants"][1]["participant_id"] = "PaIr"
    with pytest.raises(IntakeError) as caught:
        parse_intake(baseline_duo)
    assert "PaIr" not in str(caught.value)
    baseline_duo["participants"][0]["participant_id"] = "Zq9Mark"
    baseline_duo["participants"][1]["participant_id"] = "zq9mark"
    with pytest.raises(IntakeError) as caught:
        parse_intake(baseline_duo)
    assert "participants.1.participant_id" in str(caught.value) and "q9" not in str(caught.value).lower()
