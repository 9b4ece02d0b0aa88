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
