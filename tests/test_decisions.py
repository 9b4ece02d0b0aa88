"""The decision record: validated on its own, and against the report and the rule it is about."""

import datetime as dt

import pytest
import yaml
from conftest import EXAMPLES
from store_support import TODAY

from screening import screen
from screening.decisions.model import DecisionError, digest_report, effective_decisions, make_decision
from screening.interop.cds_hooks import DEFAULT_OVERRIDE_REASONS


@pytest.fixture(scope="module")
def report():
    return screen(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text()), today=TODAY)


def _fields(report, **extra):
    flag = report.flags[0]
    return {"report_id": report.report_id, "rule_id": flag.rule_id, "participant": flag.participant, "reviewer": "dr.kim"} | extra


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"reviewer": ""}, "reviewer"),
        ({"reviewer": "   "}, "reviewer"),
        ({"outcome": "approved"}, "outcome"),
        ({"outcome": "overridden"}, "reason"),
        ({"outcome": "noted", "reason": "other"}, "reason"),
        ({"outcome": "overridden", "reason": "other"}, "reason_text"),
        ({"outcome": "noted", "decided_at": dt.datetime(2026, 12, 1, 10, 0)}, "decided_at"),
        ({"outcome": "noted", "report_id": "not-a-hash"}, "report_id"),
    ],
)
def test_an_incomplete_or_contradictory_decision_is_refused_naming_the_field(report, extra, field):
    fields = _fields(report, **({"outcome": "noted"} | extra))
    with pytest.raises(DecisionError) as caught:
        make_decision(**fields)
    assert field in str(caught.value)


def test_a_missing_reviewer_is_an_error(report):
    fields = _fields(report, outcome="noted")
    del fields["reviewer"]
    with pytest.raises(DecisionError, match="reviewer"):
        make_decision(**fields)


def test_an_override_reason_must_be_one_of_the_rules_own(report, book):
    digest = digest_report(report)
    with_reasons = [f for f in report.flags if not f.combines and book.rule(f.rule_id).meta.override_reasons]
    assert with_reasons, "the example should have a flag whose rule lists its own override reasons"
    flag = with_reasons[0]
    own = book.rule(flag.rule_id).meta.override_reasons
    general = make_decision(
        **_fields(
            report,
            rule_id=flag.rule_id,
            participant=flag.participant,
            outcome="overridden",
            reason="addressed-in-the-session-plan",
        )
    )
    assert DEFAULT_OVERRIDE_REASONS[2] not in own
    with pytest.raises(DecisionError, match="reason: not one of the override reasons"):
        digest.check(general)
    from screening.interop.cds_hooks import reason_slug

    fits = make_decision(
        **_fields(report, rule_id=flag.rule_id, participant=flag.participant, outcome="overridden", reason=reason_slug(own[0]))
    )
    assert digest.check(fits)[1] == own[0]
    other = make_decision(
        **_fields(
            report,
            rule_id=flag.rule_id,
            participant=flag.participant,
            outcome="overridden",
            reason="other",
            reason_text="seen by her cardiologist",
        )
    )
    assert digest.check(other)[1] == "seen by her cardiologist"


def test_a_rule_without_its_own_reasons_offers_the_general_ones(report, book):
    flag = next(f for f in report.flags if not f.combines and not book.rule(f.rule_id).meta.override_reasons)
    assert digest_report(report).flag(flag.rule_id, flag.participant).override_reasons == list(DEFAULT_OVERRIDE_REASONS)


def test_a_flag_not_in_the_report_is_an_error(report):
    decision = make_decision(**_fields(report, rule_id="pregnancy.pregnant", participant="A", outcome="noted"))
    with pytest.raises(DecisionError, match="rule_id: .*has no flag pregnancy.pregnant for 'A'"):
        digest_report(report).check(decision)


def test_a_participant_view_cannot_be_decided_on(report):
    with pytest.raises(DecisionError, match="view"):
        digest_report(report.view_for("A"))


def test_the_report_digest_holds_no_answers(report):
    text = digest_report(report).model_dump_json()
    answers = {str(e.answer) for f in report.flags for e in f.evidence if isinstance(e.answer, str) and len(str(e.answer)) > 3}
    answers -= {"unknown"}
    assert answers and not [a for a in answers if f'"{a}"' in text]


def test_the_standing_decision_is_the_latest_not_corrected():
    from screening.decisions.model import DecisionRecord

    def record(seq, outcome, corrects=None, key=("r", "A")):
        return DecisionRecord(
            report_id="0" * 64,
            rule_id=key[0],
            participant=key[1],
            outcome=outcome,
            reviewer="x",
            reason="other" if outcome == "overridden" else None,
            reason_text="t" if outcome == "overridden" else None,
            decision_id=f"d{seq}",
            seq=seq,
            recorded_at=dt.datetime.now(dt.UTC),
            report_digest="",
            prev_hash="",
            record_hash="",
            corrects=corrects,
        )

    records = [record(1, "noted"), record(2, "overridden", corrects="d1"), record(3, "noted", key=("s", "B"))]
    standing = effective_decisions(records)
    assert standing[("r", "A")].seq == 2 and standing[("s", "B")].seq == 3
    assert effective_decisions(records + [record(4, "addressed", corrects="d2")])[("r", "A")].outcome == "addressed"
