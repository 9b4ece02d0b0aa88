"""The rulebook loader refuses what it cannot check: YAML aliases and unknown keys in rulebook.yaml.

Reproductions from issue 11: 1 KB of aliases in rulebook.yaml took 10 s and 1.15 GB to expand;
an unknown (say misspelt) key there was ignored.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from screening import RulebookError
from screening.rulebook.loading import default_rules_dir, load


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_aliases_in_rulebook_yaml_are_refused_with_file_and_line(rules_copy):
    path = rules_copy / "rulebook.yaml"
    path.write_text(path.read_text() + _bomb())
    result = subprocess.run(
        [sys.executable, "-m", "screening", "rules", "check", "--rules", str(rules_copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "rulebook.yaml:" in result.stderr and "YAML aliases (*name) are not accepted" in result.stderr


def test_an_alias_in_a_rule_file_is_refused_with_file_and_line(rules_copy):
    rule = rules_copy / "relationship" / "pressure-to-take-part.yaml"
    text = rule.read_text().replace("title:", "title: &t", 1).replace("summary:", "x_summary: *t\nsummary:", 1)
    rule.write_text(text)
    with pytest.raises(RulebookError) as caught:
        load(rules_copy)
    assert "relationship/pressure-to-take-part.yaml:" in str(caught.value) and "aliases" in str(caught.value)


def test_an_unknown_key_in_rulebook_yaml_is_refused_with_a_did_you_mean(rules_copy):
    path = rules_copy / "rulebook.yaml"
    path.write_text(path.read_text() + "maintainer: someone\n")
    with pytest.raises(RulebookError) as caught:
        load(rules_copy)
    message = str(caught.value)
    assert "rulebook.yaml:" in message and "unknown key 'maintainer'" in message and "did you mean 'maintainers'" in message


def test_the_shipped_rulebook_has_no_aliases_or_unknown_keys():
    assert load().rules
