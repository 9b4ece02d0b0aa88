"""Re-screening: flags new, gone or changed between two reports of the same people; decisions on
unchanged flags carry forward with their date, and changed evidence or severity re-opens a flag."""

import copy
import shutil

import pytest
import yaml
from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st
from store_support import TODAY, store, store_url  # noqa: F401 (fixtures)
from strategies import ANSWERS, duos

from screening import ScreeningError, load_rulebook, screen
from screening.decisions.model import make_decision
from screening.decisions.rescreen import diff_reports, render_diff_text
from screening.rulebook.loading import default_rules_dir

DUO = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())
BP = ("cardiovascular.blood-pressure-140-90-mdma", "B")
DISSOCIATION = ("readiness.frequent-dissociation", "A")
TRAUMA_B = ("readiness.complex-trauma", "B")
FACILITATOR = ("setting.one-facilitator-for-duo", "session")  # a session rule: one change, not one per participant


def _rescreened():
    intake = copy.deepcopy(DUO)
    a, b = intake["participants"]
    b["physical"]["systolic_bp"] = 158  # the blood-pressure flag stays, on other numbers
    a["psychiatric"]["frequent_dissociation"] = "no"  # gone
    b["psychiatric"]["complex_trauma"] = "yes"  # new
    return screen(intake, today=TODAY)


def _decide_all(store, report):
    store.add_report(report)
    return {
        f"{f.rule_id}/{f.participant}": store.record_decision(
            make_decision(
                report_id=report.report_id, rule_id=f.rule_id, participant=f.participant, outcome="noted", reviewer="dr.kim"
            )
        )
        for f in report.flags
    }


def test_a_rescreening_lists_new_gone_and_changed_flags_and_carries_forward_the_rest(store):
    old, new = screen(DUO, today=TODAY), _rescreened()
    decided = _decide_all(store, old)
    result = diff_reports(old, new, store.decisions_for(old.report_id))
    by_key = {(c.rule_id, c.participant): c for c in result.changes}
    assert by_key[TRAUMA_B].status == "new" and by_key[DISSOCIATION].status == "gone"
    changed = by_key[BP]
    assert changed.status == "changed" and changed.changes == ("evidence",)
    assert changed.carried is None and changed.reopened.decision_id == decided["/".join(BP)].decision_id
    same = by_key[FACILITATOR]
    assert same.status == "unchanged" and same.carried.decision_id in {
        decided[f"{FACILITATOR[0]}/{pid}"].decision_id for pid in ("A", "B")
    }
    assert sum(1 for c in result.changes if c.rule_id == FACILITATOR[0]) == 1
    assert {c.status for c in result.changes} == {"new", "gone", "changed", "unchanged"}
    assert all(c.carried is not None for c in result.with_status("unchanged"))
    text = render_diff_text(result)
    assert f"decided earlier, noted by dr.kim on {same.carried.decided_at.date()}" in text
    assert (
        "CHANGED   [critical] MDMA: blood pressure at or above 140/90 mmHg (participant B; "
        "cardiovascular.blood-pressure-140-90-mdma): evidence changed; re-opened" in text
    )
    assert "Fewer than two sober facilitators for a duo (the session plan;" in text


def test_a_corrected_decision_carries_forward_as_corrected(store):
    old = screen(DUO, today=TODAY)
    store.add_report(old)
    key = {"report_id": old.report_id, "rule_id": FACILITATOR[0], "participant": "A", "reviewer": "dr.kim"}
    first = store.record_decision(make_decision(**key, outcome="noted"))
    store.record_decision(make_decision(**key, outcome="addressed", note="second facilitator booked", corrects=first.decision_id))
    carried = diff_reports(old, _rescreened(), store.decisions_for(old.report_id))
    change = next(c for c in carried.changes if (c.rule_id, c.participant) == FACILITATOR)
    assert change.carried.outcome == "addressed"


