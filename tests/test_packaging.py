"""The rulebook loads the same way from a checkout, an editable install and a built wheel."""

import subprocess
import sys
import venv
from pathlib import Path

from conftest import EXAMPLES, ROOT

import screening
from screening.rulebook.loading import default_rules_dir, load

SCREEN_EXAMPLE = (
    "import sys, screening; from screening.rulebook.loading import default_rules_dir;"
    "r = screening.screen(screening.read_intake(sys.argv[1]));"
    "print(default_rules_dir()); print(r.rulebook.sha256); print(len(r.flags))"
)


def test_this_install_finds_the_top_level_rules_folder():
    # the test suite runs from an editable install or a checkout: both read rules/ in place
    assert default_rules_dir() == ROOT / "rules"
    assert Path(screening.__file__).resolve().is_relative_to(ROOT / "src")


def test_a_checkout_without_install_screens_with_the_same_rulebook(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCREEN_EXAMPLE, str(EXAMPLES / "duo-mdma.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == load().sha256


def test_a_built_wheel_ships_the_rulebook_and_screens_in_a_fresh_environment(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], check=True, timeout=300)
    wheel = next(dist.glob("screening-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=600)
    result = subprocess.run(
        [str(python), "-c", SCREEN_EXAMPLE, str(EXAMPLES / "duo-mdma.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rules_dir, sha, flags = result.stdout.splitlines()
    assert rules_dir.startswith(str(env_dir)) and rules_dir.endswith("screening/rules")
    assert sha == load().sha256  # the same rule files, byte for byte
    assert int(flags) > 0
    cli = subprocess.run([str(env_dir / "bin" / "screening"), "rules", "check"], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr


def test_the_metadata_names_the_supported_pythons_and_ships_the_license():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"  # 3.10 cannot import rulebook.py (PEP 646 unpacking)
    versions = sorted(c.rsplit(" ", 1)[1] for c in project["classifiers"] if c.startswith("Programming Language :: Python :: 3."))
    assert versions == ["3.11", "3.12", "3.13"]
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
