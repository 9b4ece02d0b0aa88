"""The intake Questionnaire in a real forms renderer: LHC-Forms (npm ``lforms`` 40.1.3) in headless
Chromium renders the English and the Dutch Questionnaire, and a program's in both, is filled in
through its own widgets, and its exported QuestionnaireResponses are screened by the library: the
same flags and intake hash as the native intake, with LHC-Forms' own validity check clean. A second
medication is added as a participant adds it: with the "add another" button LHC-Forms shows under
the repeating group (it has no API for adding a repetition, and adds none after an empty one). That
button's label is "+ " and the group's own text, with no other way to set it (lforms' templates:
``buttonLabel= '+ {{item._text}}'``), so the group's text is short.

Dates: LHC-Forms 40.1.3 has no supported option for the date format. ``entryFormat`` only sets the
field's placeholder; the format (``MM/dd/yyyy``) is a constant in its built-in language table and a
typed date is parsed with JavaScript's ``new Date(text)`` (month first) and kept only when it
formats back to the same text. So a Dutch reader's 01-11-2026 is dropped and 01/11/2026 becomes
11 January (the last test shows it). A Dutch deployment has to patch the bundle: this test serves
``webcomponent/main.js`` to the Dutch page with the format ``dd-MM-yyyy``, a ``DD-MM-JJJJ``
placeholder and a parser for that format, and fails (rather than silently testing the unpatched
form) when a new lforms no longer has the patched code.

lforms comes from npm, installed by .ci/run into .ci/node (not committed):
``npm install --no-save --no-audit --no-fund --prefix .ci/node axe-core@4 lforms@40.1.3``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (test extra)")

from browser_support import CHROMIUM, chromium_or_skip
from conftest import EXAMPLES

from screening import screen
from screening.interop import fhir
from screening.pipeline.screener import read_intake

ROOT = Path(__file__).resolve().parent.parent
LFORMS = ROOT / ".ci" / "node" / "node_modules" / "lforms" / "dist" / "lforms"

chromium_or_skip("BROWSER TESTS")
if not (LFORMS / "webcomponent" / "main.js").exists():
    pytest.skip(
        f"!! LHC-FORMS TESTS NOT RUN: no lforms at {LFORMS} "
        "(npm install --no-save --prefix .ci/node lforms@40.1.3; .ci/run does) !!",
        allow_module_level=True,
    )

PAGE = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>LHC-Forms</title></head><body>
<div id="form"></div>
<link rel="stylesheet" href="webcomponent/styles.css">
<script src="webcomponent/assets/lib/zone.min.js"></script><script src="webcomponent/runtime.js"></script>
<script src="webcomponent/polyfills.js"></script><script src="webcomponent/main.js"></script>
<script src="fhir/R4/lformsFHIR.min.js"></script></body></html>"""

# What a Dutch page changes in lforms 40.1.3's bundle (see the module's docstring).
DUTCH_DATES = (
    (b'"dateFormat":"MM/dd/yyyy"', b'"dateFormat":"dd-MM-yyyy"'),
    (b'"placeholderDate":"MM/DD/YYYY"', b'"placeholderDate":"DD-MM-JJJJ"'),
    (
        b"parseDate(n){return new Date(n)}",
        rb"parseDate(n){const d=/^(\d{2})-(\d{2})-(\d{4})$/.exec(n);return d?new Date(+d[3],d[2]-1,+d[1]):new Date(n)}",
    ),
)
DATE_TYPED = {"en": "%m/%d/%Y", "nl": "%d-%m-%Y"}  # as a reader of each language types a date

# Enters the answers in the page (one Playwright call per form): each choice picked by its
# displayed text through LHC-Forms' own list widget (autocomplete-lhc's setFieldToListValue, what
# a click on the list does; one real click is made in the first test), each number or text typed
# into its field; a follow-up question is waited for until its enableWhen shows it.
ENTER = """async steps => {
  const tick = () => new Promise(resolve => setTimeout(resolve, 0));
  const find = async (id, settle) => {
    if (settle) await tick();  // a field shown by enableWhen is re-rendered once before it keeps a value
    let input = document.getElementById(id);
    for (let i = 0; !input && i < 100; i++) { await tick(); input = document.getElementById(id); }
    return input;
  };
  const missed = [];
  for (const [id, kind, value] of steps) {
    const input = await find(id, kind === 'text');
    if (!input) { missed.push(id + ': not shown'); continue; }
    if (kind === 'text') {
      input.focus(); input.value = value;
      input.dispatchEvent(new Event('input', {bubbles: true})); input.dispatchEvent(new Event('change', {bubbles: true}));
      input.blur(); continue;
    }
    input.autocomp.setFieldToListValue(value);
    const picked = input.autocomp.getSelectedItems();
    if (picked.length !== 1 || picked[0] !== value) missed.push(id + ': no option ' + value);
  }
  await tick();
  return missed;
}"""


