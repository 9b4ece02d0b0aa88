"""The pipeline: an intake screened into a report (``screener``), and many at once (``batch``)."""

from .screener import (
    MAX_INTAKE_BYTES,
    MAX_INTAKE_DEPTH,
    parse_intake,
    read_intake,
    screen,
    screen_json,
)

__all__ = [
    "screen",
    "screen_json",
    "parse_intake",
    "read_intake",
    "MAX_INTAKE_BYTES",
    "MAX_INTAKE_DEPTH",
]
