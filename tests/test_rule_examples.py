"""Every rule's examples, on every engine: the rulebook's own specification, run as tests."""

from pathlib import Path

import pytest
from conftest import ENGINES

from screening.authoring.examples import run_example
from screening.rulebook import loading as rulebook

ROOT = Path(__file__).resolve().parents[1]
BOOK = rulebook.default()
CASES = [
    pytest.param(engine, rule.id, index, id=f"{engine}-{rule.id}/{example.name}")
    for engine in ENGINES
    for rule in BOOK.active
    for index, example in enumerate(rule.meta.examples)
]


@pytest.mark.parametrize(("engine", "rule_id", "index"), CASES)
def test_rule_example(engine, rule_id, index):
    rule = BOOK.rule(rule_id)
    example = rule.meta.examples[index]
    result = run_example(BOOK, rule, example, engine)
    assert result.passed, f"{rule.path}: example {example.name!r} expected {example.expect}, got: {result.detail}"


@pytest.mark.parametrize("rule_id", [r.id for r in BOOK.rules])
def test_rule_has_an_example_that_flags_and_one_that_does_not(rule_id):
    kinds = {e.expect for e in BOOK.rule(rule_id).meta.examples}
    assert kinds == {"flag", "no-flag"}


@pytest.mark.parametrize("rule_id", [r.id for r in BOOK.rules])
def test_rule_has_a_docs_page(rule_id):
    rule = BOOK.rule(rule_id)
    page = ROOT / "docs" / "rules" / rule.meta.category / f"{rule.id}.md"
    assert page.is_file(), f"no page for {rule_id}: run `screening docs build`"