def _handler(dutch_main_js: bytes) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        """lforms' dist folder under /en/ as published and under /nl/ with the Dutch date patch."""

        def log_message(self, *args: Any) -> None:
            pass

        def translate_path(self, path: str) -> str:
            return super().translate_path(path.removeprefix("/nl").removeprefix("/en"))

        def do_GET(self) -> None:
            if self.path.endswith("/page.html"):
                body, kind = PAGE, "text/html"
            elif self.path == "/nl/webcomponent/main.js":
                body, kind = dutch_main_js, "text/javascript"
            else:
                return super().do_GET()
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class LForms:
    """One Chromium and one static server for the module; a fresh page per form."""

    def __init__(self, browser: Any, url: str):
        self.browser = browser
        self.url = url

    def open(self, questionnaire: dict[str, Any], lang: str) -> Any:
        page = self.browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{self.url}/{lang}/page.html")
        page.wait_for_function("() => !!(window.LForms && LForms.Util && LForms.Util.getFormFHIRData)")
        page.evaluate("async q => { await LForms.Util.addFormToPage(q, 'form', {fhirVersion: 'R4'}); }", questionnaire)
        assert not errors, errors
        return page

    def fill(self, page: Any, questionnaire: dict[str, Any], response: dict[str, Any], lang: str) -> None:
        """Answers the form as ``response`` (the library's own response for the intake) does: each
        choice picked by its displayed text in this form's language, numbers and text entered,
        dates typed as a reader of ``lang`` types them."""
        displays = {
            item["linkId"]: {o["valueCoding"]["code"]: o["valueCoding"]["display"] for o in item.get("answerOption", [])}
            for item in _items(questionnaire["item"])
        }
        steps: list[list[str]] = []
        dates: list[tuple[str, str]] = []
        medications = 1  # the repeating group's repetitions shown: one until "add another" is clicked
        for link_id, element_id, answer in _answers(response["item"]):
            repetition = int(element_id.split("/")[1])
            if link_id.startswith("medications.") and repetition > medications:
                self._enter(page, steps)  # the medication before answered: LHC-Forms adds nothing after an empty one
                steps = []
                self._add_another(page, "medications", repetition)
                medications = repetition
            if "valueCoding" in answer:
                steps.append([element_id, "choice", displays[link_id][answer["valueCoding"]["code"]]])
            elif "valueDate" in answer:
                dates.append((element_id, answer["valueDate"]))
            else:
                (value,) = [v for k, v in answer.items() if k.startswith("value")]
                value = value["value"] if isinstance(value, dict) else value
                steps.append([element_id, "text", _number(value) if isinstance(value, int | float) else str(value)])
        self._enter(page, steps)
        for element_id, iso in dates:
            typed = _date_typed(iso, lang)
            field = page.locator(f'[id="{element_id}"] input')
            field.click()
            page.keyboard.type(typed)
            page.keyboard.press("Tab")
            assert field.input_value() == typed

    @staticmethod
    def _enter(page: Any, steps: list[list[str]]) -> None:
        missed = page.evaluate(ENTER, steps)
        assert not missed, missed

    @staticmethod
    def _add_another(page: Any, link_id: str, repetition: int) -> None:
        """Adds repetition ``repetition`` of a repeating group with the form's own "add another"
        button, which LHC-Forms shows under the group's last repetition."""
        button = page.locator(f'[id="add-{link_id}/{repetition - 1}"]')
        button.click()
        page.locator(f'[id="{link_id}.name/{repetition}/1"]').wait_for()

    @staticmethod
    def export(page: Any) -> tuple[dict[str, Any], list[str]]:
        """LHC-Forms' QuestionnaireResponse and what its validity check lists. (The third argument
        is a selector for the form's container; the ``wc-lhc-form`` element itself is not found.)"""
        response = page.evaluate("() => LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', '#form')")
        problems = page.evaluate("() => LForms.Util.checkValidity('#form')") or []
        return response, problems


