"""Invariants over generated intakes: the two engines agree; a riskier or unknown answer never
takes a flag away; reports are deterministic, complete, JSON-stable and never declare anyone
eligible or safe."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import random
import re
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import TODAY, intakes, random_intake

from screening import screen
from screening.engines import facts
from screening.engines.engine import durable_available, get_engine
from screening.intake.fields import catalogue
from screening.intake.models import Intake
from screening.pipeline.screener import asked_fields, parse_intake
from screening.report.model import NOTICE, Report, render_text
from screening.rulebook import loading as rulebook
from screening.rulebook.conditions import Leaf, walk

needs_durable = pytest.mark.skipif(not durable_available(), reason="durable_rules does not import here")
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

BOOK = rulebook.default()
FRESH_BOOK = rulebook.load()  # the same files loaded again: a second, independent Rulebook


def fired(report: Report) -> list:
    return sorted(
        (f.rule_id, f.participant, tuple((e.participant, e.field, str(e.answer)) for e in f.evidence)) for f in report.flags
    )


def firings(intake: dict, engine: str) -> set:
    """The engine's raw firings (no report building): the cheap way to compare many intakes."""
    parsed = parse_intake(intake)
    substance, is_duo = parsed.session.substance.value, parsed.is_duo
    asked, _ = asked_fields(BOOK, substance, is_duo)
    values = [pf.values for pf in facts.build(parsed, BOOK.vocabulary, parsed.session.planned_date or TODAY, asked)]
    return get_engine(BOOK, engine).fire(values, substance, is_duo)


# ---------------------------------------------------------------------------- the engines agree


@needs_durable
@settings(max_examples=500, **SETTINGS)
@given(intake=intakes())
def test_durable_and_python_engines_give_the_same_flags_and_evidence(intake):
    assert fired(screen(intake, engine="durable", today=TODAY)) == fired(screen(intake, engine="python", today=TODAY))


def _seeded_loop(args: tuple[int, int]) -> list[str]:
    """Compare the engines' firings on ``count`` intakes from ``seed``; the mismatches."""
    count, seed = args
    rng = random.Random(seed)
    mismatches = []
    for n in range(count):
        intake = random_intake(rng)
        if firings(intake, "durable") != firings(intake, "python"):
            mismatches.append(f"intake {n} of seed {seed}: {intake!r}")
    return mismatches


