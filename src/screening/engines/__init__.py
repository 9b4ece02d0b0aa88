"""The engines: the rules matched against an intake's facts.

``facts`` (an intake as the flat values the rules test), ``engine`` (the reference evaluator, the
durable_rules host and the cross-check that runs both and fails closed when they differ).
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
