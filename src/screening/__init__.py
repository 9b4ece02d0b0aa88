"""screening: screen intake answers for psychedelic-assisted sessions against published
contraindication criteria, for one person or a duo.

Every result is a flag with an explanation, its evidence and its sources, for a clinician to
review. The library supports a clinician's judgement; it never decides that anyone is
eligible or that a session is without risk.

    >>> from screening import screen, read_intake
    >>> report = screen(read_intake("examples/individual-psilocybin.json"))
    >>> print(render_text(report))
"""

from .errors import EngineError, IntakeError, RulebookError, ScreeningError
from .intake import Intake, Participant, Session
from .report import NOTICE, Flag, Report, render_text, report_schema
from .rulebook import Rulebook, load as load_rulebook
from .screener import parse_intake, read_intake, screen


def __getattr__(name: str):
    """Batch screening (multiprocessing) is imported on first use: a single screening's cold
    start does not pay for it."""
    if name in ("screen_many", "BatchError"):
        from . import batch

        return getattr(batch, name)
    raise AttributeError(f"module 'screening' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "screen",
    "screen_many",
    "BatchError",
    "read_intake",
    "parse_intake",
    "load_rulebook",
    "render_text",
    "report_schema",
    "Intake",
    "Participant",
    "Session",
    "Report",
    "Flag",
    "Rulebook",
    "NOTICE",
    "ScreeningError",
    "IntakeError",
    "RulebookError",
    "EngineError",
    "__version__",
]
