"""Turn medication names as people write them into known drugs and classes.

"Zoloft 50mg daily", "lithium carb" and "st johns wort" are matched against the vocabulary in
``rules/vocabularies/medications.yaml``: case, punctuation and dose text are ignored; a close
misspelling is matched but marked unconfirmed so a clinician checks the reading; anything
else is returned as unrecognised. Nothing is silently dropped.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

__all__ = ["Vocabulary", "MedicationEntry", "Match", "normalise"]

# Words that describe dose, form or timing rather than the drug.
_NOISE = {
    "mg", "mcg", "ug", "µg", "g", "ml", "iu", "units", "unit", "tab", "tabs", "tablet", "tablets",
    "cap", "caps", "capsule", "capsules", "daily", "day", "a", "per", "once", "twice", "times",
    "x", "bid", "tid", "qid", "qd", "od", "qhs", "hs", "prn", "as", "needed", "morning", "evening",
    "night", "nightly", "at", "bedtime", "weekly", "week", "month", "monthly", "every", "in", "the",
    "and", "of", "oral", "po", "dose", "doses", "er", "xr", "sr", "cr", "xl", "la", "ir", "odt",
    "extended", "release", "slow", "modified", "only", "sometimes", "occasionally", "about", "approx",
    "approximately", "each", "with", "for", "my", "take", "taking", "took", "i", "on", "or",
}
# A number, alone or with a unit or count ("50mg", "0.5", "2x", "24h", "3rd"). Letters other than
# these after a number are part of a name ("2cb", "4mmc"), never dropped as a dose.
_NUMBER = re.compile(
    r"^\d+([.,]\d+)?(mg|mgs|mcg|ug|µg|g|gr|gram|grams|kg|ml|mls|l|iu|u|x|unit|units|tab|tabs|cap|caps|pill|pills"
    r"|puff|puffs|drop|drops|h|hr|hrs|hour|hours|d|day|days|w|wk|wks|week|weeks|mo|st|nd|rd|th|am|pm)?$"
)
# Research-chemical names join a number and letters with hyphens ("2C-B", "25I-NBOMe", "5-MeO-DMT",
# "4-MMC"): read as one word ("2cb"), so that the number is not dropped as a dose and "2C-B" is
# never read as a lone "b". A dose range ("50-100mg") has no letter after its hyphen and is kept apart.
_CHEMICAL = re.compile(r"\b\d+[a-z]*(?:-[a-z0-9]+)*-[a-z][a-z0-9]*(?:-[a-z0-9]+)*\b")
FUZZY_CUTOFF = 0.84
# How people list several drugs on one line: "Zoloft and lithium", "sertraline/bupropion", "X + Y".
_SEPARATORS = re.compile(r"[,;/+&()\n]|\band\b|\bplus\b", re.IGNORECASE)


def _remembered(cache: dict, written: str, read: Any) -> Any:
    """``read(written)``, remembered: the same names recur across intakes and fuzzy matching
    is slow. Bounded, so odd free text cannot grow it without limit."""
    found = cache.get(written)
    if found is None:
        if len(cache) >= 4096:
            cache.clear()
        found = cache[written] = read(written)
    return found


def normalise(text: str) -> str:
    """Lower case, no accents or punctuation, no dose or timing words."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("'", "")
    text = _CHEMICAL.sub(lambda m: m.group(0).replace("-", ""), text)
    words = re.split(r"[^a-z0-9.]+", text)
    kept = [w.strip(".") for w in words if w.strip(".") and w.strip(".") not in _NOISE and not _NUMBER.match(w.strip("."))]
    return " ".join(kept)


@dataclass(frozen=True)
class MedicationEntry:
    generic: str
    brands: tuple[str, ...]
    aliases: tuple[str, ...]
    classes: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Match:
    written: str
    status: Literal["recognised", "unconfirmed", "unrecognised"]
    entry: MedicationEntry | None = None
    matched_name: str | None = None  # the vocabulary name it was read as

    @property
    def classes(self) -> tuple[str, ...]:
        return self.entry.classes if self.entry else ()


@dataclass
class Vocabulary:
    classes: dict[str, dict[str, Any]]
    entries: list[MedicationEntry]
    _index: dict[str, MedicationEntry] = field(default_factory=dict, repr=False)
    _longest: int = field(default=1, repr=False)
    _seen: dict[str, "Match"] = field(default_factory=dict, repr=False, compare=False)  # fuzzy matching is slow: remember results
    _seen_lines: dict[str, tuple["Match", ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._conflicts: list[tuple[str, str, str]] = []
        for entry in self.entries:
            for key in dict.fromkeys(normalise(n) for n in (entry.generic, *entry.brands, *entry.aliases)):
                if not key:
                    continue
                owner = self._index.setdefault(key, entry)
                if owner is not entry:
                    self._conflicts.append((key, owner.generic, entry.generic))
        self._longest = max((len(k.split()) for k in self._index), default=1)

    @cached_property
    def class_labels(self) -> dict[str, str]:
        """Each class's label ("Lithium", "Serotonergic antidepressant"), for what a clinician reads."""
        return {name: str(spec.get("label", name)) for name, spec in self.classes.items()}

    def index_conflicts(self) -> list[tuple[str, str, str]]:
        """Names that two entries both claim (for the rulebook check): (name, first, second)."""
        return list(self._conflicts)

    def match_all(self, written: str) -> list[Match]:
        """Every drug named in one written line, in order; at least one match, never none.

        The whole line is tried first (a combination product such as "olanzapine/fluoxetine" is
        one entry); otherwise it is split where people join drugs ("and", ",", "/", "+") and
        each part is read on its own, so "Zoloft and lithium" is two drugs, not only the first.
        A part that names no known drug is returned as unrecognised rather than dropped.
        """
        return list(_remembered(self._seen_lines, written, self._match_line))

    def _match_line(self, written: str) -> tuple[Match, ...]:
        whole = self.match(written)
        if whole.status == "recognised" and whole.matched_name == normalise(written):
            return (whole,)
        parts = [part for part in _SEPARATORS.split(written) if normalise(part)]
        if len(parts) <= 1:
            return (whole,)
        found: list[Match] = []
        for part in parts:
            match = self.match(part.strip())
            if match.entry is None or all(match.entry is not m.entry for m in found):
                found.append(match)
        return tuple(found)

    def match(self, written: str) -> Match:
        return _remembered(self._seen, written, self._match)

    def _match(self, written: str) -> Match:
        words = normalise(written).split()
        if not words:
            return Match(written, "unrecognised")
        # the longest run of words that is a known name, leftmost first
        for size in range(min(self._longest, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                key = " ".join(words[start : start + size])
                if key in self._index:
                    entry = self._index[key]
                    return Match(written, "recognised", entry, key)
        candidates = [" ".join(words)] + [w for w in words if len(w) >= 4]
        for candidate in candidates:
            close = difflib.get_close_matches(candidate, self._index.keys(), n=1, cutoff=FUZZY_CUTOFF)
            if close:
                return Match(written, "unconfirmed", self._index[close[0]], close[0])
        return Match(written, "unrecognised")
