"""Errors the library raises.

    ScreeningError (ValueError)
    ├── IntakeError     the intake is malformed; names each offending field   (CLI exit 3)
    ├── RulebookError   a rule or vocabulary file is wrong; file:line of each  (CLI exit 2)
    └── EngineError     the rule engine failed; the screening fails closed    (also RuntimeError)

Messages never quote intake answers, so they are safe to log.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ScreeningError", "IntakeError", "RulebookError", "EngineError", "Problem"]


class ScreeningError(ValueError):
    """Base class of every error raised by screening."""


@dataclass(frozen=True)
class Problem:
    """One problem at a place: a file (or an intake field) and, when known, a line."""

    where: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.message}" if self.line else f"{self.where}: {self.message}"


class IntakeError(ScreeningError):
    """The intake could not be read or does not validate."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("invalid intake:\n" + "\n".join(f"  {p}" for p in problems))


class RulebookError(ScreeningError):
    """The rulebook has problems; it is not loaded at all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"rulebook has {len(problems)} {noun}:\n" + "\n".join(f"  {p}" for p in problems))


class EngineError(ScreeningError, RuntimeError):
    """The engine failed during a screening. No partial result is returned."""