def _items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _items(item.get("item") or [])


def _answers(items: list[dict[str, Any]], path: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(linkId, LHC-Forms' element id, answer) in the form's order; LHC-Forms names an element
    by its linkId and one repetition number per level (a repeating group's second repetition is
    ``/2``, its questions ``/2/1``)."""
    seen: dict[str, int] = {}
    for item in items:
        seen[item["linkId"]] = seen.get(item["linkId"], 0) + 1
        here = f"{path}/{seen[item['linkId']]}"
        for answer in item.get("answer") or []:
            yield item["linkId"], item["linkId"] + here, answer
        yield from _answers(item.get("item") or [], here)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _date_typed(iso: str, lang: str) -> str:
    return dt.date.fromisoformat(iso).strftime(DATE_TYPED[lang])


def _responses(resource: dict[str, Any]) -> list[dict[str, Any]]:
    if resource["resourceType"] == "Bundle":
        return [entry["resource"] for entry in resource["entry"]]
    return [resource]


def _flags(report: Any) -> list[tuple[str, str | None, tuple[str, ...]]]:
    return [(f.rule_id, f.participant, tuple(f.participants)) for f in report.flags]


def _same_screening(report: Any, native: Any) -> None:
    assert _flags(report) == _flags(native)
    assert [(m.participant, m.field) for m in report.missing_information] == [
        (m.participant, m.field) for m in native.missing_information
    ]
    assert report.intake_sha256 == native.intake_sha256


def _answer(response: dict[str, Any], link_id: str) -> dict[str, Any]:
    (answer,) = [a for lid, _, a in _answers(response["item"]) if lid == link_id]
    return answer


@pytest.fixture(scope="module")
def lforms() -> Iterator[LForms]:
    main_js = (LFORMS / "webcomponent" / "main.js").read_bytes()
    for published, dutch in DUTCH_DATES:
        assert main_js.count(published) == 1, f"lforms changed: {published!r} is not in its bundle once; see the docstring"
        main_js = main_js.replace(published, dutch)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_handler(main_js), directory=str(LFORMS)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield LForms(browser, f"http://127.0.0.1:{server.server_address[1]}")
        finally:
            browser.close()
            server.shutdown()
            server.server_close()


def _fill_and_screen(
    lforms: LForms, data: dict[str, Any], lang: str, program: str | None = None
) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """Fills one form per participant (each person their own, as in a duo) and screens the exports."""
    questionnaire = fhir.questionnaire(program, lang=lang)
    exports: list[dict[str, Any]] = []
    problems: list[str] = []
    for own in _responses(fhir.response_from_intake(copy.deepcopy(data))):
        page = lforms.open(questionnaire, lang)
        try:
            lforms.fill(page, questionnaire, own, lang)
            exported, invalid = lforms.export(page)
        finally:
            page.close()
        exports.append(exported)
        problems += invalid
    resource = (
        exports[0]
        if len(exports) == 1
        else {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in exports]}
    )
    return fhir.screen_fhir(resource, program=program), exports, problems


def _no_medication(path: Path) -> dict[str, Any]:
    data = read_intake(path).model_dump(mode="json")
    assert all(not p["medications"] and p["medication_use"]["takes_any"] == "no" for p in data["participants"])
    return data


# ---------------------------------------------------------------------------- (a) Dutch texts


@pytest.mark.parametrize("program", [None, "oregon-ops"])
def test_the_dutch_questionnaire_renders_its_dutch_questions(lforms: LForms, program: str | None) -> None:
    """The base form and a program's, whose own prescribed wording is translated too."""
    dutch = fhir.questionnaire(program, lang="nl")
    english = {item["text"] for item in _items(fhir.questionnaire(program)["item"])}
    page = lforms.open(dutch, "nl")
    try:
        title = page.locator(".lhc-form-title").inner_text()
        shown = set(page.locator("span.question").all_inner_texts())
        labels = page.locator("span.prefix").all_inner_texts()
        hours = page.locator('[id="unit_session.session_hours/1/1"]').input_value()  # the unit shown beside the field
        page.locator('[id="physical.arrhythmia/1/1"]').click()
        options = page.locator("#lhc-tools-searchResults li").all_inner_texts()
        page.locator("#lhc-tools-searchResults li", has_text="Nee").click()  # as a participant picks an answer
        placeholder = page.locator('[id="session.planned_date/1/1"] input').get_attribute("placeholder")
        exported, _ = lforms.export(page)
    finally:
        page.close()
    # every question not hidden by enableWhen until it is answered (nor inside a hidden group)
    visible = [item["text"] for item in _visible(dutch["item"])]
    assert len(visible) > 80 and set(visible) <= shown
    assert "Welk middel is voor de sessie gepland?" in shown
    assert not shown & english, shown & english
    assert title.strip() == dutch["title"] and title.startswith("Intake voor een sessie")
    assert not [text for text in {title, *shown} if "[nog niet vertaald]" in text]  # (a text the catalogue lacks)
    assert labels == [item["prefix"] for item in _visible(dutch["item"]) if "prefix" in item]
    assert hours == "uur"
    if program == "oregon-ops":
        assert "Heeft u tijdens een toedieningssessie hulp nodig van een tolk?" in shown and "(e)" in labels
    assert [o.split(":", 1)[1].strip() for o in options] == [
        o["valueCoding"]["display"] for o in _by_link(dutch)["physical.arrhythmia"]["answerOption"]
    ]
    assert "Ja" in options[0] and placeholder == "DD-MM-JJJJ"
    assert _answer(exported, "physical.arrhythmia")["valueCoding"]["code"] == "no"
    assert exported["item"][0]["text"] == _by_link(dutch)["physical"]["text"]  # the one group answered, in Dutch


def _visible(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if item.get("enableWhen"):
            continue
        yield item
        yield from _visible(item.get("item") or [])


def _by_link(questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in _items(questionnaire["item"])}


# ---------------------------------------------------------------------------- (b), (c) one person, no medication


def test_an_intake_with_no_medication_filled_in_english_and_in_dutch_screens_as_the_intake(lforms: LForms) -> None:
    data = _no_medication(EXAMPLES / "cases" / "psychosis-family-history-psilocybin.yaml")
    data["session"]["planned_date"] = "2026-11-01"  # typed 11/01/2026 in English, 01-11-2026 in Dutch
    native = screen(copy.deepcopy(data))
    assert native.flags
    for lang in ("en", "nl"):
        report, (exported,), problems = _fill_and_screen(lforms, data, lang)
        assert problems == [], (lang, problems)
        _same_screening(report, native)
        assert _answer(exported, "session.planned_date") == {"valueDate": "2026-11-01"}, lang
        assert not [i for i in exported["item"] if i["linkId"] == "medications"], lang
        if lang == "nl":
            assert _answer(exported, "physical.arrhythmia")["valueCoding"]["display"] == "Nee"


def test_a_day_first_date_in_lhc_forms_as_published_is_read_month_first(lforms: LForms) -> None:
    """Why the Dutch page sets the date format: unpatched, a Dutch reader's 01-11-2026 is dropped and
    01/11/2026 is 11 January."""
    page = lforms.open(fhir.questionnaire(lang="nl"), "en")
    try:
        field = page.locator('[id="session.planned_date/1/1"] input')
        assert field.get_attribute("placeholder") == "MM/DD/YYYY"
        field.click()
        page.keyboard.type("01-11-2026")
        page.keyboard.press("Tab")
        assert field.input_value() == ""  # dropped
        field.click()
        page.keyboard.type("01/11/2026")
        page.keyboard.press("Tab")
        exported, _ = lforms.export(page)
    finally:
        page.close()
    assert _answer(exported, "session.planned_date") == {"valueDate": "2026-01-11"}


# ---------------------------------------------------------------------------- (d) a duo and a program's form


def test_a_duo_each_filling_their_own_form_screens_as_the_intake(lforms: LForms) -> None:
    data = _no_medication(EXAMPLES / "cases" / "pressure-duo-psilocybin.yaml")
    native = screen(copy.deepcopy(data))
    assert ("relationship.pressure-reported-by-one", "pair", ("A", "B")) in _flags(native)
    report, exports, problems = _fill_and_screen(lforms, data, "nl")
    assert problems == [] and len(exports) == 2
    _same_screening(report, native)
    for exported in exports:  # the duo-only questions were shown and answered, in each person's own form
        assert _answer(exported, "relationship.relation_type")["valueCoding"]["code"]


@pytest.mark.parametrize(("program", "lang"), [("oregon-ops", "en"), ("oregon-ops", "nl"), ("clinical-trial", "nl")])
def test_a_programs_form_screens_as_the_intake_under_that_program(lforms: LForms, program: str, lang: str) -> None:
    """Each program's required questions answered (LHC-Forms' validity check is clean), in English
    and in Dutch; the program's own wording is what the export says was asked."""
    data = _no_medication(EXAMPLES / "cases" / "psychosis-family-history-psilocybin.yaml")
    native = screen(copy.deepcopy(data), program=program)
    report, (exported,), problems = _fill_and_screen(lforms, data, lang, program=program)
    assert problems == []
    assert exported["questionnaire"].split("|")[0] == fhir.program_questionnaire_url(program)
    _same_screening(report, native)
    assert report.program == native.program and native.program.id == program
    asked = _by_link(fhir.questionnaire(program, lang=lang))
    answered = [item for item in _items(exported["item"]) if item.get("answer")]
    assert len(answered) > 40 and all(item["text"] == asked[item["linkId"]]["text"] for item in answered)
    if program == "oregon-ops":
        wording = {"en": "Will you require assistance from an interpreter", "nl": "Heeft u tijdens een toedieningssessie"}
        assert _by_link(exported)["needs.interpreter"]["text"].startswith(wording[lang])


# ---------------------------------------------------------------------------- (e) repeating medications


@pytest.mark.parametrize(("lang", "label"), [("en", "+ Medication or substance"), ("nl", "+ Medicijn of middel")])
def test_the_add_another_button_under_the_medications_reads_short_and_adds_one(lforms: LForms, lang: str, label: str) -> None:
    """LHC-Forms labels the button "+ " and the repeating group's own text (it has no other label
    for it): the group is named short, and what to list is said once above it."""
    questionnaire = fhir.questionnaire(lang=lang)
    intro = _by_link(questionnaire)["medications_intro"]["text"]
    page = lforms.open(questionnaire, lang)
    try:
        first = page.locator('[id="add-medications/1"]')
        shown = (first.inner_text(), first.get_attribute("aria-label"))
        LForms._enter(page, [["medications.name/1/1", "text", "ibuprofen"]])
        first.click()
        page.locator('[id="medications.name/2/1"]').wait_for()
        after = (first.count(), page.locator('[id="add-medications/2"]').inner_text())
        headings = page.locator("span.question").all_inner_texts()
    finally:
        page.close()
    assert shown == (label, f"add button for {label.removeprefix('+ ')}")
    assert after == (0, label)  # one button, under the repetition it added
    assert headings.count(intro) == 1 and headings.count(label.removeprefix("+ ")) == 2


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_two_medications_added_with_the_forms_add_another_button_screen_as_the_intake(lforms: LForms, lang: str) -> None:
    """The repeating medications group: each repetition's follow-ups (last dose, stopped with the
    prescriber) shown by that repetition's own status, and both medications reach the screening."""
    data = read_intake(EXAMPLES / "cases" / "antidepressant-ayahuasca.yaml").model_dump(mode="json")
    by_name = {m["name"]: m for m in data["participants"][0]["medications"]}
    # a current one first, so the stopped one's follow-ups are shown only by its own repetition's answer
    data["participants"][0]["medications"] = [by_name["st johns wort"], by_name["Lexapro 10mg"]]
    assert by_name["Lexapro 10mg"]["status"] == "stopped" and by_name["Lexapro 10mg"]["last_taken"]
    native = screen(copy.deepcopy(data))
    rules = {f.rule_id for f in native.flags}  # one from each medication, one from the stopped one's follow-up
    assert {"medication.serotonergic-supplement-with-ayahuasca", "medication.stopped-on-own-antidepressant"} <= rules
    report, (exported,), problems = _fill_and_screen(lforms, data, lang)
    assert problems == []
    _same_screening(report, native)
    medications = [item for item in exported["item"] if item["linkId"] == "medications"]
    assert len(medications) == 2
    assert [_answer(m, "medications.name")["valueString"] for m in medications] == ["st johns wort", "Lexapro 10mg"]
    assert _answer(medications[1], "medications.last_taken") == {"valueDate": by_name["Lexapro 10mg"]["last_taken"]}
    assert not [i for i in medications[0]["item"] if i["linkId"] == "medications.last_taken"]
