import copy
from pathlib import Path

import pytest

from screening.engines.engine import durable_available
from screening.rulebook import loading as rulebook

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

ENGINES = ["python"] + (["durable"] if durable_available() else [])


@pytest.fixture(scope="session")
def book():
    return rulebook.default()


@pytest.fixture
def baseline_individual(book):
    """The example baseline as an individual intake dict (every question answered, no findings)."""
    return {"session": copy.deepcopy(book.baseline["session"]), "participants": [copy.deepcopy(book.baseline["participant"])]}


@pytest.fixture
def baseline_duo(book):
    session = copy.deepcopy(book.baseline["session"])
    session["format"] = "duo"
    first = copy.deepcopy(book.baseline["participant"])
    first["relationship"] = copy.deepcopy(book.baseline["relationship"])
    second = copy.deepcopy(first)
    second["participant_id"] = "B"
    return {"session": session, "participants": [first, second]}


def pytest_terminal_summary(terminalreporter):
    """Say loudly when the decisions store was not tested on PostgreSQL."""
    import os

    if not os.environ.get("SCREENING_TEST_POSTGRES_URL"):
        terminalreporter.write_sep(
            "!",
            "PostgreSQL store tests were NOT RUN: SCREENING_TEST_POSTGRES_URL is not set "
            "(.ci/run starts a server with .ci/postgres.sh)",
            red=True,
        )


@pytest.fixture(autouse=True)
def fhir_structure_agrees_with_r4(monkeypatch):
    """Every FHIR resource any test reads is also checked with the full R4 models (fhir.resources,
        whose R4B QuestionnaireResponse and Bundle have R4's elements): what the reader's small
        structure check accepts must be valid R4. (The other way, test_fhir's broken structures: the
    full models do not check required code bindings such as QuestionnaireResponse.status.)"""
    try:
        from fhir.resources.R4B.bundle import Bundle
        from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
    except ImportError:
        return
    from screening.interop import fhir

    check = fhir.check_structure

    def checked_against_r4(resource, where):
        model = Bundle if resource.get("resourceType") == "Bundle" else QuestionnaireResponse
        try:
            model.model_validate(resource)
            valid = True
        except Exception:  # noqa: BLE001 - pydantic's ValidationError, or fhir.resources' own
            valid = False
        check(resource, where)
        assert valid, "the structure check accepted a resource that is not valid R4"

    monkeypatch.setattr(fhir, "check_structure", checked_against_r4)
