"""What clinicians decided: ``model`` (decisions bound to a report), ``store`` (the
append-only, hash-chained store) and ``rescreen`` (what a re-screening changed).
"""

from .model import (
    OTHER,
    Decision,
    DecisionError,
    DecisionRecord,
    FlagDigest,
    ReportDigest,
    canonical_json,
    digest_report,
    effective_decisions,
    make_decision,
)

__all__ = [
    "Decision",
    "DecisionRecord",
    "DecisionError",
    "ReportDigest",
    "FlagDigest",
    "OTHER",
    "digest_report",
    "effective_decisions",
    "canonical_json",
    "make_decision",
]
