"""CDS Hooks feedback into the store: accepted is noted, overridden keeps the card's reason.

The service (issue 17) hands validated entries to a sink; these entries have the shape of its
FeedbackRecord. The test through the real endpoint comes with the service on main."""

import datetime as dt
from dataclasses import dataclass

import pytest
import yaml
from conftest import EXAMPLES
from store_support import TODAY, store, store_url  # noqa: F401 (fixtures)

from screening import screen
from screening.decisions.model import DecisionError
from screening.decisions.store.feedback import StoreFeedbackSink
from screening.interop.cds_hooks import cards


@dataclass(frozen=True)
class Entry:  # the fields of screening.service.feedback.FeedbackRecord the sink reads
    report_id: str
    rule_id: str
    participant: str
    outcome: str
    override_reason: dict | None
    user_comment: str | None
    outcome_time: dt.datetime
    service_id: str = "screening-appointment"
    hook_instance: str = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"


@pytest.fixture(scope="module")
def report():
    return screen(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text()), today=TODAY)


def test_accepted_is_noted_and_overridden_keeps_the_cards_reason(store, report):
    sink = StoreFeedbackSink(store)
    sink.add_report(report)
    card = cards(report)[0]
    flag = report.flags[0]
    when = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)
    reason = card["overrideReasons"][2]
    sink.record(
        [
            Entry(report.report_id, flag.rule_id, flag.participant, "accepted", None, None, when),
            Entry(report.report_id, flag.rule_id, flag.participant, "overridden", reason, "BP rechecked at 128/80", when),
        ]
    )
    noted, overridden = store.decisions_for(report.report_id)
    assert (noted.outcome, noted.decided_at) == ("noted", when)
    assert noted.reviewer == "cds-hooks:screening-appointment/d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
    assert (overridden.outcome, overridden.reason, overridden.reason_display) == ("overridden", reason["code"], reason["display"])
    assert overridden.note == "BP rechecked at 128/80"
    assert store.verify().ok


def test_feedback_that_does_not_fit_records_nothing(store, report):
    sink = StoreFeedbackSink(store, reviewer_of=lambda entry: "dr.kim")
    sink.add_report(report)
    flag = report.flags[0]
    now = dt.datetime.now(dt.UTC)
    good = Entry(report.report_id, flag.rule_id, flag.participant, "accepted", None, None, now)
    wrong_reason = Entry(
        report.report_id, flag.rule_id, flag.participant, "overridden", {"system": "x", "code": "not-offered"}, None, now
    )
    with pytest.raises(DecisionError, match="reason"):
        sink.record([good, wrong_reason])
    assert store.audit_log() == []
    sink.record([Entry(report.report_id, flag.rule_id, flag.participant, "overridden", None, "spoke with her GP", now)])
    (record,) = store.audit_log()
    assert (record.reason, record.reason_text, record.reviewer) == ("other", "spoke with her GP", "dr.kim")


@dataclass(frozen=True)
class ServiceEntry(Entry):  # as the service now hands them: the clinician, and whether the card offered the reason
    reviewer: str | None = None
    reason_offered: bool = True


def test_the_clinician_and_the_ehrs_own_reason_are_kept(store, report):
    """Issue 26: decisions named the hook call, not the clinician; an EHR's own reason was refused."""
    sink = StoreFeedbackSink(store)
    sink.add_report(report)
    flag = report.flags[0]
    when = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)
    own = {"system": "https://ehr.example.org/reasons", "code": "seen-by-cardiology", "display": "Seen by cardiology"}
    sink.record(
        [
            ServiceEntry(
                report.report_id,
                flag.rule_id,
                flag.participant,
                "overridden",
                own,
                None,
                when,
                reviewer="Practitioner/clin-1",
                reason_offered=False,
            )
        ]
    )
    (decision,) = store.decisions_for(report.report_id)
    assert decision.reviewer == "Practitioner/clin-1"
    assert decision.reason == "other" and "Seen by cardiology" in decision.reason_text and own["system"] in decision.reason_text
    assert store.verify().ok
