"""Checked by mypy --strict in .ci/run (never run): the public API as a type checker sees it.

A user's code like this must type-check: batch names resolve although they are imported
lazily, screen_fhir returns a Report, and the engine is a closed choice.
"""

from typing import assert_type

from screening import BatchError, Report, screen, screen_many
from screening.interop.fhir import screen_fhir

report = screen({"session": {}, "participants": []}, engine="python")
assert_type(report, Report)
assert_type(screen_fhir({"resourceType": "QuestionnaireResponse"}), Report)
for result in screen_many([], jobs=1, engine="auto"):
    if isinstance(result, BatchError):
        assert_type(result.line, int)

screen({}, engine="durabel")  # type: ignore[arg-type]  # a typo in the engine is a type error
