"""The web app in a real browser: Playwright for Python driving the system Chromium, the
whole flow from creating a screening to recording decisions, for one person and for a duo."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("screening.web", reason="the web extra is not installed: pip install 'screening[web]'")
playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (test extra)")

import httpx
from browser_support import ARGS, CHROMIUM, chromium_or_skip
from web_helpers import FACILITATOR, PASSWORD

from screening.i18n import translator
from screening.web import add_user

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
# axe-core from npm, installed by .ci/run (`npm install --no-save --prefix .ci/node axe-core@4`), not committed
AXE = ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"

chromium_or_skip("BROWSER TESTS")


class Axe:
    """Runs axe-core on a page and keeps what it found. The app's CSP forbids every script, so the
    pages are opened in contexts with ``bypass_csp`` (the check's script only; the app sends none)."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.violations: list[str] = []

    def __call__(self, page) -> None:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
        self.checked.append(page.url)
        for violation in result:
            if violation["impact"] in ("serious", "critical"):
                where = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
                self.violations.append(f"{page.url}: {violation['id']} ({violation['impact']}) at {where}")

    def assert_clean(self, at_least: int) -> None:
        assert not self.violations, "\n".join(self.violations)
        assert len(self.checked) >= at_least, self.checked
        print(f"axe-core: {len(self.checked)} pages checked, no serious or critical violation")


@pytest.fixture
def axe() -> Axe:
    if not AXE.exists():
        pytest.skip(f"!! ACCESSIBILITY NOT CHECKED: no axe-core at {AXE} (npm install --no-save --prefix .ci/node axe-core@4) !!")
    return Axe()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    store = str(tmp_path / "store.sqlite")
    add_user(FACILITATOR, PASSWORD, store)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "web-serve.log"
    command = [sys.executable, "-m", "screening", "web", "serve", "--port", str(port), "--store", store]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        while True:  # the real command, as a practice runs it (hypercorn)
            assert process.poll() is None, "screening web serve exited:\n" + log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                httpx.get(url + "/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _create(page, url: str, fmt: str, languages: tuple[str, ...], axe: Axe) -> dict[str, str]:
    page.goto(url + "/login")
    axe(page)
    page.get_by_label("Name").fill(FACILITATOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    axe(page)  # the facilitator's home
    page.get_by_role("link", name="New screening").first.click()
    axe(page)
    page.locator(
        "input[name='session.substance'][value='mdma']" if fmt == "duo" else "input[name='session.substance'][value='psilocybin']"
    ).check()
    page.locator(f"input[name='session.format'][value='{fmt}']").check()
    page.locator("input[name='session.planned_date']").fill("2027-03-01")
    for index, language in enumerate(languages):
        page.locator(f"select[name='language.{index}']").select_option(language)
    page.get_by_role("button", name="Create and get the links").click()
    axe(page)  # the links
    links = {box.get_attribute("data-participant"): box.input_value() for box in page.locator("input.link-box").all()}
    assert len(links) == len(languages)
    return links


def _in_language(page, lang: str) -> None:
    """The page is in the participant's language throughout: no text left in English unmarked."""
    assert page.locator("html").get_attribute("lang") == lang
    assert "[nog niet vertaald]" not in page.content()


def _fill_intake(page, link: str, age: str, medication: str, axe: Axe, shot: str | None = None, lang: str = "en") -> None:
    _ = translator(lang)  # the words the participant sees, from the same catalogue as the app
    page.goto(link)
    axe(page)  # the consent page
    _in_language(page, lang)
    page.get_by_role("button", name=_("I understand, start")).click()
    axe(page)  # the intake form
    _in_language(page, lang)
    page.get_by_label(_("How old are you, in years?")).fill(age)
    page.locator("input[name='psychiatric.bipolar_1'][value='no']").check()
    page.locator("input[name='psychiatric.psychotic_disorder'][value='unknown']").check()
    page.locator("input[name='med.0.name']").fill(medication)
    page.locator("input[name='med.0.status'][value='current']").check()
    page.get_by_role("button", name=_("Save and add another line")).click()
    assert page.locator("input[name='med.1.name']").count() == 1  # a new empty line
    axe(page)
    page.locator("input[name='med.1.name']").fill("ibuprofen")
    page.get_by_role("button", name=_("Save and continue later")).click()
    page.goto(link)  # resumable with the same link
    assert page.locator("input[name='med.0.name']").input_value() == medication
    if shot:
        page.screenshot(path=str(IMAGES / shot), full_page=False)
    page.get_by_role("button", name=_("Submit my answers")).click()
    assert page.get_by_role("heading", name=_("Thank you")).is_visible()
    _in_language(page, lang)
    axe(page)


def _review(page, url: str, axe: Axe, shot: str | None = None) -> None:
    page.goto(url + "/")
    page.locator("ul.list a").first.click()
    axe(page)  # the screening's status
    page.get_by_role("link", name="Record decisions").click()
    findings = page.locator("fieldset.finding")
    assert findings.count() > 0
    axe(page)
    findings.nth(0).locator("input[value='noted']").check()
    findings.nth(1).locator("input[value='addressed']").check()
    if shot:
        page.screenshot(path=str(IMAGES / shot), full_page=False)
    page.get_by_role("button", name="Record these decisions under my name").click()
    assert page.get_by_text(f"by {FACILITATOR}").count() == 2
    axe(page)
    page.go_back()
    page.goto(page.url.replace("/decide", "/audit"))
    assert page.get_by_text("decision(s) recorded").is_visible()
    axe(page)


def test_individual_in_english_from_creation_to_decisions(server, browser, axe):
    page = browser.new_page(viewport={"width": 1000, "height": 1100}, bypass_csp=True)
    links = _create(page, server, "individual", ("en",), axe)
    person = browser.new_page(viewport={"width": 390, "height": 844}, bypass_csp=True)  # a phone
    _fill_intake(person, links["A"], "44", "sertraline 50 mg", axe, shot="web-participant-form.png")
    page.reload()
    page.goto(server + "/")
    page.locator("ul.list a").first.click()
    page.get_by_role("link", name="Read the clinician's report").click()
    assert page.get_by_role("heading", name="Screening report for the clinician").is_visible()
    axe(page)  # the clinician's report
    page.go_back()
    _review(page, server, axe, shot="web-facilitator-review.png")
    axe.assert_clean(at_least=13)


def test_duo_from_two_private_links_to_decisions(server, browser, axe):
    page = browser.new_page(bypass_csp=True)
    links = _create(page, server, "duo", ("nl", "en"), axe)
    first = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844}).new_page()  # a phone
    first.goto(links["A"])
    assert first.get_by_role("heading", name="Voordat u begint").is_visible()  # the consent page in Dutch
    assert first.get_by_label("Hoe oud bent u, in jaren?").count() == 0  # not yet: the consent comes first
    _fill_intake(first, links["A"], "38", "lithium", axe, shot="web-participant-form-nl.png", lang="nl")
    second = browser.new_context(bypass_csp=True).new_page()
    _fill_intake(second, links["B"], "41", "tramadol", axe)
    assert "lithium" not in second.content()
    first.goto(links["A"])  # a correction after submitting: reopen, change an answer, submit again
    first.get_by_role("button", name="Mijn antwoorden verbeteren").click()
    axe(first)  # the form, reopened
    first.locator("input[name='psychiatric.bipolar_1'][value='yes']").check()
    _in_language(first, "nl")
    first.get_by_role("button", name="Mijn antwoorden indienen").click()
    page.goto(server + "/")
    page.locator("ul.list a").first.click()
    assert page.get_by_role("heading", name="What changed since the previous report").is_visible()
    _review(page, server, axe)
    axe.assert_clean(at_least=17)


def test_the_accessibility_check_finds_a_real_problem(browser, axe):
    """The check itself can fail: an unlabelled field and an image without a text alternative."""
    page = browser.new_page(bypass_csp=True)
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"><input type="text"></main></html>')
    axe(page)
    assert {line.split(": ")[1].split(" ")[0] for line in axe.violations} >= {"image-alt", "label"}