def test_a_changed_severity_reopens_the_flag(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    path = next(p for p in rules.rglob("*.yaml") if (yaml.safe_load(p.read_text()) or {}).get("id") == FACILITATOR[0])
    path.write_text(path.read_text().replace("\nseverity: warning", "\nseverity: critical", 1))
    old, new = screen(DUO, today=TODAY), screen(DUO, today=TODAY, rulebook=load_rulebook(rules))
    change = next(c for c in diff_reports(old, new).changes if (c.rule_id, c.participant) == FACILITATOR)
    assert change.status == "changed" and change.changes == ("severity",)
    assert (change.old_severity, change.severity) == ("warning", "critical")


def test_reports_of_other_people_are_not_compared(baseline_individual):
    with pytest.raises(ScreeningError, match="not about the same participants"):
        diff_reports(screen(DUO, today=TODAY), screen(baseline_individual, today=TODAY))
    with pytest.raises(ScreeningError, match="participant's view"):
        diff_reports(screen(DUO, today=TODAY).view_for("A"), screen(DUO, today=TODAY))


@settings(max_examples=40, deadline=None)
@given(duos(), st.data())
def test_every_flag_is_accounted_for_exactly_once(intake, data):
    changed = copy.deepcopy(intake)
    person = changed["participants"][data.draw(st.sampled_from([0, 1]))]
    group = data.draw(st.sampled_from(["psychiatric", "physical", "readiness"]))
    keys = [k for k, v in person[group].items() if v in ANSWERS]
    if keys:
        key = data.draw(st.sampled_from(keys))
        person[group][key] = data.draw(st.sampled_from([a for a in ANSWERS if a != person[group][key]]))
    old, new = screen(intake, today=TODAY, engine="python"), screen(changed, today=TODAY, engine="python")
    result = diff_reports(old, new)
    keys_of = lambda *statuses: sorted((c.rule_id, c.participant) for c in result.changes if c.status in statuses)
    key = lambda f, r: (f.rule_id, "session" if r.rules[f.rule_id].scope == "session" else f.participant)
    assert keys_of("new", "changed", "unchanged") == sorted({key(f, new) for f in new.flags})
    assert keys_of("gone", "changed", "unchanged") == sorted({key(f, old) for f in old.flags})
    same = diff_reports(old, old)
    assert {c.status for c in same.changes} <= {"unchanged"}


def _changed(**answers):
    intake = copy.deepcopy(DUO)
    a, b = intake["participants"]
    for path, value in answers.items():
        who, group, name = path.split("__")
        ({"a": a, "b": b}[who])[group][name] = value
    return screen(intake, today=TODAY)


def test_a_rescreening_shows_each_answer_that_changed():
    old = screen(DUO, today=TODAY)
    new = _changed(b__physical__systolic_bp=134, b__physical__diastolic_bp=84)
    result = diff_reports(old, new)
    bp = next(a for a in result.answers if a.field == "glance.bp_mmhg")
    assert (bp.participant, bp.old, bp.new) == ("B", "152/94 mmHg", "134/84 mmHg")
    assert not bp.retracted
    assert "Participant B: Blood pressure: was 152/94 mmHg; now 134/84 mmHg" in render_diff_text(result)
    gone = next(c for c in result.changes if (c.rule_id, c.participant) == BP)
    assert gone.status == "gone" and gone.title == "MDMA: blood pressure at or above 140/90 mmHg"


def test_a_disclosure_taken_back_is_raised_as_a_point_to_look_at():
    old = screen(DUO, today=TODAY)
    new = _changed(a__relationship__pressure_to_take_part="no")
    result = diff_reports(old, new)
    (taken_back,) = [a for a in result.answers if a.retracted]
    assert (taken_back.participant, taken_back.field, taken_back.old) == ("A", "relationship.pressure_to_take_part", "yes")
    text = render_diff_text(result)
    assert text.splitlines()[1] == "To look at first: a disclosure taken back"
    assert "Participant A: Do you feel pressured" in text.splitlines()[2]
    # an answer left open is not a retraction: it is asked again as unanswered
    open_again = diff_reports(old, _changed(a__relationship__pressure_to_take_part="unknown"))
    assert not [a for a in open_again.answers if a.field == "relationship.pressure_to_take_part" and a.retracted]


def test_screen_with_previous_starts_the_report_with_what_changed(tmp_path, capsys):
    from screening.cli.commands import main

    old = tmp_path / "old.json"
    old.write_text(screen(DUO, today=TODAY).to_json(), encoding="utf-8")
    intake = copy.deepcopy(DUO)
    intake["participants"][1]["physical"].update(systolic_bp=134, diastolic_bp=84)
    new = tmp_path / "new.yaml"
    new.write_text(yaml.safe_dump(intake), encoding="utf-8")
    code = main(["screen", str(new), "--previous", str(old), "--today", TODAY.isoformat()])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Re-screening: report ")
    assert "Blood pressure: was 152/94 mmHg; now 134/84 mmHg" in out
    assert "GONE      [critical] MDMA: blood pressure at or above 140/90 mmHg (participant B;" in out
    assert "Screening report for the clinician" in out
    main(["diff", str(old), str(old)])
    assert "Fewer than two sober facilitators for a duo (the session plan;" in capsys.readouterr().out
