"""README.md keeps two set-up commands, and CI runs the README's test command."""

import re

from conftest import ROOT


def commands():
    return re.findall(r"```(?:bash|sh)\n(.*?)\n```", (ROOT / "README.md").read_text(), re.DOTALL)


def test_readme_has_a_main_command_and_a_test_command():
    setup = [c for c in commands() if "pip install" in c]
    assert len(setup) == 2, setup
    assert "screening screen examples/" in setup[0]
    assert "pytest" in setup[1]


def test_ci_runs_the_readme_test_command():
    test_command = [c for c in commands() if "pip install" in c][1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_shows_the_example_duos_first_screen_as_the_library_writes_it():
    from screening import read_intake, render_text, screen

    shown = re.search(r"The example duo's first screen.*?```text\n(.*?)\n```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert shown is not None
    text = render_text(screen(read_intake(ROOT / "examples" / "duo-mdma.yaml"), engine="python"))
    first_screen = text.split("\nThis screening supports")[0].rstrip("\n")
    assert shown.group(1) == first_screen
    assert "Address first:" in shown.group(1)
