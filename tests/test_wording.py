"""The verdict-wording check: no text in the library's voice declares anyone safe or eligible,
or directs the clinician, however it is spelt.

Reproductions from issue 11: titles and override reasons were not checked at all; summaries
accepted "No contraindications found", "OK to proceed", "Clear to proceed", "Suitable
candidate", "Green light", "Ineligible", "Dose as planned"; a soft hyphen or a Cyrillic letter
got through ("elig\\u00adible").
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from screening import RulebookError
from screening.interop.cds_hooks import DEFAULT_OVERRIDE_REASONS
from screening.report.model import NOTICE
from screening.rulebook.loading import default_rules_dir, load
from screening.rulebook.wording import normalised, problems

ISSUE_PHRASES = [
    "No contraindications found",
    "OK to proceed",
    "Clear to proceed",
    "Suitable candidate",
    "Green light",
    "Ineligible",
    "Dose as planned",
]
MORE_PHRASES = [
    "The participant is eligible",
    "cleared for the session",
    "safe to dose",
    "is considered safe",
    "can safely proceed",
    "risk-free",
    "no risk",
    "approved",
    "fit to take part",
    "good to go",
    "all clear",
    "passed screening",
    "Do not proceed",
    "must not take part",
    "you should not participate",
    "proceed with the session",
    "go ahead",
    "exclude the participant",
    "not permitted to take part",
]
FIELDS = ["title", "summary", "explanation", "clinician_action", "limitations[0]", "override_reasons[0]"]


def disguised(phrase: str) -> list[str]:
    """The same phrase as a reader would see it, written to slip past a plain pattern."""
    middle = len(phrase) // 2
    cyrillic = phrase.replace("e", "\u0435").replace("o", "\u043e").replace("a", "\u0430")
    greek = phrase.replace("o", "\u03bf").replace("i", "\u03b9")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in phrase)
    return [
        phrase,
        phrase.upper(),
        phrase[:middle] + "\u00ad" + phrase[middle:],
        phrase[:middle] + "\u200b" + phrase[middle:],
        phrase[:middle] + "\u2060" + phrase[middle:],
        cyrillic,
        greek,
        fullwidth,
        phrase.replace(" ", "\n  "),
        phrase.replace(" ", "\u00a0"),
        phrase.replace("-", "\u2011"),
    ]


@pytest.mark.parametrize("phrase", ISSUE_PHRASES + MORE_PHRASES)
def test_every_disguise_of_a_verdict_is_caught_in_every_text(phrase):
    for field in FIELDS:
        for text in disguised(phrase):
            assert problems({field: f"Something to note. {text}."}), (field, repr(text))


def test_a_soft_hyphen_in_eligible_is_caught():
    assert problems({"summary": "elig\u00adible for the session"})
    assert normalised("elig\u00adible") == "eligible"


@pytest.mark.parametrize(
    "text",
    [
        "Consider reviewing the blood pressure reading before the session.",
        "The participant does not feel safe with the other participant.",
        "Discuss the plan for a safe setting and a sober facilitator.",
        "A clinician still reviews the whole intake.",
        "Reported as a dangerous combination; review the timing of the last dose.",
    ],
)
def test_ordinary_clinical_text_passes(text):
    assert problems({f: text for f in FIELDS}) == []


def test_a_source_quoted_as_written_is_allowed_in_explanations_and_limitations_only():
    quoted = 'The rule text reads "the client must not be under 21" (OAR 333-333-4000).'
    assert problems({"explanation": quoted, "limitations[0]": quoted}) == []
    assert problems({"explanation": "Outside quotes it must not pass; " + quoted})
    for field in ("title", "summary", "clinician_action", "override_reasons[0]"):
        assert problems({field: quoted}), field


def test_the_library_s_own_fixed_texts_pass():
    fixed = {"summary": NOTICE, "explanation": "No rule matched. A clinician still reviews the whole intake."}
    fixed |= {f"override_reasons[{i}]": r for i, r in enumerate(DEFAULT_OVERRIDE_REASONS)}
    assert problems(fixed) == []


# ---------------------------------------------------------------------------- through the loader


RULE = "relationship/pressure-to-take-part.yaml"


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def _edit(folder, **fields):
    path = folder / RULE
    data = yaml.safe_load(path.read_text())
    data.update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "Green light unless pressure is reported"),
        ("summary", "Ineligible: one participant reports pressure to take part."),
        ("summary", "No contraindic\u00adations found for this participant here."),
        ("summary", "The p\u0430rticipant is \u0435ligible when no pressure is reported."),
        ("override_reasons", ["Reviewed; OK to proceed"]),
        ("clinician_action", "Review the answers, then dose as planned."),
        ("limitations", ["Self-report only; the person is otherwise a suitable candidate."]),
    ],
)
def test_the_loader_refuses_a_rule_whose_own_text_decides(rules_copy, field, value):
    _edit(rules_copy, **{field: value})
    with pytest.raises(RulebookError) as caught:
        load(rules_copy)
    message = str(caught.value)
    assert f"{RULE}:" in message and (field in message), message


def test_the_shipped_rules_pass_the_wording_check():
    assert load().rules


# ---------------------------------------------------------------------------- directives with a fix (issue 15)

from screening.authoring.docs import render
from screening.rulebook.loading import SEVERITIES, STATUSES
from screening.rulebook.review import CHECKLIST
from screening.rulebook.wording import directive_problems


@pytest.mark.parametrize(
    "text, fix",
    [
        ("Do not give MDMA to this participant.", "review whether to give"),
        ("The participant is not suitable for MDMA.", "suitability is the clinician's judgement"),
        ("Never combine an MAOI with MDMA.", "attribute it to the sources"),
        ("MDMA should not be given with an SSRI.", "say who advises it and why"),
        ("Proceed with the session once the blood pressure is lower.", "leave that decision to the clinician"),
        ("Ayahuasca is contraindicated for this participant.", "not what the person is"),
    ],
)
def test_directive_and_verdict_phrases_are_refused_with_a_fix(text, fix):
    problems = directive_problems(text)
    assert problems and fix in problems[0]


@pytest.mark.parametrize(
    "text",
    [
        "Review with the prescriber whether the medication could be paused, and discuss going ahead unchanged as one option.",
        "The label contraindicates sumatriptan with MAO-A inhibitors.",
        "The sources treat this combination as contraindicated; consider reviewing it with the prescriber.",
    ],
)
def test_suggestions_and_attributed_statements_pass(text):
    assert directive_problems(text) == []


def test_a_rule_with_directive_wording_is_refused_at_its_line(tmp_path):
    root = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), root)
    path = root / "cardiovascular/recent-heart-attack-or-stroke.yaml"
    path.write_text(
        path.read_text().replace(
            'summary: "Reports a heart attack, stroke or TIA in the last 6 months."',
            'summary: "A heart attack in the last 6 months: never give a stimulant then."',
        )
    )
    with pytest.raises(RulebookError) as error:
        load(root)
    message = str(error.value)
    assert (
        "recent-heart-attack-or-stroke.yaml:" in message
        and "summary: 'never give' gives an order; attribute it to the sources" in message
    )


def test_the_library_s_own_fixed_texts_pass_the_guard(book):
    texts = [NOTICE, *SEVERITIES.values(), *STATUSES.values(), *CHECKLIST.values()]
    texts += [str(spec.get("label", "")) + " " + str(spec.get("description", "")) for spec in book.vocabulary.classes.values()]
    pages = render(book)
    texts += [pages["how-to-read-a-report.md"], pages["review-checklist.md"]]
    for text in texts:
        assert directive_problems(text) == [], text[:80]


# ---------------------------------------------------------------------------- issue 28, point 10

_MARK = __import__("re").compile(r"\[(?:R|S|NF|V)(?:/[A-Z]+)*\]")


def _shipped_rules():
    return [rule.meta for rule in load(default_rules_dir()).rules]


def test_no_title_reads_as_a_double_negative_when_its_answer_is_missing():
    """A flag raised only by a missing answer is titled 'Not answered: <title>'; a title that
    starts with 'No' would read 'Not answered: no ...'."""
    starting_with_no = [r.id for r in _shipped_rules() if r.title.lower().startswith("no ")]
    assert starting_with_no == []


def test_participant_rules_read_in_a_duo_never_say_this_participant():
    """Relationship findings appear among the pair's findings, where 'this participant' names nobody."""
    said = [r.id for r in _shipped_rules() if r.category == "relationship" and "This participant" in r.explanation]
    assert said == []


def test_source_marks_stay_in_limitations_not_in_what_a_clinician_reads_first():
    found = []
    for rule in _shipped_rules():
        texts = [rule.title, rule.summary, rule.explanation, rule.clinician_action]
        texts += [str(getattr(ref, "locator", "") or "") for ref in rule.references]
        found += [(rule.id, text) for text in texts if _MARK.search(text)]
    assert found == []
    assert not [r.id for r in _shipped_rules() if any("[R/NF]" in limitation for limitation in r.limitations)]


def test_mapp1_is_cited_from_the_journal_article_not_a_course_page():
    urls = {str(ref.url) for rule in _shipped_rules() for ref in rule.references}
    assert not any("londonspring" in url for url in urls)
    assert "https://www.nature.com/articles/s41591-021-01336-3" in urls
