"""Command-line edges an adopter meets first: stdin, missing files, bad dates, help text,
unknown rule ids, and an engine that cannot be used here."""

import doctest
import json
import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT

import screening
from screening.cli.commands import main
from screening.engines import durable
from screening.engines import engine as engine_module
from screening.pipeline import screener

NO_DURABLE = "import sys; sys.modules['durable'] = None; from screening.cli.commands import main; sys.exit(main(sys.argv[1:]))"


def run(*args, stdin=None, code=None):
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "screening", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120, input=stdin)


def test_screen_dash_reads_yaml_from_stdin_like_the_file():
    from_file = run("screen", str(EXAMPLES / "duo-mdma.yaml"), "--format", "json")
    from_stdin = run("screen", "-", "--format", "json", stdin=(EXAMPLES / "duo-mdma.yaml").read_text())
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert json.loads(from_stdin.stdout)["flags"] == json.loads(from_file.stdout)["flags"]


def test_screen_dash_reads_a_fhir_bundle_from_stdin():
    result = run("screen", "-", "--format", "json", stdin=(EXAMPLES / "fhir" / "duo-mdma-response-bundle.json").read_text())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["participants"] == ["A", "B"]


def test_an_invalid_intake_on_stdin_names_stdin_and_exits_3():
    result = run("screen", "-", stdin="session: [")
    assert result.returncode == 3 and "<stdin>" in result.stderr and result.stdout == ""


def test_a_folder_instead_of_a_file_is_a_usage_error(tmp_path):
    result = run("screen", str(tmp_path))
    assert result.returncode == 2 and "not a file" in result.stderr


def test_a_bad_today_says_which_format_is_expected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["screen", str(EXAMPLES / "duo-mdma.yaml"), "--today", "2026-13-01"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--today: expected a date as YYYY-MM-DD" in err and "fromisoformat" not in err


@pytest.mark.parametrize("args", [[], ["screen"], ["rules"], ["rules", "test"], ["fhir"], ["docs", "build"]])
def test_help_has_no_raw_rest_markup(args, capsys):
    with pytest.raises(SystemExit):
        main([*args, "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "``" not in out and ":func:" not in out


def test_rules_test_with_an_unknown_rule_exits_2_and_suggests_the_closest(capsys):
    assert main(["rules", "test", "psychosis.bipolar1"]) == 2
    captured = capsys.readouterr()
    assert "psychosis.bipolar1: no rule with this id" in captured.err and "did you mean 'psychosis.bipolar-1'" in captured.err
    assert "passed" not in captured.out


def test_rules_test_with_a_known_rule_runs_only_its_examples(capsys):
    assert main(["rules", "test", "psychosis.bipolar-1", "--engine", "python"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("psychosis.bipolar-1:") and "0 failed" in out


def test_the_package_docstring_example_runs_as_a_doctest(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(screening, raise_on_error=False, verbose=False)
    assert result.attempted >= 3 and result.failed == 0


# ------------------------------------------------------------------ durable_rules cannot be used


def test_without_durable_auto_says_why_once_on_stderr_and_in_the_report():
    result = run("screen", str(EXAMPLES / "duo-mdma.yaml"), "--format", "json", code=NO_DURABLE)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["engine"] == "python" and report["flags"]
    assert "durable_rules is not installed" in report["engine_notice"]
    assert "reference evaluator screened this intake alone" in report["engine_notice"]
    notes = [line for line in result.stderr.splitlines() if "durable_rules" in line]
    assert len(notes) == 1 and notes[0].startswith("screening: note:")


def test_without_durable_the_text_report_names_the_fallback():
    result = run("screen", str(EXAMPLES / "duo-mdma.yaml"), code=NO_DURABLE)
    assert result.returncode == 0, result.stderr
    assert "Engine: durable_rules is not installed" in result.stdout


@pytest.mark.parametrize("engine", ["durable", "cross-check"])
def test_without_durable_asking_for_it_is_a_usage_error_with_the_reason(engine):
    result = run("screen", str(EXAMPLES / "duo-mdma.yaml"), "--engine", engine, code=NO_DURABLE)
    assert result.returncode == 2 and result.stdout == ""
    assert f"--engine {engine} cannot be used: durable_rules is not installed" in result.stderr


def test_the_library_warns_once_per_process_and_keeps_the_notice_on_every_report(monkeypatch, baseline_individual):
    reason = "durable_rules is not installed on Python 3.13.0 (its 2.0.28 release supports Python up to 3.12)"
    monkeypatch.setattr(durable, "durable_unavailable_reason", lambda: reason)
    screener._fallback_notice.cache_clear()
    try:
        with pytest.warns(engine_module.FallbackEngineWarning, match="reference evaluator"):
            first = screening.screen(baseline_individual)
        with warnings_recorded() as later:
            second = screening.screen(baseline_individual)
        assert first.engine == second.engine == "python"
        assert first.engine_notice == second.engine_notice and reason in first.engine_notice
        assert not [w for w in later if issubclass(w.category, engine_module.FallbackEngineWarning)]
        assert screening.screen(baseline_individual, engine="python").engine_notice is None  # asked for, not a fallback
    finally:
        screener._fallback_notice.cache_clear()


class warnings_recorded:
    """Every warning raised inside, none filtered out."""

    def __enter__(self):
        import warnings

        self._context = warnings.catch_warnings(record=True)
        caught = self._context.__enter__()
        warnings.simplefilter("always")
        return caught

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)


def test_with_durable_available_auto_reports_no_notice(baseline_individual):
    if engine_module.durable_unavailable_reason() is not None:
        pytest.skip("durable_rules does not import here")
    report = screening.screen(baseline_individual)
    assert report.engine != "python" and report.engine_notice is None
