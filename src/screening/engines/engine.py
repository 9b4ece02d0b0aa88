"""Choosing an engine: ``get_engine(rulebook, name)`` builds each engine once per rulebook and
process ('auto' is the cross-check where durable_rules imports, else the reference evaluator).

The engines themselves: :mod:`.reference` (the compiled reference evaluator), :mod:`.durable`
(the durable_rules host) and :mod:`.crosscheck` (both, voting); :mod:`.base` is what they share.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Literal, TypeVar

from ..errors import EngineError
from ..rulebook.loading import Rulebook
from .base import ENGINE_NAMES, Engine, EngineName, FallbackEngineWarning, Firing
from .crosscheck import CrossCheckedEngine
from .durable import DurableEngine, compile_rule, durable_available, durable_unavailable_reason, fact_text, limit_problems
from .reference import PythonEngine, TreeEngine

__all__ = [
    "Firing",
    "Engine",
    "EngineName",
    "PythonEngine",
    "TreeEngine",
    "DurableEngine",
    "CrossCheckedEngine",
    "FallbackEngineWarning",
    "durable_available",
    "durable_unavailable_reason",
    "get_engine",
    "forget_engines",
    "resolve_engine_name",
    "ENGINE_NAMES",
    "fact_text",
    "compile_rule",
    "limit_problems",
]


_ENGINES: dict[tuple[str, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def forget_engines() -> None:
    """Drop every built engine (a forked batch worker builds its own)."""
    _ENGINES.clear()


def _reset_after_fork() -> None:
    """A child forked while another thread held a lock (or was inside the engine) would
    deadlock or read half-updated engine state: it starts with fresh locks and no engines."""
    global _ENGINES_LOCK
    _ENGINES_LOCK = threading.Lock()
    _ENGINES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def resolve_engine_name(name: str) -> str:
    """'auto' is the cross-check where durable_rules imports, else the reference evaluator."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}: use {', '.join(ENGINE_NAMES)}")
    if name == "auto":
        return "cross-check" if durable_available() else "python"  # screen() says why in the report
    return name


def get_engine(rulebook: Rulebook, name: EngineName | str = "auto") -> Engine:
    """The engine for a rulebook, built once per process: 'auto' (the default: the cross-check
    where durable_rules imports, the reference evaluator alone elsewhere), 'cross-check'
    (both, and they must agree), 'durable' or 'python' (one engine alone)."""
    name = resolve_engine_name(name)
    key = (rulebook.sha256 + str(id(rulebook)), name)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _build(rulebook, name)
        return _ENGINES[key]


def _build(rulebook: Rulebook, name: str) -> Engine:
    if name in ("durable", "cross-check") and not durable_available():
        raise EngineError(f"{durable_unavailable_reason()}; use engine='python'")
    if name == "python":
        return _cached(rulebook, "python", PythonEngine, lambda: PythonEngine(rulebook))
    durable = _cached(rulebook, "durable", DurableEngine, lambda: DurableEngine(rulebook))
    if name == "durable":
        return durable
    reference = _cached(rulebook, "python", PythonEngine, lambda: PythonEngine(rulebook))
    return CrossCheckedEngine(durable, reference)


_E = TypeVar("_E", PythonEngine, DurableEngine)


def _cached(rulebook: Rulebook, name: Literal["durable", "python"], kind: type[_E], make: Callable[[], _E]) -> _E:
    """One engine of each kind per rulebook, shared by the cross-check and the single modes
    (the caller holds _ENGINES_LOCK)."""
    key = (rulebook.sha256 + str(id(rulebook)), name)
    engine = _ENGINES.get(key)
    if not isinstance(engine, kind):
        engine = make()
        _ENGINES[key] = engine
    return engine
