"""The engine's stack bound (engine._Network) against durable_rules itself: a ruleset the bound
keeps within 64 never fails with error 303, and each packed ruleset of the shipped rulebook is
within the budget. Rules are packed into one ruleset per (substance, format) by this bound."""

from __future__ import annotations

import itertools
import json

import pytest

from screening.engines import durable as engine_module
from screening.engines.durable import STACK_BUDGET, durable_available
from screening.rulebook import loading as rulebook

pytestmark = pytest.mark.skipif(not durable_available(), reason="durable_rules does not import here")

_serial = itertools.count()


def _rule(expr: dict) -> dict:
    return {"all": [{"p": {"$and": [{"type": "p"}, expr]}}], "run": "noop"}


def _bound_and_outcome(rules: dict, fact: dict) -> tuple[int, bool]:
    """The bound for a ruleset, and whether durable_rules took a fact that matches every test."""
    network = engine_module._Network([*engine_module._FIXED_RULES.values(), *rules.values()])
    network.fits()
    bound = network._peak(network.root)
    host = engine_module._Host.create()
    name = f"limits-{next(_serial)}"
    host.set_rulesets({name: json.loads(json.dumps({**rules, **engine_module._FIXED_RULES}))})
    batch = json.dumps([{"sid": name, "type": engine_module.START_TYPE}, dict(fact, sid=name)])
    try:
        host.assert_facts(name, batch)
    except Exception as error:  # noqa: BLE001 (durable_rules raises a bare Exception with its error code)
        assert "303" in str(error)
        return bound, False  # no delete_state: after error 303 it can crash the process
    host.delete_state(name, name)
    return bound, True


@pytest.mark.parametrize("count", [62, 64, 65, 70])
def test_many_tests_matching_under_one_node_are_bounded_above_what_the_engine_takes(count):
    rules = {f"r{i}": _rule({"$gt": {"age": i}}) for i in range(count)}
    bound, accepted = _bound_and_outcome(rules, {"type": "p", "pid": "A", "age": 1000})
    assert accepted == (count <= 64)
    assert accepted or bound > 64


@pytest.mark.parametrize("count", [30, 31, 33, 40])
def test_any_branches_joining_again_are_bounded_above_what_the_engine_takes(count):
    rules = {f"r{i}": _rule({"$or": [{"$gt": {"a": i}}, {"$gt": {"b": i}}]}) for i in range(count)}
    bound, accepted = _bound_and_outcome(rules, {"type": "p", "pid": "A", "a": 1000, "b": 1000})
    assert accepted or bound > 64
    if bound <= 64:
        assert accepted


def test_each_packed_ruleset_of_the_rulebook_is_within_the_budget():
    book = rulebook.default()
    engine = engine_module.DurableEngine(book)
    for substance in ("psilocybin", "mdma", "ketamine", "lsd", "ayahuasca", "dmt"):
        for duo in (False, True):
            for name in engine._rulesets_for(substance, duo):
                definition = engine._host.get_ruleset(name)._definition
                network = engine_module._Network(list(definition.values()))
                assert network.fits()
                assert network._peak(network.root) <= STACK_BUDGET


def test_a_rule_too_complex_for_one_ruleset_is_a_rulebook_error():
    from screening.errors import RulebookError

    huge = {"all": [{"p": {"$and": [{"type": "p"}, {"$or": [{"$gt": {"a": i}} for i in range(80)]}]}}], "run": "flag:0"}
    book = rulebook.default()
    with pytest.raises(RulebookError, match="more engine tests"):
        engine_module._pack([(0, huge)], book.active)


def test_rules_check_reports_a_rule_that_fits_no_ruleset_even_alone(monkeypatch):
    book = rulebook.default()
    rule = book.active[0]
    wide = {"all": [{"p": {"$and": [{"type": "p"}, {"$or": [{"$gt": {f"k{i}": 1}} for i in range(60)]}]}}], "run": "flag:0"}
    monkeypatch.setattr(engine_module, "_rule_cost", lambda definition: 0)  # past the older per-rule count
    (problem,) = engine_module.limit_problems([rule], [wide])
    assert problem.where == rule.path and "more engine tests" in problem.message
    assert engine_module.limit_problems([rule], [engine_module.compile_rule(rule, 0)]) == []