def _seeded_loops(total: int, seed: int) -> None:
    """Two worker processes (the C engine holds the GIL, so threads would not help)."""
    jobs = [(total // 4, seed + k) for k in range(4)]
    with ProcessPoolExecutor(2) as pool:
        mismatches = [m for chunk in pool.map(_seeded_loop, jobs) for m in chunk]
    assert not mismatches, f"{len(mismatches)} intakes differ; first: {mismatches[0]}"


def _only_with_slow(request) -> None:
    """These runs take many minutes: only with `pytest -m slow`."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("a long run: select it with -m slow")


def test_the_compiled_evaluator_fires_what_the_tree_walker_fires_on_10000_intakes():
    """The reference evaluator is compiled to Python functions once per rulebook; the plain
    tree walk (conditions.evaluate) is the statement of the semantics it must keep."""
    from screening.engines.engine import PythonEngine, TreeEngine

    compiled, tree = PythonEngine(BOOK), TreeEngine(BOOK)
    rng = random.Random(4242)
    for n in range(10_000):
        parsed = parse_intake(random_intake(rng))
        substance, is_duo = parsed.session.substance.value, parsed.is_duo
        asked, _ = asked_fields(BOOK, substance, is_duo)
        values = [pf.values for pf in facts.build(parsed, BOOK.vocabulary, parsed.session.planned_date or TODAY, asked)]
        assert compiled.fire(values, substance, is_duo) == tree.fire(values, substance, is_duo), f"intake {n}"


@needs_durable
def test_engines_fire_the_same_rules_on_10000_seeded_random_intakes():
    _seeded_loops(10_000, seed=2026)


@needs_durable
@pytest.mark.slow
def test_engines_fire_the_same_rules_on_100000_seeded_random_intakes(request):
    _only_with_slow(request)
    _seeded_loops(100_000, seed=11)


# ---------------------------------------------------------------------------- riskier never removes a flag

# Answers where "yes" is the reassuring answer: a "no" (or "unknown") is the riskier direction.
PROTECTIVE = {
    *(
        f"readiness.{name}"
        for name in (
            "grounding_skills",
            "self_regulation",
            "support_system",
            "support_contact",
            "stable_living",
            "own_intention",
            "recovery_time",
        )
    ),
    "relationship.feels_safe_with_other",
    "relationship.agreement_touch",
    "relationship.agreement_talking",
    "relationship.agreement_check_in_signal",
    "relationship.agreement_primary_support",
    "relationship.agreement_sharing_afterwards",
    "relationship.knows_other_intention",
    "relationship.agreed_what_facilitator_passes_on",
    "person.contraception_after_session",
    "session.preparation_planned",
    "session.integration_planned",
    "session.facilitator_trained_and_vetted",
    "plan.transport_plan",
    "psychiatric.psychosis_substance_induced_only",  # "only under a substance" lowers the concern
    "medications.stopped_with_prescriber",
}
# Numbers: +1 when a higher value is riskier, -1 when a lower one is.
NUMBER_DIRECTION = {
    "physical.systolic_bp": +1,
    "physical.diastolic_bp": +1,
    "person.age": -1,
    "person.weight_kg": -1,
    "session.sober_facilitators": -1,
    "session.session_hours": -1,
    "plan.dose_mg": +1,
    "plan.dose_mg_per_kg": +1,
    "plan.dose_grams": +1,
}
# Ordered choices: later is riskier.
ENUM_ORDER = {"relationship.conflict_level": ("low", "moderate", "high")}

# Rules that legitimately go the other way, with the reason. Keyed by (rule id, field, change):
# change "riskier" (no->yes, or yes->no for a protective answer) or "unknown" (the safer answer
# replaced by unknown).
CONSISTENCY = "a consistency rule: it asks what the medicine is for only while every condition it could imply was answered no; a declared condition is flagged by that condition's own rule, and an unknown answer is listed under missing information (missing-information.unanswered-questions)"
UNANSWERED_LISTED = (
    "an info rule about an explicit 'no'; an unanswered question is listed under missing information and counted "
    "by missing-information.unanswered-questions (a warning), so the unknown answer is not left unflagged"
)
DOCUMENTED_EXCEPTIONS = {
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.arrhythmia", "riskier"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.arrhythmia", "unknown"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.heart_attack_ever", "riskier"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.heart_attack_ever", "unknown"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.stroke_ever", "riskier"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.stroke_ever", "unknown"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.stroke_or_tia_last_6_months", "riskier"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.stroke_or_tia_last_6_months", "unknown"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.valve_disease", "riskier"): CONSISTENCY,
    ("cardiovascular.anticoagulant-without-declared-condition", "physical.valve_disease", "unknown"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "physical.seizure_disorder", "riskier"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "psychiatric.bipolar_1", "riskier"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "psychiatric.bipolar_1", "unknown"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "psychiatric.bipolar_2", "riskier"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "psychiatric.bipolar_2", "unknown"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "psychiatric.mania_history", "riskier"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "psychiatric.mania_history", "unknown"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "psychiatric.psychotic_disorder", "riskier"): CONSISTENCY,
    ("mood.mood-stabiliser-or-antipsychotic-without-declared-history", "psychiatric.psychotic_disorder", "unknown"): CONSISTENCY,
    (
        "missing-information.medication-question-open",
        "medications.listed",
        "unknown",
    ): "the rule is for an empty medication list with the question whether anything is taken left open; once a "
    "line is listed, the listed medications are read by their own rules",
    (
        "relationship.facilitator-passing-on-not-agreed",
        "relationship.agreed_what_facilitator_passes_on",
        "unknown",
    ): UNANSWERED_LISTED,
    ("relationship.other-intention-not-known", "relationship.knows_other_intention", "unknown"): UNANSWERED_LISTED,
    (
        "relationship.fear-reported-by-one",
        "relationship.fear_of_other",
        "riskier",
    ): "the rule is about a one-sided report: it needs the other participant's explicit 'no'; when both "
    "report fear the one-sided pattern no longer holds; relationship.fear-reported-by-both flags the pair instead",
    (
        "relationship.fear-reported-by-one",
        "relationship.fear_of_other",
        "unknown",
    ): "the rule needs the other participant's explicit 'no' to call the fear one-sided; when the other is "
    "unsure, relationship.fear-not-confirmed-by-other flags the pair at the same severity",
    # Added with the clinical rulebook (issue 3): rules about an uneven report, and a warning that
    # gives way to a critical rule. In each case another rule keeps flagging the riskier answer.
    (
        "psychosis.substance-induced-only",
        "psychiatric.psychosis_substance_induced_only",
        "riskier",
    ): "the warning is for psychosis only ever under a substance; when that turns to 'no' the critical "
    "psychosis.personal-psychotic-disorder rule takes over",
    (
        "psychosis.substance-induced-only",
        "psychiatric.psychosis_substance_induced_only",
        "unknown",
    ): "when 'only under a substance' turns to unsure, the critical psychosis.personal-psychotic-disorder rule takes over",
    (
        "relationship.pressure-reported-by-one",
        "relationship.pressure_to_take_part",
        "riskier",
    ): "the rule is about an uneven report: when the other also reports pressure the one-sided pattern no longer "
    "holds; relationship.pressure-to-take-part still flags each person who reports pressure",
    (
        "relationship.pressure-reported-by-one",
        "relationship.pressure_to_take_part",
        "unknown",
    ): "the rule needs the other's explicit 'no'; relationship.pressure-to-take-part flags the unsure answer itself",
    (
        "relationship.high-conflict-reported-by-one",
        "relationship.conflict_level",
        "riskier",
    ): "the rule is about an uneven report: when the other also reports high conflict the one-sided pattern no "
    "longer holds; relationship.high-conflict-or-mistrust still flags each person who reports high conflict",
    (
        "relationship.high-conflict-reported-by-one",
        "relationship.conflict_level",
        "unknown",
    ): "when either rating turns unsure the difference is unknown; relationship.high-conflict-or-mistrust flags "
    "an unanswered conflict question",
}


def _holding(leaf: Leaf, value, negated: bool) -> bool:
    if leaf.op == "is":
        holds = value == leaf.value
    elif leaf.op == "in":
        holds = value in leaf.value
    elif leaf.op == "answered":
        holds = value != "unknown"
    elif leaf.op == "unanswered":
        holds = value == "unknown"
    else:
        raise AssertionError(leaf)
    return holds != negated


def _leaves_with_polarity(condition, negated=False):
    if isinstance(condition, Leaf):
        yield condition, negated
    else:
        for item in condition.items:
            yield from _leaves_with_polarity(item, negated != (condition.op == "not"))


def _safer_to_riskier(path: str) -> dict[str, tuple]:
    spec = catalogue()[path]
    if path in ENUM_ORDER:
        order = ENUM_ORDER[path]
        return {"riskier": tuple(itertools.pairwise(order)), "unknown": tuple((v, "unknown") for v in order)}
    if spec.kind != "answer":
        return {}
    safe, risky = ("yes", "no") if path in PROTECTIVE else ("no", "yes")
    return {"riskier": ((safe, risky),), "unknown": ((safe, "unknown"),)}


def non_monotone_rules(book) -> set[tuple[str, str, str]]:
    """Read from the rulebook: (rule, field, change) where a riskier answer can stop a leaf holding."""
    found = set()
    for rule in book.active:
        for leaf, negated in _leaves_with_polarity(rule.condition):
            if leaf.op in ("taking", "stopped_on_own", "medications"):
                continue
            spec = catalogue()[leaf.field]
            if spec.kind == "number":
                if leaf.op in ("is", "in"):
                    found.add((rule.id, leaf.field, "riskier"))
                elif leaf.op in ("at_least", "above", "below", "at_most"):
                    up = leaf.op in ("at_least", "above")
                    if (up != negated) != (NUMBER_DIRECTION.get(leaf.field, 0) == +1):
                        found.add((rule.id, leaf.field, "riskier"))
                continue
            if spec.kind == "count":
                if (leaf.op in ("at_least", "above")) == negated:
                    found.add((rule.id, leaf.field, "unknown"))
                continue
            for change, steps in _safer_to_riskier(leaf.field).items():
                for before, after in steps:
                    if _holding(leaf, before, negated) and not _holding(leaf, after, negated):
                        found.add((rule.id, leaf.field, change))
    return found


def test_every_non_monotone_rule_is_documented_with_its_reason():
    undocumented = non_monotone_rules(BOOK) - set(DOCUMENTED_EXCEPTIONS)
    assert not undocumented, (
        "these rules can lose their flag when an answer becomes riskier or unknown; document why in "
        f"DOCUMENTED_EXCEPTIONS or reshape the rule: {sorted(undocumented)}"
    )


def test_every_number_a_rule_reads_has_a_declared_riskier_direction():
    numbers = {
        leaf.field
        for rule in BOOK.active
        for leaf in walk(rule.condition)
        if leaf.op not in ("taking", "stopped_on_own", "medications") and catalogue()[leaf.field].kind == "number"
    }
    assert numbers <= set(NUMBER_DIRECTION)


def _answer_slots(intake: dict):
    """(where, catalogue path, current value) of every tri-state or ordered answer in an intake."""
    for name, value in intake["session"].items():
        if f"session.{name}" in catalogue():
            yield ("session", name), f"session.{name}", value
    for i, person in enumerate(intake["participants"]):
        for group, section in person.items():
            if isinstance(section, dict):
                for name, value in section.items():
                    yield ("participants", i, group, name), f"{group}.{name}", value
        for m, med in enumerate(person["medications"]):
            yield (
                ("participants", i, "medications", m, "stopped_with_prescriber"),
                "medications.stopped_with_prescriber",
                med.get("stopped_with_prescriber", "unknown"),
            )


def _set(intake: dict, where: tuple, value) -> dict:
    changed = copy.deepcopy(intake)
    node = changed
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    return changed


def mutations(intake: dict, change: str):
    """Every single-answer change of the given kind: (path, the changed intake)."""
    for where, path, value in _answer_slots(intake):
        if path in NUMBER_DIRECTION:
            if change == "riskier" and value is not None:
                step = NUMBER_DIRECTION[path] * (5 if path.startswith("physical") else 1)
                yield path, _set(intake, where, value + step)
            continue
        if path not in catalogue() and path != "medications.stopped_with_prescriber":
            continue
        steps = (
            _safer_to_riskier(path)
            if path != "medications.stopped_with_prescriber"
            else {"riskier": (("yes", "no"),), "unknown": (("yes", "unknown"),)}
        )
        for before, after in steps.get(change, ()):
            if value == before:
                yield path, _set(intake, where, after)
    if change == "riskier":  # a more recent last dose of a stopped medication
        for i, person in enumerate(intake["participants"]):
            for m, med in enumerate(person["medications"]):
                if med.get("last_taken") is not None:
                    # at most the session date: a last dose after it is refused as implausible
                    session = intake["session"].get("planned_date") or TODAY
                    later = min(med["last_taken"] + dt.timedelta(days=7), session)
                    yield "medications.last_taken", _set(intake, ("participants", i, "medications", m, "last_taken"), later)


def _flag_keys(intake: dict) -> dict[tuple[str, str], str] | None:
    try:
        Intake.model_validate(intake, context={"today": TODAY})
    except ValueError:
        return None  # the change left the declared range (e.g. age below 0, a last dose after the session): not an intake
    return {(f.rule_id, f.participant): f.severity for f in screen(intake, engine="python", today=TODAY).flags}


def _check_never_removes(intake: dict, change: str, rng: random.Random, limit: int = 25) -> int:
    """Apply up to ``limit`` of the possible single-answer changes (sampled) and compare flags."""
    before = _flag_keys(intake)
    checked = 0
    candidates = list(mutations(intake, change))
    for path, changed in rng.sample(candidates, min(limit, len(candidates))):
        after = _flag_keys(changed)
        if after is None:
            continue
        checked += 1
        allowed = {rule for rule, field, kind in DOCUMENTED_EXCEPTIONS if field == path and kind == change}
        lost = {key for key in before if key not in after and key[0] not in allowed}
        assert not lost, f"changing {path} ({change}) removed {sorted(lost)}"
    return checked


@settings(max_examples=80, **SETTINGS)
@given(intake=intakes(), rng=st.randoms(use_true_random=False))
def test_a_riskier_answer_never_removes_a_flag(intake, rng):
    _check_never_removes(intake, "riskier", rng, limit=20)


@settings(max_examples=80, **SETTINGS)
@given(intake=intakes(), rng=st.randoms(use_true_random=False))
def test_an_unknown_answer_never_removes_a_flag_that_the_safer_answer_gave(intake, rng):
    _check_never_removes(intake, "unknown", rng, limit=20)


@pytest.mark.slow
@pytest.mark.skipif("slow" not in " ".join(__import__("sys").argv), reason="a long run: select it with -m slow")
@settings(max_examples=2000, **SETTINGS)
@given(intake=intakes(), rng=st.randoms(use_true_random=False))
def test_every_riskier_or_unknown_answer_never_removes_a_flag_many_intakes(request, intake, rng):
    _check_never_removes(intake, "riskier", rng, limit=10_000)
    _check_never_removes(intake, "unknown", rng, limit=10_000)


def test_the_one_sided_fear_rule_is_the_documented_exception(baseline_duo):
    """Shows the exception is real: B turning to 'yes' (or unsure) ends the one-sided flag."""
    baseline_duo["participants"][0]["relationship"]["fear_of_other"] = "yes"
    ids = lambda intake: {f.rule_id for f in screen(intake, engine="python").flags}
    assert "relationship.fear-reported-by-one" in ids(baseline_duo)
    instead = {"yes": "relationship.fear-reported-by-both", "unknown": "relationship.fear-not-confirmed-by-other"}
    for answer, other_rule in instead.items():
        baseline_duo["participants"][1]["relationship"]["fear_of_other"] = answer
        assert "relationship.fear-reported-by-one" not in ids(baseline_duo)
        assert other_rule in ids(baseline_duo)  # the pair stays flagged, at the same severity


# ---------------------------------------------------------------------------- reports

FORBIDDEN = re.compile(r"\b(eligible|eligibility|cleared|approved|safe)\b", re.IGNORECASE)
# Uses of "safe" that decide nothing: the intake's own question, quoted as evidence, and advice on
# where to talk with a participant.
ALLOWED_SAFE = ("Do you feel safe with the other participant?", "in a safe setting")


def forbidden_words(text: str) -> list[str]:
    text = " ".join(text.split())  # the text rendering wraps lines inside phrases
    for phrase in ALLOWED_SAFE:
        text = text.replace(phrase, "")
    return FORBIDDEN.findall(text)


@settings(max_examples=100, **SETTINGS)
@given(intake=intakes())
def test_the_same_intake_rulebook_and_date_give_byte_identical_json(intake):
    engines = ["python"] + (["durable"] if durable_available() else [])
    for engine in engines:
        first = screen(intake, engine=engine, today=TODAY).to_json()
        assert screen(copy.deepcopy(intake), engine=engine, today=TODAY).to_json() == first
        assert screen(intake, engine=engine, today=TODAY, rulebook=FRESH_BOOK).to_json() == first
    if len(engines) == 2:  # the engines' reports differ only in the engine's name
        reports = [json.loads(screen(intake, engine=e, today=TODAY).to_json()) for e in engines]
        for report in reports:
            report.pop("engine")
        assert reports[0] == reports[1]


@settings(max_examples=150, **SETTINGS)
@given(intake=intakes(), view=st.sampled_from(["clinician", "first", "second"]))
def test_every_report_is_complete_and_declares_no_one_eligible_or_safe(intake, view):
    report = screen(intake, engine="python", today=TODAY)
    if view != "clinician":
        pid = report.participants[0 if view == "first" else -1]
        report = report.view_for(pid)
    assert report.notice == NOTICE
    assert re.fullmatch(r"[0-9a-f]{64}", report.rulebook.sha256)
    assert report.rulebook.sha256 == BOOK.sha256
    assert set(report.rules) == {flag.rule_id for flag in report.flags}  # each rule that fired, once
    for flag in report.flags:
        rule = report.rules[flag.rule_id]
        assert rule.explanation.strip() and rule.clinician_action.strip() and rule.summary.strip()
        assert flag.evidence, flag.rule_id
        assert rule.references and all(r.url and r.title for r in rule.references)
        assert rule.limitations
    text = render_text(report)
    assert not forbidden_words(report.to_json()), forbidden_words(report.to_json())
    assert not forbidden_words(text)
    if not report.flags and view == "clinician":
        assert "No rule matched. A clinician still reviews" in text
    elif not report.flags:  # a participant's own copy, addressed to them, saying only what is true (issue 29)
        if report.session.format == "duo":  # findings about the two rest on the other's answers too
            assert "No point came up from your own answers alone" in text or "in private" in text
        else:
            assert "None of the screening's points came up in your answers" in text or "in private" in text


@settings(max_examples=150, **SETTINGS)
@given(intake=intakes())
def test_report_json_round_trips(intake):
    report = screen(intake, engine="python", today=TODAY)
    assert Report.model_validate_json(report.to_json()) == report
    for pid in report.participants:
        view = report.view_for(pid)
        assert Report.model_validate_json(view.to_json(indent=None)) == view
