"""Text from an answer is shown, never obeyed: no terminal escapes, bidi tricks or Markdown.

The reproduction from issue 11: a medication named with an ANSI sequence cleared the screen and
the scrollback in the text report, hiding the critical flags above it; bidi controls and
backspace passed too; in a CDS card, bare URLs, ``&`` and ``~`` were rendered as links and
markup. Here every control, format, separator character (and a sample of the rest) is screened.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import unicodedata

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from screening import render_text, screen
from screening.interop.cds_hooks import cards
from screening.report import display

TODAY = dt.date(2026, 12, 1)
UNSAFE = [
    chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp") and chr(c) != "\n"
]
ANSI_CLEAR = "\x1b[2J\x1b[3J\x1b[H"


def _with_medication(intake: dict, name: str) -> dict:
    intake["participants"][0]["medications"] = [{"name": "lithium", "status": "current"}, {"name": name, "status": "current"}]
    return intake


def _html(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def test_there_are_many_unsafe_characters_to_try():
    assert len(UNSAFE) > 200 and "\x1b" in UNSAFE and "\u202e" in UNSAFE and "\x08" in UNSAFE


def test_the_ansi_clear_screen_in_a_medication_name_is_shown_escaped(baseline_individual):
    report = screen(_with_medication(baseline_individual, f"Zorblax{ANSI_CLEAR}hidden"), today=TODAY)
    text = render_text(report)
    assert "\x1b" not in text
    assert "Zorblax\\x1b[2J\\x1b[3J\\x1b[H" in text
    assert "[CRITICAL]" in text


@pytest.mark.parametrize("engine", ["python"])
def test_every_control_format_and_separator_character_is_neutralised(baseline_individual, engine):
    """One screening per character, the character inside a medication name the vocabulary does
    not know (so the name is quoted back in the unrecognised-medication flag)."""
    tried = 0
    for char in UNSAFE:
        intake = _with_medication(json.loads(json.dumps(baseline_individual)), f"Zorblax{char}Quux")
        report = screen(intake, today=TODAY, engine=engine)
        assert any(char in str(e.answer) for f in report.flags for e in f.evidence), repr(char)  # the report keeps the data
        text = render_text(report)
        assert char not in text, repr(char)
        assert display.text(char) in text or char.isspace(), repr(char)
        for card in cards(report):
            for value in (
                card["summary"],
                card["detail"],
                card["source"]["label"],
                *[r["display"] for r in card["overrideReasons"]],
            ):
                assert char not in value, repr(char)
        tried += 1
    assert tried == len(UNSAFE)


def test_lone_surrogates_and_unassigned_code_points_are_escaped_too():
    for char in ("\ud800", "\udfff", "\U000e0001", "\U0010ffff", "\u0378"):
        assert char not in display.text(f"a{char}b") and char not in display.markdown(f"a{char}b")


def test_printable_text_is_left_as_it_is():
    for value in ("Zoloft 50 mg", "Jörg’s “tea” — 5 %", "日本語", "emoji 🙂", "a\nb"):
        assert display.text(value) == value


@pytest.mark.parametrize(
    "name, not_in_html",
    [
        ("see https://evil.example/x now", "<a "),
        ("visit www.evil.example today", "<a "),
        ("mail a@evil.example", "<a "),
        ("~~struck~~ out", "<del>"),
        ("*em* and __strong__", "<em>"),
        ("Tom & Jerry &amp; more", "&amp; more"),
        ("<b>bold</b><script>x</script>", "<b>"),
        ("[link](https://evil.example)", "<a "),
        ("![img](https://evil.example/i.png)", "<img"),
        ("# heading", "<h1>"),
        ("| a | b |", "<table>"),
    ],
)
def test_a_cds_card_shows_answers_as_plain_text_never_as_markup_or_links(baseline_individual, name, not_in_html):
    report = screen(_with_medication(baseline_individual, name), today=TODAY)
    found = [line for card in cards(report) for line in card["detail"].splitlines() if line.startswith("- A: ") and "→" in line]
    quoted = [line for line in found if "did not recognise" in line]  # the flag that quotes the name
    assert quoted, found
    for line in quoted:
        html = _html(line)
        assert not_in_html not in html and "<script" not in html, (name, html)
        assert "<a " not in html


def test_markdown_text_renders_to_exactly_the_text():
    for value in (
        "Tom & Jerry",
        "2 < 3 > 1",
        "~x~ *y* _z_ #w |v| !u [t] {s} $r ^q +p =o",
        "C:\\path\\to",
        "- not a list",
        "1. not a list",
        "https://x.example/a?b=c&d=e",
        "www.x.example",
        "user@x.example",
        "``odd` ticks`",
    ):
        html = _html(display.markdown(value))
        plain = html.removeprefix("<p>").removesuffix("</p>\n").replace("<code>", "").replace("</code>", "")
        plain = plain.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        assert plain == value, (value, html)
        assert "<a " not in html
