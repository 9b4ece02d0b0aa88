"""The medications as read and the answers at a glance, in every clinician report.

A clinician confirms each reading (Eliquis as apixaban, metoprolol as a beta blocker) and sees
the lines no rule used (ibuprofen, weed), which the findings alone never show.
"""

from __future__ import annotations

import datetime as dt

from conftest import EXAMPLES

from screening import read_intake, render_text, screen
from screening.report.html import render_html

TODAY = dt.date(2026, 12, 1)


def report_of(path):
    return screen(read_intake(path), today=TODAY)


def test_every_line_of_the_duo_is_listed_with_how_it_was_read():
    report = report_of(EXAMPLES / "duo-mdma.yaml")
    meds = {(m.participant, m.written): m for m in report.medications}
    assert list(meds) == [("A", "Lexapro 10 mg"), ("A", "ibuprofen"), ("B", "metoprolol 25mg"), ("B", "weed")]
    lexapro = meds[("A", "Lexapro 10 mg")]
    assert [d.read_as for d in lexapro.drugs] == ["escitalopram"]
    assert "Serotonergic antidepressant" in lexapro.drugs[0].classes
    assert lexapro.set_aside == ["10 mg"]
    assert "medication.stopped-on-own-antidepressant" in lexapro.used_by
    assert meds[("A", "ibuprofen")].used_by == []
    assert meds[("B", "metoprolol 25mg")].drugs[0].classes == ["Beta blocker"]
    assert meds[("B", "weed")].drugs[0].read_as == "cannabis"
    assert meds[("B", "weed")].set_aside == ["dose as written: weekends"]
    text = render_text(report)
    section = text.split("\nMedications as read\n")[1]
    for written in ("Lexapro 10 mg", "ibuprofen", "metoprolol 25mg", "weed"):
        assert f'"{written}"' in section
    assert "read as cannabis" in " ".join(section.split())
    page = render_html(report, printed=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert "Medications as read" in page and "ibuprofen" in page and "read as apixaban" not in page


def test_eliquis_is_read_as_apixaban_and_metoprolol_as_a_beta_blocker():
    report = report_of(EXAMPLES / "cases" / "hypertension-arrhythmia-psilocybin.yaml")
    read = {m.written: m for m in report.medications}
    assert read["Eliquis 5mg"].drugs[0].read_as == "apixaban"
    assert read["Eliquis 5mg"].set_aside == ["5mg"]
    metoprolol = read["metoprolol 50 mg twice a day"]
    assert metoprolol.drugs[0].classes == ["Beta blocker"]
    assert "50 mg twice a day" in metoprolol.set_aside[0]
    text = " ".join(render_text(report).split())
    assert "Eliquis: read as apixaban" in text
    assert "read as apixaban" in render_html(report, printed=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def test_a_word_not_understood_is_set_aside_as_such():
    intake = read_intake(EXAMPLES / "individual-psilocybin.json").model_dump(mode="json")
    intake["participants"][0]["medications"] = [{"name": "qqzzx 20mg", "status": "current"}]
    report = screen(intake, today=TODAY)
    (line,) = report.medications
    assert line.drugs[0].read_as is None
    assert line.set_aside == ["20mg", "not understood: qqzzx"]
    assert "no drug read" in render_text(report)


def test_the_answers_at_a_glance_give_pressure_weight_and_dose_per_kg():
    report = report_of(EXAMPLES / "duo-mdma.yaml")
    glance = {a.participant: a for a in report.answers}
    assert glance["B"].bp_mmhg == "152/94 mmHg"
    assert glance["B"].dose_mg_per_kg == round(120 / 88, 2)
    assert glance["A"].left_open == len([m for m in report.missing_information if m.participant == "A"])
    assert "Participant B: blood pressure 152/94 mmHg; weight 88 kg; planned dose 120 mg (1.36 mg/kg)" in " ".join(
        render_text(report).split()
    )


def test_a_participants_view_holds_only_their_own_medications_and_answers():
    report = report_of(EXAMPLES / "duo-mdma.yaml")
    view = report.view_for("A")
    assert {m.participant for m in view.medications} == {"A"}
    assert {a.participant for a in view.answers} == {"A"}
    assert "weed" not in view.to_json() and "metoprolol" not in view.to_json()
