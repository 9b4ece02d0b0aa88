"""screening: screen intake answers for psychedelic-assisted sessions against published
contraindication criteria, for one person or a duo.

Every result is a flag with an explanation, its evidence and its sources, for a clinician to
review. The library supports a clinician's judgement; it never decides that anyone is
eligible or that a session is without risk.

Run from a checkout (the example intake is in ``examples/``)::

    >>> from screening import read_intake, render_text, screen
    >>> report = screen(read_intake("examples/individual-psilocybin.json"))
    >>> [(flag.severity, flag.rule_id) for flag in report.flags][:2]
    [('critical', 'medication.lithium-within-30-days'), ('warning', 'cardiovascular.blood-pressure-140-90')]
    >>> print(render_text(report).splitlines()[0])
    Screening report for the clinician: Psilocybin, individual session; participant A; medication timing is counted up to 2026-12-12
"""

from typing import TYPE_CHECKING, Any

from .errors import EngineError, IntakeError, RulebookError, ScreeningError
from .intake.models import Intake, Participant, Session
from .pipeline.screener import parse_intake, read_intake, screen
from .report.model import NOTICE, Flag, Report, render_text, report_schema
from .rulebook.loading import Rulebook
from .rulebook.loading import load as load_rulebook
from .version import __version__

if TYPE_CHECKING:  # imported lazily at run time (below); type checkers and IDEs see them here
    from .pipeline.batch import BatchError, screen_many


def __getattr__(name: str) -> Any:
    """Batch screening (multiprocessing) is imported on first use: a single screening's cold
    start does not pay for it."""
    if name in ("screen_many", "BatchError"):
        from .pipeline import batch

        return getattr(batch, name)
    raise AttributeError(f"module 'screening' has no attribute {name!r}")


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
