"""The cross-check: two diverse channels (durable_rules and the reference evaluator) on every
screening; any difference fails the screening closed."""

from __future__ import annotations

from ..errors import EngineError
from ..rulebook.conditions import Values
from .base import Firing
from .durable import DurableEngine
from .reference import PythonEngine

__all__ = ["CrossCheckedEngine"]


class CrossCheckedEngine:
    """Two diverse channels: durable_rules and the reference evaluator run on every screening
    and must fire exactly the same rules for the same participants; any difference fails the
    screening closed. Neither alone can then miss a flag silently (durable_rules has dropped
    facts without an error; the reference evaluator is independent code over the same rules)."""

    name = "durable_rules, cross-checked"

    def __init__(self, durable: DurableEngine, reference: PythonEngine):
        self.durable = durable
        self.reference = reference

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]:
        expected = self.reference.fire(participants, substance, is_duo)
        found = self.durable.fire(participants, substance, is_duo)
        if found != expected:
            differ = sorted({f.rule_id for f in found ^ expected})
            raise EngineError(
                "the two engines disagree on " + ", ".join(differ) + "; the screening failed closed and no result was produced"
            )
        return found
