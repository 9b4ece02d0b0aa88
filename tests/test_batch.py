"""Batch screening: order kept, bad lines become error records, same reports as one by one."""

import copy
import datetime as dt
import json
import subprocess
import sys

import pytest
from conftest import ENGINES, ROOT

from screening import BatchError, screen, screen_many
from screening.cli.commands import main

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
    got = [
        r.to_json() if not isinstance(r, BatchError) else r.to_dict()
        for r in screen_many(lines, jobs=2, engine=engine, today=TODAY)
    ]
    want = [
        r.to_json() if not isinstance(r, BatchError) else r.to_dict()
        for r in screen_many(lines, jobs=1, engine="python", today=TODAY)
    ]
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
    assert [len(r.participants) for r in results if not isinstance(r, BatchError)] == [
        1 + (i % 2) for i in range(700) if i != 500
    ]


def test_cli_batch_writes_one_json_line_per_input_line(tmp_path, baseline_individual, baseline_duo, capsys):
    lines = _corpus(baseline_individual, baseline_duo)
    path = tmp_path / "intakes.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code = main(["screen", "--batch", str(path), "--jobs", "2", "--engine", "python", "--today", "2026-11-01"])
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 3  # some lines could not be screened
    assert len(records) == len(lines) + 1  # one per line, then whether the run is complete
    assert [r["line"] for r in records[:-1]] == list(range(1, len(lines) + 1))
    assert records[3] == {"line": 4, "error": records[3]["error"], "kind": "intake"} and records[7]["line"] == 8
    assert (
        records[0]["report"]["flags"][0]["rule_id"] == screen(json.loads(lines[0]), engine="python", today=TODAY).flags[0].rule_id
    )
    assert records[-1] == {
        "batch": "complete",
        "lines": len(lines),
        "reports": len(lines) - 2,
        "invalid": 2,
        "blank": 0,
        "engine_failures": 0,
    }
    assert "2 line(s)" in err and "\r" not in err  # no progress bar when stderr is not a terminal


def test_cli_batch_reads_stdin_and_exits_0_when_every_line_screens(baseline_individual):
    lines = [json.dumps(baseline_individual)] * 3
    done = subprocess.run(
        [sys.executable, "-m", "screening", "screen", "--batch", "-", "--jobs", "1"],
        input="\n".join(lines),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4 and done.stderr == ""
    assert json.loads(done.stdout.splitlines()[-1])["batch"] == "complete"


def test_cli_needs_a_file_or_batch():
    assert main(["screen"]) == 2


def _batch(args, stdin=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "screening", "screen", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def test_a_blank_line_gets_its_own_record_so_output_n_is_input_n(baseline_individual):
    line = json.dumps(baseline_individual)
    done = _batch(["--batch", "-", "--jobs", "1", "--engine", "python"], f"{line}\n\n  \n{line}\n")
    records = [json.loads(r) for r in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert [r["line"] for r in records[:-1]] == [1, 2, 3, 4]
    assert records[1]["kind"] == "blank" and records[2]["kind"] == "blank"
    assert "report" in records[0] and "report" in records[3]
    assert records[-1]["blank"] == 2


@pytest.mark.parametrize("flag", [["--format", "text"], ["--format", "cds-hooks"], ["--jobs", "-1"], ["--jobs", "0"]])
def test_batch_refuses_what_it_cannot_honour(flag, baseline_individual):
    done = _batch(["--batch", "-", *flag], json.dumps(baseline_individual))
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr and done.stderr.startswith("screening: ")


def test_jobs_beyond_the_machine_are_capped(baseline_individual):
    from screening.pipeline.batch import bounded_jobs

    assert bounded_jobs(48) <= (__import__("os").cpu_count() or 1)
    done = _batch(["--batch", "-", "--jobs", "48", "--engine", "python"], json.dumps(baseline_individual))
    assert done.returncode == 0 and "Traceback" not in done.stderr


@pytest.mark.parametrize("target", ["missing.jsonl", "."])
def test_batch_of_a_missing_file_or_a_folder_is_a_usage_error(target, tmp_path):
    done = _batch(["--batch", str(tmp_path / target) if target != "." else str(tmp_path)])
    assert done.returncode == 2 and "cannot read" in done.stderr and "Traceback" not in done.stderr


def test_an_engine_failure_in_a_batch_exits_4_and_says_which_line(tmp_path, baseline_individual):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "from screening.engines import engine\n"
        "def broken(self, *args):\n"
        "    raise engine.EngineError('the two engines disagree on x.y')\n"
        "engine.PythonEngine.fire = broken\n"
        "from screening.cli.commands import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), "screen", "--batch", "-", "--jobs", "1", "--engine", "python"],
        input=json.dumps(baseline_individual) + "\n{}\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    records = [json.loads(r) for r in done.stdout.splitlines()]
    assert done.returncode == 4
    assert records[0] == {"line": 1, "error": records[0]["error"], "kind": "engine"}
    assert records[1]["kind"] == "intake" and records[-1]["engine_failures"] == 1


def test_ctrl_c_ends_without_a_traceback_and_says_the_run_is_incomplete(baseline_duo):
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "screening", "screen", "--batch", "-", "--jobs", "2", "--engine", "python"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
        # a run started in the background (nohup, `&` in a script) inherits SIGINT ignored, and Python
        # then installs no Ctrl-C handler: give the child a terminal's default, as a user's shell would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (async-signal-safe call only)
    )
    line = (json.dumps(baseline_duo) + "\n").encode()
    process.stdin.write(line * 300)
    process.stdin.flush()
    time.sleep(3)  # the input stays open: the run cannot finish by itself
    os = __import__("os")
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert b"Traceback" not in err
    records = [json.loads(r) for r in out.decode().splitlines()]
    assert records[-1]["batch"] == "incomplete"
    assert [r["line"] for r in records[:-1]] == list(range(1, len(records)))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_broken_rules_folder_fails_once_with_its_message_whatever_the_jobs(tmp_path, baseline_duo, jobs):
    """With several workers, a rules folder that does not load was read by each worker: the run
    ended with their tracebacks and an engine error on every line. It is read once, first."""
    import shutil

    from screening.rulebook.loading import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    broken = next(rules.glob("*/*.yaml"))
    broken.write_text(broken.read_text() + "\n  bogus: [\n")
    lines = tmp_path / "intakes.jsonl"
    lines.write_text("\n".join(json.dumps(baseline_duo) for _ in range(3)) + "\n")
    done = _batch(["--batch", str(lines), "--rules", str(rules), "--jobs", jobs, "--engine", "python"])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert f"{broken.parent.name}/{broken.name}" in done.stderr and "not valid YAML" in done.stderr
