"""The engines: the rules matched against an intake's facts.

``facts`` (an intake as the flat values the rules test), ``reference`` (the compiled reference
evaluator), ``durable`` (the durable_rules host), ``crosscheck`` (both, and they must agree),
``base`` (what they share) and ``engine`` (choosing and building one per rulebook).
"""

from .engine import (
    CrossCheckedEngine,
    DurableEngine,
    Engine,
    EngineName,
    FallbackEngineWarning,
    Firing,
    PythonEngine,
    durable_available,
    durable_unavailable_reason,
    fact_text,
    get_engine,
)

__all__ = [
    "Firing",
    "Engine",
    "EngineName",
    "PythonEngine",
    "DurableEngine",
    "CrossCheckedEngine",
    "FallbackEngineWarning",
    "durable_available",
    "durable_unavailable_reason",
    "get_engine",
    "fact_text",
]
