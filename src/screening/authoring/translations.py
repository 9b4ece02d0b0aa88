"""The translation catalogues: extract the English texts, update each language, check them.

Uses Babel (the ``i18n`` extra: ``pip install 'screening[i18n]'``), as Sphinx and Django do: the
template ``locales/screening.pot`` holds every English text (the library's own strings marked
``_()`` or ``N_()`` in the code, the intake questions and answer choices, and the rule texts),
each language's ``.po`` is merged with it (a changed English text marks its translation fuzzy:
needs review), and the ``.mo`` the library reads at run time is compiled from the ``.po``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..i18n import DOMAIN, LANGUAGES, LOCALES
from ..rulebook import wording
from ..rulebook.loading import Rulebook
from ..rulebook.programs import load_programs

__all__ = [
    "REVIEW_HEADER",
    "Coverage",
    "messages",
    "template",
    "extract",
    "update",
    "coverage",
    "check",
    "compiled_mo",
]

SOURCE = Path(__file__).resolve().parents[1]  # src/screening
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
# Every catalogue says this until a Dutch-speaking clinician reviews it; no tool here changes it.
REVIEW_HEADER = "Translation not yet reviewed by a clinician who speaks the language."
RULE_TEXTS = ("title", "summary", "explanation", "clinician_action", "participant_text")
# Texts a participant reads: a catalogue that lacks one of these fails the check.
PARTICIPANT_FACING = ("intake", "participant")
# The web app's templates are read with Jinja2's own extractor for Babel (Jinja2 is in the i18n extra).
METHOD_MAP = [("**.py", "python"), ("web/templates/**.html", "jinja2.ext:babel_extract")]
# The pages a participant reads (the rest are the facilitator's).
PARTICIPANT_TEMPLATES = ("base.html", "consent.html", "intake.html", "_question.html", "submitted.html", "message.html")


def _babel() -> Any:
    try:
        from babel.messages import catalog, extract, mofile, pofile
    except ImportError as error:  # pragma: no cover - the extra is installed for CI and tests
        from ..errors import ScreeningError

        raise ScreeningError("managing translations needs Babel: pip install 'screening[i18n]'") from error
    return catalog, extract, mofile, pofile


def _questionnaire_texts() -> Iterator[tuple[str, str]]:
    from ..interop.fhir import question_units, questionnaire

    resource = questionnaire()
    yield resource["title"], "intake"
    yield resource["description"], "intake"

    def walk(items: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for item in items:
            yield item["text"], "intake"
            for option in item.get("answerOption", []):
                yield option["valueCoding"]["display"], "intake"
            for unit in question_units(item):  # shown beside a number field
                yield unit["display"], "intake"
            yield from walk(item.get("item", []))

    yield from walk(resource["item"])


def messages(book: Rulebook) -> dict[str, tuple[list[str], set[str]]]:
    """English text -> (where it comes from, what kind): code, intake, rule texts."""
    _, extract, _, _ = _babel()
    found: dict[str, tuple[list[str], set[str]]] = {}

    def add(text: str, where: str, kind: str) -> None:
        if text and text.strip():
            places, kinds = found.setdefault(text, ([], set()))
            if where not in places:
                places.append(where)
            kinds.add(kind)

    for filename, _lineno, message, comments, _context in extract.extract_from_dir(
        str(SOURCE), method_map=METHOD_MAP, keywords={"_": None, "N_": None}, comment_tags=("i18n:",)
    ):
        if isinstance(message, str):
            participant = "participant" in " ".join(comments).lower() or Path(filename).name in PARTICIPANT_TEMPLATES
            add(message, f"src/screening/{filename}", "participant" if participant else "code")
    for text, kind in _questionnaire_texts():
        add(text, "intake:questionnaire", kind)
    for rule in sorted(book.rules, key=lambda r: r.id):
        meta = rule.meta
        for name in RULE_TEXTS:
            # stripped, as a report carries it (a folded text in a rule file ends with a newline)
            add(getattr(meta, name).strip(), f"rules:{rule.id}/{name}", "participant" if name == "participant_text" else "rule")
        for i, text in enumerate(meta.limitations):
            add(text.strip(), f"rules:{rule.id}/limitations[{i}]", "rule")
        for i, text in enumerate(meta.override_reasons):
            add(text.strip(), f"rules:{rule.id}/override_reasons[{i}]", "rule")
    for combination in sorted(book.combinations, key=lambda c: c.id):  # rules/combinations.yaml, as a report carries them
        for name in RULE_TEXTS:
            text = " ".join(getattr(combination, name).split()) if name != "title" else combination.title
            add(text, f"rules:{combination.id}/{name}", "participant" if name == "participant_text" else "rule")
        for i, text in enumerate(combination.limitations):
            add(" ".join(text.split()), f"rules:{combination.id}/limitations[{i}]", "rule")
    for program_id, program in sorted(load_programs(book).items()):  # named on the participant's copy
        add(program.meta.title, f"programs:{program_id}/title", "participant")
        for link_id, question in program.meta.questions.items():  # its own wording, asked in its Questionnaire
            add(question.text, f"programs:{program_id}/questions/{link_id}", "intake")
    return found


def template(book: Rulebook) -> Any:
    """The template catalogue (English ids, empty translations), in a stable order."""
    catalog, _, _, _ = _babel()
    pot = catalog.Catalog(
        project="screening", domain=DOMAIN, charset="utf-8", fuzzy=False, copyright_holder="the screening authors"
    )
    for text, (places, kinds) in sorted(messages(book).items(), key=lambda item: (item[1][0][0], item[0])):
        pot.add(text, locations=[(place, None) for place in places], auto_comments=sorted(kinds))
    return pot


def _po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _write_po(path: Path, catalogue: Any) -> None:
    _, _, _, pofile = _babel()
    buffer = io.BytesIO()
    pofile.write_po(
        buffer,
        catalogue,
        width=0,
        omit_header=False,
        ignore_obsolete=True,
        sort_output=False,
        include_previous=True,
        include_lineno=False,
    )
    path.write_bytes(_without_dates(buffer.getvalue()))


def _without_dates(po: bytes) -> bytes:
    """The header's creation and revision dates left out, so a fresh build matches the committed one."""
    lines = po.split(b"\n")
    return b"\n".join(line for line in lines if not line.startswith((b'"POT-Creation-Date:', b'"PO-Revision-Date:')))


