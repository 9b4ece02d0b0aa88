"""The reference evaluator: each rule's condition compiled once per rulebook into a Python
function (:func:`conditions.compile_conditions`). It is the reference in differential tests,
one of the cross-check's two channels, and the engine where durable_rules does not import
(Python 3.13+)."""

from __future__ import annotations

from ..rulebook import conditions
from ..rulebook.conditions import Values
from ..rulebook.loading import Rulebook
from .base import Firing, ordered_pairs

__all__ = ["PythonEngine", "TreeEngine"]


class PythonEngine:
    """The reference: each rule's guarded condition (substance and duo guards included),
    compiled once per rulebook into a Python function and called rule by rule."""

    name = "python"

    def __init__(self, rulebook: Rulebook):
        self.rules = rulebook.active
        self._participant = conditions.compile_conditions(
            [(rule.id, rule.guarded) for rule in self.rules if rule.meta.applies_to != "pair"]
        )
        pair = [(rule.id, rule.guarded) for rule in self.rules if rule.meta.applies_to == "pair"]
        self._pair = conditions.compile_conditions(pair, pair=True) if pair else None

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]:
        fired = {Firing(rule_id, values.pid) for values in participants for rule_id in self._participant(values)}
        if self._pair is not None:
            for me, peer in ordered_pairs(participants):
                fired.update(Firing(rule_id, me.pid, peer.pid) for rule_id in self._pair(me, peer))
        return fired


class TreeEngine(PythonEngine):
    """The same rules walked as trees by :func:`conditions.evaluate`: the plainest statement
    of the semantics, kept for the tests that hold the compiled evaluator to it."""

    name = "python-tree"

    def __init__(self, rulebook: Rulebook):
        self.rules = rulebook.active

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]:
        fired = set()
        for rule in self.rules:
            if rule.meta.applies_to == "pair":
                for me, peer in ordered_pairs(participants):
                    if conditions.evaluate(rule.guarded, {None: me, "self": me, "other": peer}):
                        fired.add(Firing(rule.id, me.pid, peer.pid))
            else:
                for values in participants:
                    if conditions.evaluate(rule.guarded, {None: values}):
                        fired.add(Firing(rule.id, values.pid))
        return fired
