"""Sources the project carries: no rule cites a notes file outside the project, every source
note a rule links exists, and the docs show how each reference was read."""

import re

from conftest import ROOT

from screening.authoring.docs import reference_marks, render
from screening.rulebook.loading import Reference


def test_no_rule_cites_a_document_outside_the_project(book):
    for rule in book.rules:
        text = (book.root / rule.path).read_text(encoding="utf-8")
        assert "clinical-criteria" not in text, rule.path


def test_every_source_note_a_rule_links_exists(book):
    linked = set()
    for rule in book.rules:
        linked |= set(re.findall(r"docs/sources/[\w-]+\.md", (book.root / rule.path).read_text(encoding="utf-8")))
    assert linked, "the rules link their source notes"
    for path in linked:
        assert (ROOT / path).is_file(), path
    index = (ROOT / "docs/sources/README.md").read_text(encoding="utf-8")
    for path in linked:
        assert path.removeprefix("docs/sources/") in index, path


def test_the_docs_index_explains_the_source_marks_and_pages_show_how_a_reference_was_read(book):
    pages = render(book)
    index = pages["index.md"]
    for mark in ("[R]", "[S]", "[NF]"):
        assert f"- **{mark}**:" in index
    # Every reference shows its locator, kind and access date (issue 15 filled them in; a gap is
    # said, not hidden). A home-page link is marked: checked on a made-up reference, because the
    # rulebook cites none any more.
    page = pages["cardiovascular/cardiovascular.aneurysm-ketamine.md"]
    assert "(at Highlights, Contraindications;" in page and "; primary; read 2026-12-02)" in page
    home = Reference(title="A site", url="https://example.org/", says="A home page, not an article.", kind="primary")
    assert reference_marks(home) == " (no locator given; primary; no access date; the link is a home page, not the article)"
