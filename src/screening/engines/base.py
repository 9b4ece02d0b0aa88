"""What every engine shares: the names an engine is chosen by, what a fired rule is, and the
interface (``fire``) the pipeline calls."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from ..rulebook.conditions import Values

__all__ = ["EngineName", "ENGINE_NAMES", "FallbackEngineWarning", "Firing", "Engine", "ordered_pairs"]

EngineName = Literal["auto", "cross-check", "durable", "python"]
ENGINE_NAMES: tuple[str, ...] = ("auto", "cross-check", "durable", "python")


class FallbackEngineWarning(UserWarning):
    """engine='auto' ran the reference evaluator alone because durable_rules cannot be used."""


@dataclass(frozen=True, order=True)
class Firing:
    rule_id: str
    pid: str
    other: str | None = None  # the other participant, for pair rules


class Engine(Protocol):
    name: str

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]: ...


def ordered_pairs(participants: list[Values]) -> Iterator[tuple[Values, Values]]:
    return itertools.permutations(participants, 2)
