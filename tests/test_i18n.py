"""Languages: the Dutch catalogue, the language switch on every output, and the English default unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("babel")

from screening import i18n
from screening.authoring import translations
from screening.interop import fhir
from screening.pipeline.screener import read_intake, screen
from screening.report.html import render_html
from screening.report.model import render_participant_text, render_text
from screening.rulebook import wording
from screening.rulebook.loading import default

ROOT = Path(__file__).resolve().parents[1]
DUO = ROOT / "examples" / "duo-mdma.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "screening", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def duo_report():  # type: ignore[no-untyped-def]
    return screen(read_intake(DUO))


def test_the_catalogues_are_current_and_pass_the_check() -> None:
    problems, lines = translations.check(default())
    assert problems == []
    assert (
        lines and lines[0].startswith("nl: ") and "not yet reviewed by a clinician who reads it" in lines[0]
    )  # no translation check recorded


def test_the_committed_mo_is_the_po_compiled() -> None:
    mo = i18n.LOCALES / "nl" / "LC_MESSAGES" / "screening.mo"
    assert mo.read_bytes() == translations.compiled_mo("nl")


def test_the_dutch_catalogue_says_it_is_unreviewed_and_has_a_glossary() -> None:
    po = (i18n.LOCALES / "nl" / "LC_MESSAGES" / "screening.po").read_text(encoding="utf-8")
    assert translations.REVIEW_HEADER in po.split("msgid", 1)[0]
    glossary = (i18n.LOCALES / "nl" / "glossary.md").read_text(encoding="utf-8")
    assert "| facilitator | begeleider |" in glossary and "| participant | deelnemer |" in glossary


def test_everything_a_participant_reads_is_translated() -> None:
    found = translations.coverage(default(), "nl")
    assert found.missing_for_participants == []
    assert found.by_kind["intake"][0] == found.by_kind["intake"][1]
    assert found.by_kind["participant"][0] == found.by_kind["participant"][1]


@pytest.mark.parametrize(
    "text",
    [
        "Het is veilig om door te gaan.",
        "U bent geschikt voor de sessie.",
        "Goedgekeurd.",
        "U mag niet meedoen.",
        "Zonder risico.",
    ],
)
def test_dutch_verdicts_and_orders_are_refused(text: str) -> None:
    assert wording.problems({"summary": text}, lang="nl")


def test_a_plain_dutch_sentence_passes() -> None:
    assert wording.problems({"summary": "Uw begeleider bespreekt dit met u en uw arts."}, lang="nl") == []


def test_an_unknown_language_names_the_available_ones() -> None:
    with pytest.raises(i18n.UnknownLanguage, match="available: en, nl"):
        i18n.translator("xx")
    result = run("screen", str(DUO), "--lang", "fr")
    assert result.returncode == 2 and "available: en, nl" in result.stderr
    assert run("fhir", "questionnaire", "--lang", "fr").returncode == 2


def test_a_missing_translation_falls_back_to_english_marked() -> None:
    t = i18n.translator("nl")
    assert t("Severity") == "Ernst"
    assert t("A text nobody translated") == "[nog niet vertaald] A text nobody translated"
    assert not t.has("A text nobody translated") and t.has("Severity")


def test_english_is_the_default_and_unchanged(duo_report) -> None:  # type: ignore[no-untyped-def]
    assert render_text(duo_report, lang="en") == render_text(duo_report)
    assert duo_report.in_language("en").to_json() == duo_report.to_json()
    assert '"language"' not in duo_report.to_json()
    assert '<html lang="en">' in render_html(duo_report)


def test_the_participant_copy_in_dutch(duo_report) -> None:  # type: ignore[no-untyped-def]
    copy = render_participant_text(duo_report.view_for("B"), lang="nl")
    assert copy.startswith("Uw antwoorden bij de screening")
    assert "begeleider" in copy and "[nog niet vertaald]" not in copy
    assert "facilitator" not in copy
    page = render_html(duo_report.view_for("A"), lang="nl")
    assert '<html lang="nl">' in page and "[nog niet vertaald]" not in page


def test_the_clinician_report_in_dutch_has_dutch_headings_dates_and_severities(duo_report) -> None:  # type: ignore[no-untyped-def]
    text = render_text(duo_report, lang="nl")
    assert text.startswith("Screeningsrapport voor de clinicus: MDMA, duo sessie")
    assert "15 januari 2027" in text and "WAARSCHUWING" in text and "Waarom dit ertoe doet:" in text
    page = render_html(duo_report, lang="nl")
    assert '<html lang="nl">' in page and "Samenvatting" in page


def test_the_json_records_its_language_and_keeps_the_report_id(duo_report) -> None:  # type: ignore[no-untyped-def]
    result = run("screen", str(DUO), "--lang", "nl", "--format", "json")
    data = json.loads(result.stdout)
    assert data["language"] == "nl" and data["report_id"] == duo_report.report_id


def test_the_dutch_questionnaire_has_the_same_link_ids_and_codes() -> None:
    english, dutch = fhir.questionnaire(), fhir.questionnaire(lang="nl")
    assert dutch["language"] == "nl" and "language" not in english

    def shape(items: list[dict]) -> list:  # type: ignore[type-arg]
        return [
            (i["linkId"], [o["valueCoding"]["code"] for o in i.get("answerOption", [])], shape(i.get("item", []))) for i in items
        ]

    assert shape(dutch["item"]) == shape(english["item"])
    texts = [i["text"] for i in dutch["item"]]
    assert "Hulp die u tijdens de sessie nodig heeft." in texts
    assert not any("[nog niet vertaald]" in json.dumps(i) for i in dutch["item"])
    result = run("fhir", "questionnaire", "--lang", "nl")
    assert json.loads(result.stdout) == dutch


def test_a_dutch_response_screens_as_the_english_one(duo_report) -> None:  # type: ignore[no-untyped-def]
    bundle = fhir.response_from_intake(read_intake(DUO))
    text = json.dumps(bundle)
    for english, dutch in (("Yes", "Ja"), ("No", "Nee")):
        text = text.replace(f'"display": "{english}"', f'"display": "{dutch}"')
    again = fhir.screen_fhir(json.loads(text))
    assert again.report_id == duo_report.report_id


def test_rules_check_reports_translation_coverage() -> None:
    result = run("rules", "check")
    assert result.returncode == 0
    line = next(x for x in result.stdout.splitlines() if x.startswith("translations nl:"))
    assert "missing" in line and "need review" in line
