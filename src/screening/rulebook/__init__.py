"""The rulebook: the rules as data, loaded and validated once.

``loading`` (rule files, validation, the rulebook cache), ``conditions`` (the ``when:`` language),
``parameters``, ``programs`` (a framework's adaptation of the rulebook), ``interactions`` (the
decided medication-by-substance matrix), ``wording`` (the voice checks) and ``review`` (sign-off
records). Reads the intake layer's field catalogue; runs no screening.
"""

from .loading import (
    CATEGORIES,
    Rule,
    Rulebook,
    default_rules_dir,
    load,
)

__all__ = [
    "Rule",
    "Rulebook",
    "load",
    "default_rules_dir",
    "CATEGORIES",
]