def extract(book: Rulebook) -> Path:
    """Write the template (``screening.pot``) from the code, the intake and the rules."""
    _write_po(TEMPLATE, template(book))
    return TEMPLATE


def _read_po(lang: str) -> Any:
    _, _, _, pofile = _babel()
    with _po_path(lang).open("rb") as handle:
        return pofile.read_po(handle, locale=lang, domain=DOMAIN)


def compiled_mo(lang: str) -> bytes:
    """The ``.mo`` compiled from a language's ``.po`` (fuzzy translations left out, as gettext does)."""
    _, _, mofile, _ = _babel()
    buffer = io.BytesIO()
    po = _read_po(lang)
    # the .po keeps no dates (a fresh build matches the committed one); the .mo header gets a fixed one
    po.creation_date = po.revision_date = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    mofile.write_mo(buffer, po, use_fuzzy=False)
    return buffer.getvalue()


def update(book: Rulebook) -> list[Path]:
    """Merge every language's ``.po`` with a fresh template and compile its ``.mo``."""
    pot = template(book)
    written = []
    for lang in LANGUAGES[1:]:
        po = _read_po(lang)
        po.update(pot, update_header_comment=False)
        _write_po(_po_path(lang), po)
        mo = _po_path(lang).with_suffix(".mo")
        mo.write_bytes(compiled_mo(lang))
        written += [_po_path(lang), mo]
    return written


@dataclass
class Coverage:
    lang: str
    total: int = 0
    translated: int = 0
    fuzzy: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    missing_for_participants: list[str] = field(default_factory=list)
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    review: str = "not yet reviewed by a clinician who reads it"

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {done}/{all_}" for kind, (done, all_) in sorted(self.by_kind.items()))
        return (
            f"{self.lang}: {self.translated} of {self.total} texts translated, {len(self.missing)} missing, "
            f"{len(self.fuzzy)} need review after a change ({kinds}); {self.review}"
        )


def coverage(book: Rulebook, lang: str, rules_root: Path | None = None) -> Coverage:
    """Per language: translated, missing, and needing review (fuzzy) against the current English."""
    po = _read_po(lang)
    result = Coverage(lang)
    counts: dict[str, list[int]] = {}
    for text, (_, kinds) in messages(book).items():
        result.total += 1
        entry = po.get(text)
        done = bool(entry is not None and entry.string and not entry.fuzzy)
        if entry is not None and entry.string and entry.fuzzy:
            result.fuzzy.append(text)
        elif not done:
            result.missing.append(text)
            if kinds & set(PARTICIPANT_FACING):
                result.missing_for_participants.append(text)
        result.translated += done
        kind = "participant" if "participant" in kinds else "intake" if "intake" in kinds else min(kinds)
        tally = counts.setdefault(kind, [0, 0])
        tally[0] += done
        tally[1] += 1
    result.by_kind = {k: (v[0], v[1]) for k, v in counts.items()}
    from ..rulebook.loading import default_rules_dir
    from ..rulebook.review import translation_state

    state = translation_state(rules_root or default_rules_dir(), lang)
    result.review = state.line().split(": ", 1)[1]
    return result


def check(book: Rulebook) -> tuple[list[str], list[str]]:
    """(problems, coverage lines). Problems: a stale template, a ``.mo`` that differs from its
    ``.po``, a participant's text untranslated, a translation with a verdict or directive, a
    placeholder lost, or a catalogue that does not say it is unreviewed."""
    _, _, _, pofile = _babel()
    problems: list[str] = []
    fresh = io.BytesIO()
    pofile.write_po(fresh, template(book), width=0, sort_output=False, include_lineno=False)
    if not TEMPLATE.is_file() or _without_dates(fresh.getvalue()) != TEMPLATE.read_bytes():
        problems.append(f"{TEMPLATE.name} is out of date with the code, the intake or the rules: run `screening i18n extract`")
    lines = []
    for lang in LANGUAGES[1:]:
        po = _read_po(lang)
        mo = _po_path(lang).with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != compiled_mo(lang):
            problems.append(f"{lang}: {mo.name} differs from {_po_path(lang).name}: run `screening i18n update`")
        if REVIEW_HEADER not in (po.header_comment or ""):
            problems.append(f"{lang}: the catalogue's header does not say the translation is unreviewed ({REVIEW_HEADER!r})")
        found = coverage(book, lang)
        for text in found.missing_for_participants:
            problems.append(f"{lang}: a text a participant reads has no translation: {text[:70]!r}")
        for entry in po:
            if not entry.id or not entry.string or entry.fuzzy:
                continue
            for name, what, words in wording.problems({"translation": str(entry.string)}, lang=lang):
                problems.append(f"{lang}: the translation of {str(entry.id)[:50]!r} {what} ({words!r})")
            for placeholder in _placeholders(str(entry.id)) - _placeholders(str(entry.string)):
                problems.append(f"{lang}: the translation of {str(entry.id)[:50]!r} lacks {placeholder}")
        lines.append(found.line())
    return problems, lines


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"\{[a-z_]*\}", text))
