"""The engines: durable_rules and the direct evaluator fire the same rules; screenings are
isolated from each other, also across threads; failures fail closed."""

import copy
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ENGINES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening import EngineError, screen
from screening.engines.engine import durable_available
from screening.intake.fields import catalogue
from screening.intake.models import Substance

needs_durable = pytest.mark.skipif(not durable_available(), reason="durable_rules does not import here")

ANSWERS = st.sampled_from(["yes", "no", "unknown"])
MEDICATION_NAMES = ["lithium", "Zoloft 50mg", "Prozac", "lexapro 10 mg", "Zorblax", "sertaline", "ibuprofen"]


def _baseline_person(book, pid: str, duo: bool) -> dict:
    person = copy.deepcopy(book.baseline["participant"])
    person["participant_id"] = pid
    if duo:
        person["relationship"] = copy.deepcopy(book.baseline["relationship"])
    return person


@st.composite
def intakes(draw, book):
    """An intake from the example baseline with a random subset of answers changed."""
    duo = draw(st.booleans())
    session = copy.deepcopy(book.baseline["session"])
    session["format"] = "duo" if duo else "individual"
    session["substance"] = draw(st.sampled_from([s.value for s in Substance]))
    session["sober_facilitators"] = draw(st.one_of(st.none(), st.integers(0, 3)))
    people = []
    for pid in ("A", "B") if duo else ("A",):
        person = _baseline_person(book, pid, duo)
        for path, spec in catalogue().items():
            group, _, name = path.partition(".")
            if spec.kind != "answer" or spec.session or (spec.duo_only and not duo) or group not in person:
                continue
            if draw(st.integers(0, 9)) == 0:  # change about one answer in ten
                person[group][name] = draw(ANSWERS)
        person["physical"]["systolic_bp"] = draw(st.one_of(st.none(), st.integers(100, 200)))
        person["physical"]["diastolic_bp"] = draw(st.one_of(st.none(), st.integers(50, 99)))
        person["medications"] = [
            {
                "name": draw(st.sampled_from(MEDICATION_NAMES)),
                "status": draw(st.sampled_from(["current", "stopped", "unknown"])),
                "last_taken": str(dt.date(2026, 12, 1) - dt.timedelta(days=draw(st.integers(0, 60)))),
            }
            for _ in range(draw(st.integers(0, 2)))
        ]
        for med in person["medications"]:
            if med["status"] != "stopped":
                del med["last_taken"]
        people.append(person)
    return {"session": session, "participants": people}


def fired(report):
    return sorted(
        (f.rule_id, f.participant, tuple((e.participant, e.field, str(e.answer)) for e in f.evidence)) for f in report.flags
    )


@needs_durable
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_durable_and_the_direct_evaluator_fire_the_same_rules(book, data):
    intake = data.draw(intakes(book))
    assert fired(screen(intake, engine="durable")) == fired(screen(intake, engine="python"))


def test_the_report_names_the_engine(baseline_individual):
    assert screen(baseline_individual, engine="python").engine == "python"
    if durable_available():
        assert screen(baseline_individual, engine="durable").engine == "durable_rules"


@needs_durable
def test_many_threads_get_exactly_their_own_results(book):
    import random

    rng = random.Random(7)
    cases = []
    for i in range(400):
        intake = copy.deepcopy({"session": book.baseline["session"], "participants": [book.baseline["participant"]]})
        intake["session"]["substance"] = rng.choice([s.value for s in Substance])
        intake["participants"][0]["physical"]["systolic_bp"] = rng.randint(110, 170)
        intake["participants"][0]["person"]["pregnant"] = rng.choice(["yes", "no", "unknown"])
        if rng.random() < 0.3:
            intake["participants"][0]["medications"] = [{"name": "lithium", "status": "current"}]
        cases.append(intake)
    expected = [fired(screen(c, engine="python")) for c in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda c: fired(screen(c, engine="durable")), cases * 3))
    assert got == expected * 3


@needs_durable
def test_an_error_inside_the_engine_fails_the_screening_closed(book, baseline_individual, monkeypatch):
    from screening.engines.engine import get_engine

    engine = get_engine(book, "durable")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine._host, "assert_facts", broken)
    baseline_individual["participants"][0]["person"]["pregnant"] = "yes"
    with pytest.raises(EngineError):
        screen(baseline_individual, engine="durable")


def test_an_unknown_engine_name_is_a_clear_error(baseline_individual):
    with pytest.raises(ValueError, match="unknown engine"):
        screen(baseline_individual, engine="drools")


