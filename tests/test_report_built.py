"""Reports are built from validated parts without validating them again (for speed): they are
valid all the same, their JSON is pydantic's, and the indexed grouping of findings gives what
comparing every pair of findings gives.
"""

from __future__ import annotations

import copy
import random

import pytest
from strategies import TODAY, random_intake

from screening import screen
from screening.pipeline.screener import screen_json
from screening.report import findings
from screening.report.model import EvidenceItem, Report, compact_json, compute_report_id
from screening.rulebook import loading as rulebook


def _turned(intake: dict) -> dict:
    """Every yes/no answer turned the other way: a long report, as the worst case is."""
    turned = copy.deepcopy(intake)
    for person in turned["participants"]:
        for section in person.values():
            if isinstance(section, dict):
                for key, value in section.items():
                    if value in ("yes", "no"):
                        section[key] = "no" if value == "yes" else "yes"
    return turned


def _sample(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        intake = random_intake(rng)
        out.append(_turned(intake) if n % 3 == 0 else intake)
    base = rulebook.default().baseline
    duo = {
        "session": dict(base["session"], format="duo"),
        "participants": [
            dict(copy.deepcopy(base["participant"]), participant_id=pid, relationship=copy.deepcopy(base["relationship"]))
            for pid in ("A", "B")
        ],
    }
    out.append(_turned(duo))
    return out


@pytest.fixture(scope="module")
def reports() -> list[Report]:
    return [screen(intake, engine="python", today=TODAY) for intake in _sample(120, 13)]


def test_a_report_built_without_validation_validates_whole_and_so_do_its_views(reports):
    assert any(len(r.flags) > 40 for r in reports)  # long reports are in the sample
    for report in reports:
        assert Report.model_validate(report.model_dump()) == report
        for pid in report.participants:
            view = report.view_for(pid)
            assert Report.model_validate(view.model_dump()) == view


def test_the_compact_json_is_what_pydantic_writes_and_carries_the_report_id(reports):
    for report in reports:
        text = report.model_dump_json()
        assert report.to_json(indent=None) == text
        assert compact_json(report) == text.encode("utf-8")
        assert compute_report_id(text) == report.report_id


def test_screen_json_gives_the_same_report_as_screen():
    for intake in _sample(40, 29):
        report = screen(intake, engine="python", today=TODAY)
        assert screen_json(intake, engine="python", today=TODAY) == report.to_json(indent=None)


def test_an_edited_flag_leaves_the_other_flags_as_they_were(reports):
    report = next(r for r in reports if len(r.flags) > 1)
    first, second = report.flags[:2]
    edited = first.model_copy(update={"severity": "critical"})
    assert edited.severity == "critical" and "severity" in edited.model_fields_set
    assert second.model_fields_set == set(type(second).model_fields)
    assert report.with_flags([edited, *report.flags[1:]]).flags[0].severity == "critical"


# The grouping as it was first written: every draft compared with every other (quadratic).


def _merge_pairwise(drafts):
    merged = []
    for draft in sorted(drafts, key=lambda d: -len(d.keys)):
        keys = draft.keys
        into = next((m for m in merged if m.subject == draft.subject and keys and keys <= m.keys), None)
        if into is None:
            merged.append(draft)
        else:
            into.flags = findings._by_severity(into.flags + draft.flags)
    return merged


def _link_pairwise(drafts):
    own = [d for d in drafts if d.subject not in ("pair", "session")]
    for pair in (d for d in drafts if d.subject == "pair"):
        pair.rests_on = [d.id for d in own if d.keys and d.keys <= pair.keys]


def test_indexed_grouping_of_findings_gives_what_comparing_every_pair_gives(reports, monkeypatch):
    built = [findings.build(r.flags, r.missing_information, r.participants, r.rules) for r in reports]
    monkeypatch.setattr(findings, "_merge_same_answers", _merge_pairwise)
    monkeypatch.setattr(findings, "_link_pairs", _link_pairwise)
    for report, found in zip(reports, built, strict=True):
        assert findings.build(report.flags, report.missing_information, report.participants, report.rules) == found


def _shape(drafts):
    return [(d.subject, [id(f) for f in d.flags], d.rests_on) for d in drafts]


def _drafts(flags, pool, seed: int) -> list:
    pick = random.Random(seed)
    return [
        findings._Draft(pick.choice(["A", "B", "pair"]), [flag], pick.sample(pool, pick.randint(0, 4)))
        for flag in pick.sample(flags, 12)
    ]


def test_indexed_merge_picks_the_same_draft_as_comparing_every_pair_on_overlapping_answers(reports):
    """Answers from a small pool, so that many drafts hold the answers of several others."""
    flags = [f for r in reports for f in r.flags][:60]
    pool = [EvidenceItem(participant=p, field=f"physical.q{n}", answer="yes") for p in ("A", "B") for n in range(6)]
    for seed in range(300):
        indexed = findings._merge_same_answers(_drafts(flags, pool, seed))
        findings._link_pairs(indexed)
        pairwise = _merge_pairwise(_drafts(flags, pool, seed))
        _link_pairwise(pairwise)
        assert _shape(indexed) == _shape(pairwise)


def test_remembered_parts_give_the_reports_that_fresh_parts_give():
    """Flags of rules over answers alone and the questions left open are remembered per rulebook
    (keyed on what they rest on): a report from remembered parts is the report built from
    scratch, byte for byte, for both engines, whichever intakes were screened before."""
    from screening.pipeline import screener

    book = rulebook.default()
    sample = _sample(40, 31)
    assert len({(i["session"]["substance"], i["session"]["format"]) for i in sample}) > 4
    for engine in ("python", "durable"):
        fresh = []
        for intake in sample:
            screener.forget_remembered(book)
            fresh.append(screen_json(intake, engine=engine, today=TODAY))
        for intake in reversed(sample):  # every part now remembered, from other intakes too
            screen(intake, engine=engine, today=TODAY)
        assert len(book.memo[("remembered", "flags")]) > 100
        assert [screen_json(intake, engine=engine, today=TODAY) for intake in sample] == fresh
