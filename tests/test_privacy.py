"""Confidentiality in a duo: each participant's view leaves out everything that rests on the
other's answers, the clinician's view keeps it all, and no intake answer reaches the logs."""

from __future__ import annotations

import logging
import random

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import TODAY, duos, random_intake

from screening import IntakeError, screen
from screening.engines.engine import durable_available
from screening.report.model import render_text

ENGINES = ["python"] + (["durable"] if durable_available() else [])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intake=duos())
def test_a_participants_view_holds_nothing_that_rests_on_the_others_answers(intake):
    report = screen(intake, engine="python", today=TODAY)
    first, second = report.participants
    for me, other in ((first, second), (second, first)):
        view = report.view_for(me)
        assert view.participants == [me] and view.view == f"participant:{me}"
        for flag in view.flags:
            assert other not in flag.participants and flag.participant != "pair"
            assert all(item.participant == me for item in flag.evidence)
        assert all(item.participant == me for item in view.missing_information)
        # the other's private relationship answers appear nowhere in this view
        assert not any(e.participant == other for f in view.flags for e in f.evidence)
        assert f"- {other}:" not in render_text(view)
        # and nothing of this participant's own is dropped
        own = [f for f in report.flags if set(f.participants) == {me} and all(e.participant == me for e in f.evidence)]
        assert view.flags == own
    # the clinician's view keeps every flag, including the pair's and the other's
    assert report.view == "clinician"
    assert {f.participant for f in report.flags} <= {first, second, "pair"}


def test_a_one_sided_fear_report_is_only_in_the_clinician_view(baseline_duo):
    baseline_duo["participants"][0]["relationship"]["fear_of_other"] = "yes"
    report = screen(baseline_duo, engine="python")
    ids = lambda r: {f.rule_id for f in r.flags}
    assert "relationship.fear-reported-by-one" in ids(report)
    assert "relationship.fear-reported-by-one" not in ids(report.view_for("A"))
    assert "relationship.fear-reported-by-one" not in ids(report.view_for("B"))
    assert "fear_of_other" not in report.view_for("B").to_json()


MARKERS = ("Zyxqmarker", "Plumbobmarker")


def _marked_intakes(count: int) -> list[dict]:
    """Generated intakes whose medication names carry a distinctive marker."""
    rng = random.Random(5)
    cases = []
    for n in range(count):
        intake = random_intake(rng)
        for person in intake["participants"]:
            person["medications"] = person["medications"][:3] + [
                {"name": f"{MARKERS[0]} 20 mg", "status": "current"},
                {"name": f"sertraline {MARKERS[1]}", "status": "stopped", "last_taken": "2026-11-15"},
            ]
        cases.append(intake)
    return cases


@pytest.fixture
def all_logs():
    """Every log record at DEBUG, from every logger (durable_rules' included)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler, level = Keep(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        if logger.level > logging.DEBUG:
            logger.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_intake_answer_reaches_any_log(all_logs, engine, capsys):
    logging.getLogger("screening.test_probe").debug("probe")
    assert any(r.getMessage() == "probe" for r in all_logs), "the capture sees debug records"
    cases = _marked_intakes(150)
    for intake in cases:
        report = screen(intake, engine=engine, today=TODAY)
        assert MARKERS[0] in report.to_json() or not report.flags  # the report does carry it
    bad = dict(cases[0], extra=MARKERS[0])
    with pytest.raises(IntakeError) as caught:
        screen(bad, engine=engine)
    assert MARKERS[0] not in str(caught.value)
    texts = [record.getMessage() + repr(record.args) + str(record.exc_info) for record in all_logs]
    assert not [t for t in texts if any(m in t for m in MARKERS)]
    out, err = capsys.readouterr()
    assert not any(m in out + err for m in MARKERS), "the library printed intake data"


# ---------------------------------------------------------------- issue 29: the guessing attack

HIDDEN = {  # A's answers a controlling partner B would want to confirm: 3*3*3*3*4 = 324 guesses
    "fear_of_other": ("yes", "no", "unknown"),
    "violence_last_year": ("yes", "no", "unknown"),
    "feels_safe_with_other": ("yes", "no", "unknown"),
    "mistrust": ("yes", "no", "unknown"),
    "conflict_level": ("low", "moderate", "high", "unknown"),
}


def _b_copies(report) -> dict[str, str]:
    """Everything partner B can hold of their own copy, in every format."""
    import datetime as dt

    from screening.report.html import render_html
    from screening.report.model import render_participant_text

    view = report.view_for("B")
    printed = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    return {
        "json": view.to_json(),
        "json-compact": view.to_json(indent=None),
        "text": render_participant_text(view),
        "text-private": render_participant_text(view, include_private=True),
        "html": render_html(view, printed=printed),
        "html-private": render_html(view, printed=printed, include_private=True),
    }


def test_the_guessing_attack_on_the_partners_answers_confirms_nothing_from_any_view_format():
    """Reproduction 2 of issue 29. B knows A's other answers and guesses A's fear, violence,
    safety, mistrust and conflict answers, recomputing each hash or id B's copy carries (the
    copy itself, any sha256 in it). Before the fix B's copy held the duo-wide intake_sha256 and
    the report_id, which matched exactly one guess; now every guess gives B the same copy."""
    import copy
    import itertools
    import re

    from strategies import random_intake

    rng = random.Random(29)
    base = random_intake(rng)
    while len(base["participants"]) != 2:
        base = random_intake(rng)
    base["participants"][1]["participant_id"] = "B"
    base["participants"][0]["participant_id"] = "A"
    truth = dict(zip(HIDDEN, ("yes", "yes", "no", "yes", "high"), strict=True))
    real = copy.deepcopy(base)
    real["participants"][0]["relationship"].update(truth)
    real_report = screen(real, engine="python", today=TODAY)
    held = _b_copies(real_report)
    hashes = {h for text in held.values() for h in re.findall(r"\b[0-9a-f]{64}\b", text)}
    assert real_report.report_id not in hashes and real_report.intake_sha256 not in hashes
    confirmed: dict[str, set[tuple[str, ...]]] = {fmt: set() for fmt in held}
    ids_seen = set()
    for guess in itertools.product(*HIDDEN.values()):
        candidate = copy.deepcopy(base)
        candidate["participants"][0]["relationship"].update(dict(zip(HIDDEN, guess, strict=True)))
        report = screen(candidate, engine="python", today=TODAY)
        ids_seen.add(report.report_id)
        for fmt, text in _b_copies(report).items():
            if text == held[fmt]:
                confirmed[fmt].add(guess)
    assert len(ids_seen) > 1, "the clinician's report does change with A's answers (the attack had something to find)"
    for fmt, guesses in confirmed.items():
        assert len(guesses) == 324, f"B's {fmt} copy tells A's guesses apart"