def _extreme(book, substance: str, duo: bool, answer: str) -> dict:
    """Every yes/no answer set to `answer`, every medication class current, numbers at their
    riskiest: the intake that matches the most engine tests at once."""
    session = copy.deepcopy(book.baseline["session"])
    session.update(
        substance=substance,
        format="duo" if duo else "individual",
        sober_facilitators=0,
        preparation_planned=answer,
        integration_planned=answer,
        session_hours=1,
    )
    one_per_class = {}
    for entry in book.vocabulary.entries:
        for cls in entry.classes:
            one_per_class.setdefault(cls, entry.generic)
    people = []
    for pid in ("A", "B") if duo else ("A",):
        person = _baseline_person(book, pid, duo)
        for section in person.values():
            if isinstance(section, dict):
                for key, value in section.items():
                    if value in ("yes", "no", "unknown"):
                        section[key] = answer
        person["person"].update(age=17, weight_kg=40)
        person["physical"].update(systolic_bp=200, diastolic_bp=120)
        person["medications"] = [
            {"name": name, "status": "stopped", "last_taken": session["planned_date"], "stopped_with_prescriber": "no"}
            for name in sorted(set(one_per_class.values()))
        ] + [{"name": "zorblax"}, {"name": "sertaline"}]
        people.append(person)
    return {"session": session, "participants": people}


@pytest.mark.skipif("durable" not in ENGINES, reason="durable_rules is not installed here")
@pytest.mark.parametrize("answer", ["yes", "unknown"])
def test_the_riskiest_intakes_stay_within_the_engine_limits(book, answer):
    """durable_rules fails (error 303) past 64 matching tests under one node; rules are packed
    into rulesets so that no intake can reach it. Every partition, the most matching intakes."""
    for substance in ("psilocybin", "mdma", "ketamine", "lsd", "ayahuasca", "dmt"):
        for duo in (False, True):
            intake = _extreme(book, substance, duo, answer)
            durable = {(f.rule_id, f.participant) for f in screen(intake, engine="durable").flags}
            python = {(f.rule_id, f.participant) for f in screen(intake, engine="python").flags}
            assert durable == python, (substance, duo)
            assert len(durable) > 20, (substance, duo)


def test_a_frame_is_read_without_decoding_only_when_it_is_exactly_this_screenings_fact():
    from screening.engines.durable import frame_reader

    a = '{"type": "p", "pid": "A", "sid": "s1"}'
    b = '{"type": "p", "pid": "B", "sid": "s1"}'
    read = frame_reader([("A", a), ("B", b)], "s1")
    assert read('{"r3":{"p":' + a + "}}") == [("r3", {"p": {"pid": "A", "sid": "s1"}})]
    assert read('{"r7":{"me":' + b + ',"peer":' + a + "}}") == [
        ("r7", {"me": {"pid": "B", "sid": "s1"}, "peer": {"pid": "A", "sid": "s1"}})
    ]
    other_session = '{"type": "p", "pid": "A", "sid": "s2"}'
    for message in ('{"r3":{"p":' + other_session + "}}", '{"$start":{"m":{"sid": "s1"}}}', "", "not json"):
        assert read(message) is None  # decoded as JSON instead, where the session check applies


def test_flags_built_without_revalidation_are_valid_all_the_same(book):
    """Flags and evidence are built without pydantic's validation (for speed); a sample of
    generated screenings validates as a whole report, and round-trips to the same JSON."""
    import random

    from strategies import TODAY, random_intake

    from screening.report.model import Report

    rng = random.Random(77)
    for _ in range(200):
        report = screen(random_intake(rng), engine="python", today=TODAY)
        again = Report.model_validate(report.model_dump())
        assert again == report
        assert Report.model_validate_json(report.to_json()).to_json() == report.to_json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_fact_limited_to_what_the_rules_read_is_the_whole_fact_filtered(book, data):
    """to_fact(values, reads) builds only the fields some rule tests: exactly the whole fact
    with every other field dropped (the engine then parses less, and decides the same)."""
    from screening.engines import facts
    from screening.pipeline.screener import asked_fields, parse_intake

    intake = parse_intake(data.draw(intakes(book)), today=dt.date(2026, 12, 1))
    reference = intake.session.planned_date or dt.date(2026, 12, 1)
    asked, _ = asked_fields(book, intake.session.substance.value, intake.is_duo)
    whole_keys = {k for pf in facts.build(intake, book.vocabulary, reference, asked) for k in facts.to_fact(pf.values)}
    reads = frozenset(data.draw(st.sets(st.sampled_from(sorted(whole_keys)))) | {"type", "pid"})
    for pf in facts.build(intake, book.vocabulary, reference, asked):
        whole = facts.to_fact(pf.values)
        assert facts.to_fact(pf.values, reads) == {k: v for k, v in whole.items() if k in reads}
