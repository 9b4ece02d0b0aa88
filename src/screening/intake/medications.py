"""Turn medication names as people write them into known drugs and classes.

"Zoloft 50mg daily", "lithium carb" and "st johns wort" are matched against the vocabulary in
``rules/vocabularies/medications.yaml``: case, punctuation and dose text are ignored; a close
misspelling is matched but marked unconfirmed so a clinician checks the reading; anything
else is returned as unrecognised. Nothing is silently dropped: every word of a line is read as
a drug name, a dose, a unit, a frequency or a filler word, or it is reported as unrecognised.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeVar, cast

__all__ = ["Vocabulary", "MedicationEntry", "Match", "normalise"]

# Words that describe dose, form or timing rather than the drug, and the filler words people put
# between drugs ("Nardil then Prozac", "X with Y"). Read as such, never as a name.
_NOISE = {
    # units and forms
    "mg",
    "mgs",
    "milligram",
    "milligrams",
    "mcg",
    "microgram",
    "micrograms",
    "ug",
    "µg",
    "g",
    "gram",
    "grams",
    "ml",
    "iu",
    "units",
    "unit",
    "tab",
    "tabs",
    "tablet",
    "tablets",
    "cap",
    "caps",
    "capsule",
    "capsules",
    "pill",
    "pills",
    "puff",
    "puffs",
    "drop",
    "drops",
    "dose",
    "doses",
    "oral",
    "po",
    "er",
    "xr",
    "sr",
    "cr",
    "xl",
    "la",
    "ir",
    "odt",
    "extended",
    "release",
    "slow",
    "modified",
    "generic",
    # frequency and timing
    "daily",
    "day",
    "days",
    "a",
    "per",
    "once",
    "twice",
    "times",
    "x",
    "bid",
    "tid",
    "qid",
    "qd",
    "od",
    "qhs",
    "hs",
    "prn",
    "qam",
    "qpm",
    "as",
    "needed",
    "morning",
    "mornings",
    "evening",
    "evenings",
    "night",
    "nights",
    "nightly",
    "at",
    "bedtime",
    "weekly",
    "week",
    "weeks",
    "month",
    "months",
    "monthly",
    "hour",
    "hours",
    "hourly",
    "every",
    "other",
    "only",
    "sometimes",
    "occasionally",
    "about",
    "approx",
    "approximately",
    "each",
    "up",
    "to",
    # filler and joining words
    "in",
    "the",
    "an",
    "and",
    "or",
    "with",
    "then",
    "plus",
    "also",
    "of",
    "for",
    "my",
    "take",
    "taking",
    "took",
    "i",
    "on",
    "by",
    "from",
    "now",
    "currently",
    # how much and when people drink or use ("a few beers at the weekend", "a glass of wine with dinner")
    "few",
    "couple",
    "glass",
    "glasses",
    "cup",
    "cups",
    "weekend",
    "weekends",
    "dinner",
    "lunch",
    "breakfast",
    "party",
    "parties",
}
# The same words as written on Dutch and Flemish, French and German prescriptions and labels
# ("oxazepam zo nodig", "Ritalin 10 mg 2dd", "1 comprimé le soir", "Ibuprofen bei Bedarf").
# A word here must name no drug in the vocabulary (tests/test_medication_lines.py checks it).
_NOISE_NL = {
    "zn", "z.n", "zo", "nodig", "indien", "dd", "d.d", "keer", "maal", "dag", "daags", "dagelijks",
    "s", "ochtends", "morgens", "middags", "avonds", "nachts", "ochtend", "avond", "nacht", "voor",
    "na", "bij", "pijn", "slapen", "het", "de", "een", "en", "met", "stuk", "stuks", "tabletten",
    "tabl", "druppels", "druppel", "pleister", "pleisters", "zakje", "zakjes", "weken", "maand",
    "maanden", "soms", "af", "toe", "max", "maximaal", "gebruik", "elke", "iedere", "om", "uur",
}  # fmt: skip
_NOISE_FR = {
    "le", "les", "un", "une", "des", "du", "et", "ou", "avec", "par", "jour", "jours", "fois",
    "matin", "midi", "soir", "nuit", "coucher", "au", "aux", "si", "besoin", "comprime", "comprimes",
    "cp", "cpr", "gelule", "gelules", "goutte", "gouttes", "sachet", "sachets", "patch", "douleur",
    "douleurs", "semaine", "semaines", "mois", "tous", "toutes", "chaque", "cas", "pour", "dormir",
}  # fmt: skip
_NOISE_DE = {
    "der", "die", "das", "den", "dem", "ein", "eine", "und", "oder", "mit", "bei", "bedarf", "tablette",
    "tbl", "kapsel", "kapseln", "tropfen", "pflaster", "mittags", "abends", "taglich", "tgl", "mal",
    "tag", "tage", "woche", "wochen", "monat", "schmerzen", "zur", "zum", "am", "abend",
    "morgen", "vor", "nach", "schlafen", "stuck",
}  # fmt: skip
_NOISE |= _NOISE_NL | _NOISE_FR | _NOISE_DE
# A number, alone or with a unit or count ("50mg", "2.5", "1000iu", "2x", "24h", "3rd", "q4h", "x2").
# Other letters after a number are part of a name ("2cb", "4mmc", "25i"), never dropped as a dose.
_NUMBER = re.compile(
    r"^(\d+([.,]\d+)?(mg|mgs|mcg|ug|µg|μg|g|gr|gram|grams|kg|ml|mls|l|iu|u|x|unit|units|tab|tabs|cap|caps|pill"
    r"|pills|puff|puffs|drop|drops|h|hr|hrs|hour|hours|d|day|days|w|wk|wks|week|weeks|mo|st|nd|rd|th|am|pm)?"
    r"|q\d+h|x\d+|\d+dd\d*)$"
)
# Research-chemical names join a number and letters with hyphens ("2C-B", "25I-NBOMe", "5-MeO-DMT",
# "4-MMC"): read as one word ("2cb"), so that the number is not dropped as a dose and "2C-B" is
# never read as a lone "b". A dose range ("50-100mg") has no letter after its hyphen and stays apart.
_CHEMICAL = re.compile(r"\b\d+[a-z]*(?:-[a-z0-9]+)*-[a-z][a-z0-9]*(?:-[a-z0-9]+)*\b")
FUZZY_CUTOFF = 0.84
# A written word: letters and digits, joined by an apostrophe or a dot ("john's", "2.5").
# A chemical name with hyphens ("2C-B", "5-MeO-DMT") is one word.
_TOKEN = re.compile(r"\d+[^\W_]*(?:-[^\W_]+)*-[^\W\d_][^\W_]*(?:-[^\W_]+)*|[^\W_]+(?:['’.][^\W_]+)*")


_K = TypeVar("_K")
_T = TypeVar("_T")
REMEMBERED = 4096  # items in each cache of what recurs across screenings: a few MB at most


def remember(cache: dict[_K, _T], key: _K, read: Callable[[_K], _T]) -> _T:
    """``read(key)``, remembered in ``cache``: the same names and answers recur across intakes.
    Bounded, so odd free text or open-ended ids cannot grow it without limit."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= REMEMBERED:
            cache.clear()
        found = cache[key] = read(key)
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
    _seen: dict[str, Match] = field(default_factory=dict, repr=False, compare=False)  # fuzzy matching is slow: remember results
    _seen_lines: dict[str, tuple[Match, ...]] = field(default_factory=dict, repr=False, compare=False)
    _seen_aside: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    _read_for: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

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

        The line is read word by word: dose, unit, frequency and filler words are set aside and
        the remaining words are matched to the longest known name at each place, so
        "olanzapine/fluoxetine" is one combination product, while "Zoloft 50mg lithium 300mg",
        "Nardil Prozac" or "Nardil then Prozac" are two drugs. Words that name no known drug are
        matched approximately (unconfirmed) or returned as unrecognised, with the text as written.
        """
        found = remember(self._seen_lines, written, self._match_line)
        return list(found)

    def _match_line(self, written: str) -> tuple[Match, ...]:
        words: list[tuple[str, int, int]] = []  # (normalised word, start, end in the written line)
        for token in _TOKEN.finditer(written):
            words += [(word, token.start(), token.end()) for word in normalise(token.group()).split()]
        if not words:
            return (Match(written, "unrecognised"),)
        found: list[Match] = []
        unread: list[tuple[str, int, int]] = []
        position = 0
        while position < len(words):
            for size in range(min(self._longest, len(words) - position), 0, -1):
                key = " ".join(w for w, _, _ in words[position : position + size])
                if key in self._index:
                    found += self._unread(written, unread)
                    unread = []
                    found.append(
                        Match(written[words[position][1] : words[position + size - 1][2]], "recognised", self._index[key], key)
                    )
                    position += size
                    break
            else:
                unread.append(words[position])
                position += 1
        found += self._unread(written, unread)
        unique: list[Match] = []
        for match in found:  # "Zoloft (sertraline)" names one drug
            if match.entry is None or all(match.entry is not m.entry for m in unique):
                unique.append(match)
        if len(unique) == 1 and unique[0].status != "recognised":
            return (Match(written, unique[0].status, unique[0].entry, unique[0].matched_name),)
        return tuple(unique)

    def _unread(self, written: str, words: list[tuple[str, int, int]]) -> list[Match]:
        """Words next to each other that are no known name: a close misspelling of the whole run
        or of single words (unconfirmed), and what is left over as unrecognised."""
        if not words:
            return []

        def text(run: list[tuple[str, int, int]]) -> str:
            return written[run[0][1] : run[-1][2]]  # the run as written

        close = difflib.get_close_matches(" ".join(w for w, _, _ in words), self._index.keys(), n=1, cutoff=FUZZY_CUTOFF)
        if close:
            return [Match(text(words), "unconfirmed", self._index[close[0]], close[0])]
        out: list[Match] = []
        left: list[tuple[str, int, int]] = []
        for word in words:
            close = difflib.get_close_matches(word[0], self._index.keys(), n=1, cutoff=FUZZY_CUTOFF) if len(word[0]) >= 4 else []
            if close:
                if left:
                    out.append(Match(text(left), "unrecognised"))
                    left = []
                out.append(Match(text([word]), "unconfirmed", self._index[close[0]], close[0]))
            else:
                left.append(word)
        if left:
            out.append(Match(text(left), "unrecognised"))
        return out

    def set_aside(self, written: str) -> list[str]:
        """The written words the reader sets aside before matching names: dose, unit, frequency
        and filler ("10 mg", "twice daily"), as written, so a clinician sees what was not read."""
        found: tuple[str, ...] = remember(self._seen_aside, written, self._set_aside)
        return list(found)

    def _set_aside(self, written: str) -> tuple[str, ...]:
        return tuple(t.group() for t in _TOKEN.finditer(written) if not normalise(t.group()))

    def forget(self) -> None:
        """Forget every reading remembered (the next is read afresh, as the first time)."""
        for cache in (self._seen, self._seen_lines, self._seen_aside, self._read_for):
            cache.clear()

    def remembered(self, purpose: str, written: str, read: Callable[[str], _T]) -> _T:
        """``read(written)`` for a line, remembered with this vocabulary (bounded like its own
        readings): for what a report derives from a line's reading alone, per ``purpose``."""
        cache = cast("dict[str, _T]", self._read_for.setdefault(purpose, {}))
        return remember(cache, written, read)

    def match(self, written: str) -> Match:
        return remember(self._seen, written, self._match)

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
