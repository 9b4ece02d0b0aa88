"""The printable HTML report: self-contained, escaped, accessible, and printed by a real browser.

The print tests run headless Chromium (the Debian package, installed by .ci/run) to make a PDF
and read its text with pypdf: every finding is in it, the pages are numbered, A4 and Letter.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import EXAMPLES

from screening import read_intake, screen
from screening.cli.commands import main
from screening.report.findings import references_of
from screening.report.html import render_html

TODAY = dt.date(2026, 12, 1)
PRINTED = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> & "quoted"'


@pytest.fixture(scope="module")
def duo():
    return screen(read_intake(EXAMPLES / "duo-mdma.yaml"), today=TODAY)


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.open.append(tag)

    def handle_endtag(self, tag):
        if self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_data(self, data):
        if "style" not in self.open and "title" not in self.open:  # what a reader sees
            self.text.append(data)


def parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_the_page_is_self_contained(duo):
    tags = parse(render_html(duo, printed=PRINTED)).tags
    names = {t for t, _ in tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed"}
    for tag, attrs in tags:
        assert "src" not in attrs
        if tag == "a":
            href = attrs["href"]
            assert href.startswith(("#", "https://", "http://"))  # a source to read, never a loaded asset


def test_the_page_has_headings_language_and_severity_in_words(duo):
    page = render_html(duo, printed=PRINTED)
    tags = parse(page).tags
    assert ("html", {"lang": "en"}) in tags
    headings = [t for t, _ in tags if re.fullmatch(r"h[1-3]", t)]
    assert headings[0] == "h1" and headings.count("h1") == 1 and "h2" in headings and "h3" in headings
    for severity in ("CRITICAL", "WARNING", "INFO"):
        assert f">{severity}</span>" in page  # severity is written, not only coloured
    assert ">Summary</h2>" in page and page.index(">Summary</h2>") < page.index(">Findings in full</h2>")


def test_every_answer_is_escaped(baseline_duo):
    intake = baseline_duo
    intake["participants"][0]["medications"] = [{"name": HOSTILE, "status": "current"}]
    report = screen(intake, today=TODAY)
    page = render_html(report, printed=PRINTED)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE in "".join(parse(page).text)  # shown, as text


def test_the_record_names_time_identifiers_rulebook_and_engine(duo):
    page = render_html(duo, printed=PRINTED)
    footer = page[page.index("<footer") :]
    for text in ("2026-12-01 09:30 UTC", duo.rulebook.version, duo.rulebook.sha256, duo.engine, duo.library_version, "Program"):
        assert text in footer


def test_letter_and_a4_pages(duo):
    assert "size: A4" in render_html(duo, printed=PRINTED)
    assert "size: letter" in render_html(duo, paper="letter", printed=PRINTED)
    with pytest.raises(ValueError):
        render_html(duo, paper="a5")


def test_the_participant_copy_leaves_out_relationship_and_harm_unless_asked(duo):
    view = duo.view_for("A")
    page = render_html(view, printed=PRINTED)
    text = " ".join("".join(parse(page).text).split())
    assert "pressured" not in text and "for the other person" not in text
    assert "not printed on this copy" in text
    asked = " ".join("".join(parse(render_html(view, include_private=True, printed=PRINTED)).text).split())
    assert "feeling pressured" in asked and "not printed on this copy" not in asked
    for clinical in ("Sources", "Limitations", "For review", "Why it matters", "critical", "CRITICAL", "Rules"):
        assert clinical not in text


def test_a_violence_victims_copy_does_not_headline_the_violence(baseline_duo):
    intake = baseline_duo
    intake["participants"][0]["relationship"]["violence_last_year"] = "yes"
    report = screen(intake, today=TODAY)
    assert any(f.rule_id == "relationship.violence-last-year" for f in report.flags)
    for page in (render_html(report.view_for("A"), printed=PRINTED), render_html(report.view_for("B"), printed=PRINTED)):
        text = "".join(parse(page).text).lower()
        assert "violence" not in text and "forced" not in text


def test_cli_writes_html(capsys):
    assert main(["screen", str(EXAMPLES / "duo-mdma.yaml"), "--format", "html", "--paper", "letter"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and "size: letter" in out


# ---------------------------------------------------------------------------- a real browser


def print_pdf(page: str, tmp: Path) -> Path:
    source, pdf = tmp / "report.html", tmp / "report.pdf"
    source.write_text(page, encoding="utf-8")
    profile = tempfile.mkdtemp(dir=tmp)
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            source.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return pdf


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="headless Chromium is not installed (.ci/run installs it)"
)


@needs_chromium
@pytest.mark.parametrize("paper, width_pt", [("a4", 595), ("letter", 612)])
def test_chromium_prints_every_finding_with_page_numbers(duo, tmp_path, paper, width_pt):
    from pypdf import PdfReader

    assert CHROMIUM, "CI needs headless Chromium: .ci/run installs the Debian package"
    reader = PdfReader(print_pdf(render_html(duo, paper=paper, printed=PRINTED), tmp_path))
    pages = len(reader.pages)
    assert 3 <= pages <= 30
    assert round(float(reader.pages[0].mediabox.width)) == width_pt
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    flat = text.replace("ﬁ", "fi").replace("ﬂ", "fl").replace("ﬀ", "ff").replace("ﬃ", "ffi")
    for finding in duo.findings:
        assert " ".join(finding.title.split()) in flat, finding.title
    for n in range(1, pages + 1):
        assert f"Page {n} of {pages}" in flat
    assert duo.rulebook.sha256 in flat


@needs_chromium
def test_chromium_prints_the_participant_copy_on_one_or_two_pages(duo, tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(print_pdf(render_html(duo.view_for("B"), printed=PRINTED), tmp_path))
    assert len(reader.pages) <= 2
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "what we will talk about" in text and "blood pressure" in text


def test_each_finding_has_a_line_for_the_clinicians_initials_and_decision(duo):
    tags = parse(render_html(duo, printed=PRINTED))
    signoffs = [attrs for tag, attrs in tags.tags if tag == "p" and attrs.get("class") == "signoff"]
    assert len(signoffs) == len(duo.findings)
    text = " ".join(tags.text)
    assert text.count("Clinician's initials") == len(duo.findings)


def test_limitations_and_sources_are_compact_and_point_to_the_rules_page(duo):
    page = render_html(duo, printed=PRINTED)
    assert "break-inside: avoid-page; border-top" not in page  # a finding may run over a page break
    for finding in duo.findings:
        for ref in references_of(finding, duo.rules):
            assert f'href="{ref.url}"' in page.replace("&amp;", "&") or ref.url in page
    assert "docs/rules/cardiovascular/" in page


def _content_lines(page) -> list[str]:
    """A printed page's lines without the margin's record and page number."""
    lines = [" ".join(line.split()) for line in page.extract_text().splitlines()]
    return [line for line in lines if line and not re.match(r"^(Screening record|Page \d+ of|\d+$|\d\d:\d\d UTC)", line)]


@needs_chromium
def test_the_example_duo_prints_on_at_most_six_a4_pages_with_no_heading_left_at_a_page_foot(duo, tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(print_pdf(render_html(duo, paper="a4", printed=PRINTED), tmp_path))
    assert len(reader.pages) <= 6  # 13 findings: several to a page
    headings = {"Summary", "Address first", "Findings in full", "Answers at a glance", "Medications as read", "Record"}
    for number, page in enumerate(reader.pages[:-1], 1):
        lines = _content_lines(page)
        last = lines[-1] if lines else ""
        assert last not in headings, (number, last)
        assert not re.match(r"^(CRITICAL|WARNING|INFO) \d+\. ", last), (number, last)
