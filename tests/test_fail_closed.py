"""Fail closed (issue 11, part A): the default engine can never return fewer flags than the
rules give. durable_rules once dropped a fact holding a number in exponent form, and every fact
after it, without an error: those reproductions are here, with the cross-check that now
catches any such difference, and engine errors that never quote an answer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from screening import EngineError, screen
from screening.engines import durable
from screening.engines.engine import DurableEngine, durable_available, fact_text, get_engine
from screening.rulebook import loading as rulebook

needs_durable = pytest.mark.skipif(not durable_available(), reason="durable_rules does not import here")

TINY_HOURS = {
    "session": {"substance": "mdma", "format": "individual", "session_hours": 0.00005},
    "participants": [{"participant_id": "A", "psychiatric": {"active_psychosis": "yes"}}],
}


def _flags(report) -> list[tuple[str, str]]:
    return [(f.rule_id, f.participant) for f in report.flags]


@pytest.mark.parametrize("engine", ["auto", "durable"] if durable_available() else ["auto"])
@pytest.mark.parametrize("hours", [0.00005, 5e-300, 1e-7, 0.1 + 0.2, 47.999999999])
def test_a_number_in_exponent_form_loses_no_flag(engine, hours):
    intake = json.loads(json.dumps(TINY_HOURS))
    intake["session"]["session_hours"] = hours
    got = screen(intake, engine=engine)
    reference = screen(intake, engine="python")
    assert _flags(got) == _flags(reference)
    assert got.counts["critical"] >= 1  # active psychosis is critical whatever else was asked


def test_a_tiny_dose_written_in_yaml_exponent_form_is_screened_in_full(tmp_path):
    path = tmp_path / "intake.yaml"
    path.write_text(
        "session: {substance: psilocybin, format: individual}\n"
        "participants:\n"
        "  - participant_id: A\n"
        "    plan: {dose_mg: 5.0e-5}\n"
        "    psychiatric: {active_psychosis: 'yes'}\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "screening", "screen", str(path), "--format", "json"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    python = subprocess.run(
        [sys.executable, "-m", "screening", "screen", str(path), "--format", "json", "--engine", "python"],
        capture_output=True,
        text=True,
    )
    assert [f["rule_id"] for f in report["flags"]] == [f["rule_id"] for f in json.loads(python.stdout)["flags"]]
    assert report["counts"]["critical"] >= 1


def test_facts_carry_floats_in_fixed_point_notation():
    text = fact_text({"type": "p", "pid": "A", "x": 5e-05, "y": 1e300, "n": 3})
    assert "e" not in text.replace('"type"', "")
    assert json.loads(text) == {"type": "p", "pid": "A", "x": 5e-05, "y": 1e300, "n": 3}
    with pytest.raises(TypeError):
        fact_text({"flag": True})


@needs_durable
def test_durable_dropping_a_fact_fails_closed(monkeypatch, baseline_individual):
    """The original defect, replayed: facts sent in exponent form are dropped by durable_rules
    without an error. The engine's acknowledgement rule notices and the screening fails."""

    def exponent_text(fact):
        return json.dumps(dict(fact, x=5e-05))

    monkeypatch.setattr(durable, "fact_text", exponent_text)
    book = rulebook.default()
    with pytest.raises(EngineError, match="did not confirm"):
        DurableEngine(book).fire([_values(book, baseline_individual)], "mdma", False)


@needs_durable
def test_a_host_that_reports_nothing_fails_closed(monkeypatch, baseline_individual):
    book = rulebook.default()
    engine = DurableEngine(book)
    monkeypatch.setattr(engine._host, "assert_facts", lambda *a, **k: [])
    with pytest.raises(EngineError, match="did not confirm"):
        engine.fire([_values(book, baseline_individual)], "mdma", False)


def _values(book, intake):
    import datetime as dt

    from screening.engines import facts
    from screening.pipeline.screener import parse_intake

    parsed = parse_intake(intake)
    return facts.build(parsed, book.vocabulary, dt.date(2026, 12, 1))[0].values


@needs_durable
def test_the_engines_disagreeing_fails_closed_naming_rules_not_answers(monkeypatch, baseline_individual):
    baseline_individual["psychiatric"] = baseline_individual["participants"][0]["psychiatric"]
    baseline_individual["participants"][0]["psychiatric"]["active_psychosis"] = "yes"
    del baseline_individual["psychiatric"]
    cross = get_engine(rulebook.default(), "cross-check")
    real = cross.durable.fire
    monkeypatch.setattr(cross.durable, "fire", lambda *a: {f for f in real(*a) if f.rule_id != min(real(*a)).rule_id})
    with pytest.raises(EngineError) as caught:
        screen(baseline_individual)
    message = str(caught.value)
    assert "disagree" in message and "psychosis" in message
    assert "yes" not in message


@needs_durable
def test_the_default_report_names_both_engines(baseline_individual):
    assert screen(baseline_individual).engine == "durable_rules, cross-checked"
    assert screen(baseline_individual, engine="durable").engine == "durable_rules"


@needs_durable
def test_an_engine_error_never_quotes_the_facts(monkeypatch, baseline_individual):
    marker = "zq-marker-7731"
    baseline_individual["participants"][0]["medications"] = [{"name": f"{marker} 5mg", "status": "current"}]
    book = rulebook.default()
    engine = get_engine(book, "durable")

    def explode(ruleset, batch, **kwargs):
        # durable_rules itself raises a bare Exception with this text; the test mimics it.
        raise Exception(f"Could not assert facts, error code: 301, facts {batch}")  # noqa: TRY002

    monkeypatch.setattr(engine._host, "assert_facts", explode)
    with pytest.raises(EngineError) as caught:
        screen(baseline_individual, engine="durable")
    assert marker not in str(caught.value) and "301" in str(caught.value)


@needs_durable
def test_an_engine_failure_exits_4_with_nothing_on_stdout(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "from screening.engines import engine\n"
        "def disagree(self, *args):\n"
        "    raise engine.EngineError('the two engines disagree on psychosis.x')\n"
        "engine.CrossCheckedEngine.fire = disagree\n"
        "from screening.cli.commands import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    from conftest import EXAMPLES

    run = subprocess.run([sys.executable, str(script), "screen", str(EXAMPLES / "duo-mdma.yaml")], capture_output=True, text=True)
    assert run.returncode == 4
    assert run.stdout == ""
    assert "disagree" in run.stderr and "Traceback" not in run.stderr
