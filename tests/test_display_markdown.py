"""Markdown escaping finds the words that need it in one pass; what it writes is what escaping
every word one by one writes (the way it was first written, kept here as the reference)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from screening.report import display


def _word_by_word(value: object) -> str:
    words = display.text(" ".join(str(value).split())).split(" ")
    line = " ".join(display._word(w) for w in words)
    if line.startswith("-"):
        line = "\\" + line
    return display._LINE_START.sub(r"\1\\\2", line)


PIECES = st.sampled_from(
    [
        " ",
        "  ",
        "\n",
        "\t",
        "a",
        "Zoloft",
        "50mg",
        "-",
        "1.",
        "2)",
        "@",
        "x@y.org",
        "www.",
        "awww.x",
        "WwW.",
        "http://",
        "mailto:",
        ":",
        "//",
        "*",
        "_",
        "`",
        "``",
        "[",
        "]",
        "<",
        ">",
        "#",
        "|",
        "&",
        "~",
        "!",
        "{",
        "}",
        "$",
        "=",
        "^",
        "+",
        "\\",
        "\x1b[2J",
        "\u202e",
        "\u2028",
        "é",
        "≥",
        "(SSRI; current)",
        "e.g.",
        "a:b",
    ]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join) | st.text(max_size=80))
def test_markdown_writes_what_escaping_every_word_writes(value):
    assert display.markdown(value) == _word_by_word(value)


def test_markdown_of_the_rulebook_texts_is_unchanged():
    from screening.rulebook import loading as rulebook

    for rule in rulebook.default().active:
        meta = rule.meta
        for value in (meta.title, meta.summary, meta.explanation, meta.clinician_action, *meta.limitations):
            assert display.markdown(value) == _word_by_word(value)
