"""Fuzzing the Python API and the command line (issue 11): for every generated or malformed
intake the outcome is one of the documented ones — a report, or an error naming fields — never
a traceback, never an answer quoted in an error, and the default engine's flags equal the
reference evaluator's.

Each mutation plants a unique marker: a string no rule or message contains, put where an
answer goes (a free-text field, a choice, a number's place, an unknown key's value). None may appear in any
error text, stderr or batch error record.
"""

from __future__ import annotations

import copy
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import TODAY, intakes, random_intake

from screening import IntakeError, ScreeningError, screen
from screening.cli.commands import main
from screening.pipeline.batch import screen_many

EXIT_CODES = {0, 1, 2, 3, 4}
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


def _paths(node, prefix=()):
    """Every (path, value) leaf of an intake dict, lists included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))
    yield prefix, node


def _set(node, path, value):
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _junk(marker: str, rng: random.Random):
    """A value that does not belong where it is put, carrying the marker where it can."""
    return rng.choice(
        [
            marker,
            marker.upper(),
            f"yes {marker}",
            [marker],
            {"yes": marker},
            {"value": marker},
            True,
            False,
            None,
            "",
            " ",
            "\u00a0",
            "\u202e" + marker,
            "\x1b[2J" + marker,
            5e-05,
            1e300,
            -1.0,
            float("1e-320"),
            10**400,
            -(10**30),
            0,
            "070",
            "2:06",
            "1e3",
            "9999-12-31",
            "0001-01-01",
            marker * 50,
        ]
    )


def mutate(intake: dict, rng: random.Random, marker: str) -> dict:
    """One to three mutations: a leaf replaced by junk, a key dropped, or an unknown key added."""
    out = copy.deepcopy(intake)
    for _ in range(rng.randint(1, 3)):
        leaves = [p for p, _ in _paths(out) if p]
        path = rng.choice(leaves)
        action = rng.random()
        try:
            if action < 0.7:
                _set(out, path, _junk(marker, rng))
            elif action < 0.85 and isinstance(path[-1], str):
                parent = out
                for key in path[:-1]:
                    parent = parent[key]
                parent.pop(path[-1], None)
            else:
                parent = out
                for key in path[:-1]:
                    parent = parent[key]
                if isinstance(parent, dict):  # an unknown key is named in the error: no marker
                    parent[f"unknown_{rng.randint(0, 99)}"] = marker
        except (KeyError, IndexError, TypeError):
            continue
    return out


def _flags(report):
    return [(f.rule_id, f.participant, f.severity) for f in report.flags]


@settings(max_examples=300, **SETTINGS)
@given(intake=intakes(), seed=st.integers(0, 2**32 - 1))
def test_the_python_api_reports_or_names_fields_and_never_quotes_an_answer(intake, seed):
    rng = random.Random(seed)
    marker = f"zqm{seed:x}q"
    bad = mutate(intake, rng, marker)
    try:
        report = screen(bad, today=TODAY)
    except IntakeError as error:
        assert marker not in str(error) and marker.upper() not in str(error)
        assert error.problems  # every rejection names at least one field
        return
    except ScreeningError as error:  # never an engine failure on valid input
        pytest.fail(f"{type(error).__name__} on an intake that validated: {error}")
    assert _flags(report) == _flags(screen(bad, engine="python", today=TODAY))


def test_the_command_line_exits_as_documented_on_800_fuzzed_intakes(tmp_path, capsys):
    rng = random.Random(1111)
    outcomes: dict[int, int] = {}
    for n in range(800):
        marker = f"zqc{n}q"
        intake = mutate(random_intake(rng), rng, marker) if n % 4 else random_intake(rng)
        path = tmp_path / f"intake-{n % 3}.{'json' if n % 2 else 'yaml'}"
        text = json.dumps(intake, default=str)
        path.write_text(text)
        code = main(["screen", str(path), "--format", rng.choice(["json", "text", "cds-hooks"]), "--today", "2026-11-20"])
        out, err = capsys.readouterr()
        outcomes[code] = outcomes.get(code, 0) + 1
        assert code in EXIT_CODES
        assert "Traceback" not in err and marker not in err
        assert (out == "") == (code not in (0, 1)), "a failed screening prints nothing on stdout"
    assert outcomes.get(0, 0) > 100 and outcomes.get(3, 0) > 100, outcomes


def test_a_fuzzed_batch_gives_one_record_per_line_and_quotes_no_answer():
    rng = random.Random(2222)
    lines, markers = [], []
    for n in range(300):
        marker = f"zqb{n}q"
        markers.append(marker)
        lines.append(
            json.dumps(mutate(random_intake(rng), rng, marker), default=str)
            if n % 3
            else json.dumps(random_intake(rng), default=str)
        )
    results = list(screen_many(lines, jobs=2, today=TODAY))
    assert len(results) == len(lines)
    for result in results:
        if hasattr(result, "error"):
            assert result.kind in ("intake", "blank")
            assert not any(m in result.error for m in markers)
