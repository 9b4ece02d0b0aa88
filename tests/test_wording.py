"""The wording guard: directive and verdict phrasing is refused in every text in the library's
own voice, with the fix suggested."""

import shutil

import pytest

from screening import RulebookError, load_rulebook
from screening.docs import render
from screening.report import NOTICE
from screening.review import CHECKLIST
from screening.rulebook import SEVERITIES, STATUSES, default_rules_dir
from screening.wording import directive_problems


@pytest.mark.parametrize("text, fix", [
    ("Do not give MDMA to this participant.", "review whether to give"),
    ("The participant is not suitable for MDMA.", "suitability is the clinician's judgement"),
    ("Never combine an MAOI with MDMA.", "attribute it to the sources"),
    ("MDMA should not be given with an SSRI.", "say who advises it and why"),
    ("Proceed with the session once the blood pressure is lower.", "leave that decision to the clinician"),
    ("Ayahuasca is contraindicated for this participant.", "not what the person is"),
])
def test_directive_and_verdict_phrases_are_refused_with_a_fix(text, fix):
    problems = directive_problems(text)
    assert problems and fix in problems[0]


@pytest.mark.parametrize("text", [
    "Review with the prescriber whether the medication could be paused, and discuss going ahead unchanged as one option.",
    "The label contraindicates sumatriptan with MAO-A inhibitors.",
    "The sources treat this combination as contraindicated; consider reviewing it with the prescriber.",
])
def test_suggestions_and_attributed_statements_pass(text):
    assert directive_problems(text) == []


def test_a_rule_with_directive_wording_is_refused_at_its_line(tmp_path):
    root = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), root)
    path = root / "cardiovascular/recent-heart-attack-or-stroke.yaml"
    path.write_text(path.read_text().replace(
        'summary: "Reports a heart attack, stroke or TIA in the last 6 months."',
        'summary: "A heart attack in the last 6 months: not suitable for a session."'))
    with pytest.raises(RulebookError) as error:
        load_rulebook(root)
    message = str(error.value)
    assert "recent-heart-attack-or-stroke.yaml:" in message and "summary: 'not suitable' passes a verdict" in message


def test_the_library_s_own_fixed_texts_pass_the_guard(book):
    texts = [NOTICE, *SEVERITIES.values(), *STATUSES.values(), *CHECKLIST.values()]
    texts += [str(spec.get("label", "")) + " " + str(spec.get("description", "")) for spec in book.vocabulary.classes.values()]
    pages = render(book)
    texts += [pages["how-to-read-a-report.md"], pages["review-checklist.md"]]
    for text in texts:
        assert directive_problems(text) == [], text[:80]
