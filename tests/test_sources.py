"""Sources the project carries: no rule cites a notes file outside the project, every source
note a rule links exists, and the docs show how each reference was read."""

import re

from conftest import ROOT

from screening.docs import render


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
    page = pages["cardiovascular/cardiovascular.aneurysm-ketamine.md"]
    assert "(at 4 Contraindications (section number recalled [R]); primary; no access date)" in page
    duo = next(text for path, text in pages.items() if path.startswith("relationship/") and "mdmatherapie.nl" in text)
    assert "the link is a home page, not the article" in duo
