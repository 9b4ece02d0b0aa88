"""A file or program name the system refuses (too long) is a usage error: exit 2, a short
message, never a traceback and never exit 1 (which means "flagged" with --fail-on). Issue 27, 9."""

import pytest
import yaml
from conftest import EXAMPLES

from screening import screen
from screening.cli.commands import main
from screening.errors import RulebookError

LONG = "a" * 300


@pytest.mark.parametrize(
    "argv, says",
    [
        (["screen", LONG], "File name too long"),
        (["screen", str(EXAMPLES / "duo-mdma.yaml"), "--program", LONG], "unknown program"),
        (["fhir", "questionnaire", "--program", LONG], "unknown program"),
        (["serve", "--insecure-no-auth", "--program", LONG], "unknown program"),
    ],
)
def test_a_long_name_is_exit_2_with_a_short_message(capsys, argv, says):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and LONG not in err and len(err) < 600


def test_screen_with_a_long_program_name_raises_the_rulebook_error():
    intake = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())
    with pytest.raises(RulebookError, match="unknown program") as caught:
        screen(intake, program=LONG)
    assert LONG not in str(caught.value)
