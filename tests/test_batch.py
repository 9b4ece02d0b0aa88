"""Batch screening: order kept, bad lines become error records, same reports as one by one."""

import copy
import datetime as dt
import json
import subprocess
import sys

import pytest

from screening import BatchError, screen, screen_many
from screening.cli import main

from conftest import ENGINES, ROOT

TODAY = dt.date(2026, 11, 1)


def _corpus(individual, duo):
    """Ten intakes that differ in substance, format and findings, with two bad lines among them."""
    items = []
    for i, substance in enumerate(["psilocybin", "mdma", "ketamine", "lsd", "ayahuasca", "dmt", "psilocybin", "mdma"]):
        intake = copy.deepcopy(duo if i % 2 else individual)
        intake["session"]["substance"] = substance
        if i % 3 == 0:
            intake["participants"][0]["psychiatric"]["thoughts_of_harm_now"] = "yes"
        if i == 5:
            intake["participants"][-1]["physical"]["systolic_bp"] = 150 + i
        items.append(json.dumps(intake))
    items.insert(3, "{not json")
    items.insert(7, json.dumps({"session": {"substance": "psilocybin", "format": "duo"}, "participants": []}))
    return items


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_keep_input_order_and_equal_one_by_one_screening(jobs, baseline_individual, baseline_duo):
    lines = _corpus(baseline_individual, baseline_duo)
    results = list(screen_many(lines, jobs=jobs, engine="python", today=TODAY))
    assert len(results) == len(lines)
    for number, (line, result) in enumerate(zip(lines, results), 1):
        if number in (4, 8):
            assert isinstance(result, BatchError) and result.line == number
            continue
        expected = screen(json.loads(line), engine="python", today=TODAY)
        assert result.to_json() == expected.to_json()


def test_a_bad_line_gets_an_error_record_with_its_line_number(baseline_individual, baseline_duo):
    results = list(screen_many(_corpus(baseline_individual, baseline_duo), jobs=2, engine="python"))
    errors = [r for r in results if isinstance(r, BatchError)]
    assert [e.line for e in errors] == [4, 8]
    assert "not valid JSON" in errors[0].error
    assert "participants" in errors[1].error


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_give_the_same_batch(engine, baseline_individual, baseline_duo):
    lines = _corpus(baseline_individual, baseline_duo)
    got = [r.to_json() if not isinstance(r, BatchError) else r.to_dict() for r in screen_many(lines, jobs=2, engine=engine, today=TODAY)]
    want = [r.to_json() if not isinstance(r, BatchError) else r.to_dict() for r in screen_many(lines, jobs=1, engine="python", today=TODAY)]
    assert [g if isinstance(g, dict) else json.loads(g)["flags"] for g in got] == [
        w if isinstance(w, dict) else json.loads(w)["flags"] for w in want
    ]


def test_more_intakes_than_the_window_stay_in_order(baseline_individual, baseline_duo):
    lines = []
    for i in range(700):  # more chunks than the workers hold in flight at once
        intake = copy.deepcopy(baseline_duo if i % 2 else baseline_individual)
        intake["participants"][0]["person"]["age"] = 18 + i % 80
        lines.append(json.dumps(intake))
    lines[500] = "[]"
    results = list(screen_many(lines, jobs=2, engine="python"))
    assert [r.line for r in results if isinstance(r, BatchError)] == [501]
    assert [len(r.participants) for r in results if not isinstance(r, BatchError)] == [1 + (i % 2) for i in range(700) if i != 500]


def test_cli_batch_writes_one_json_line_per_input_line(tmp_path, baseline_individual, baseline_duo, capsys):
    lines = _corpus(baseline_individual, baseline_duo)
    path = tmp_path / "intakes.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code = main(["screen", "--batch", str(path), "--jobs", "2", "--engine", "python", "--today", "2026-11-01"])
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 3  # some lines could not be screened
    assert len(records) == len(lines)
    assert records[3] == {"line": 4, "error": records[3]["error"]} and records[7]["line"] == 8
    assert records[0]["flags"][0]["rule_id"] == screen(json.loads(lines[0]), engine="python", today=TODAY).flags[0].rule_id
    assert "2 line(s)" in err and "\r" not in err  # no progress bar when stderr is not a terminal


def test_cli_batch_reads_stdin_and_exits_0_when_every_line_screens(baseline_individual):
    lines = [json.dumps(baseline_individual)] * 3
    done = subprocess.run(
        [sys.executable, "-m", "screening", "screen", "--batch", "-", "--jobs", "1"],
        input="\n".join(lines), capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3 and done.stderr == ""


def test_cli_needs_a_file_or_batch():
    assert main(["screen"]) == 2
