"""Clinical review records, tied to each rule's content.

A rule's content hash covers what a reviewer signs off: its logic, severity, texts, sources
and examples (not its status or dates). A review record names the reviewer, their role, the
date, the decision, comments and the answered checklist, and the hash and content it saw. The
records are one JSON object per line in ``reviews.jsonl`` beside the rule files, appended by
``screening rules review``. A rule has one status (draft, in review, approved, changes
requested, changed since approval), the same in check, docs and reports; one whose hash differs
from the one its last approval saw is "changed since approval", and the stored content shows
what changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from .review_records import (
    CHECKLIST,
    CORE_ITEMS,
    DECISIONS,
    REVIEWS_FILE,
    ROLES,
    TRANSLATION_CHECKLIST,
    TRANSLATION_REVIEWS_FILE,
    ChecklistAnswer,
    ChecklistItem,
    ReviewDecision,
    ReviewRecord,
    TranslationItem,
    TranslationReviewRecord,
    is_answer,
    is_item,
    read_records,
    read_translation_records,
)

if TYPE_CHECKING:
    from .loading import Rule, Rulebook

__all__ = [
    "CHECKLIST",
    "DECISIONS",
    "ReviewDecision",
    "ChecklistItem",
    "ChecklistAnswer",
    "RuleStatus",
    "STATUSES",
    "least_settled",
    "REVIEWS_FILE",
    "ReviewRecord",
    "ReviewState",
    "content",
    "content_hash",
    "read_records",
    "state_of",
    "new_record",
    "append",
    "unverified_items",
    "ROLES",
    "CORE_ITEMS",
    "TranslationState",
    "translation_state",
    "new_translation_record",
    "append_translation",
]

# Rule-file fields that are bookkeeping, not content a reviewer signs off.
_NOT_CONTENT = ("status", "reviewed_by", "reviewed", "written")

# Limitation wording that marks something a reviewer must confirm before signing off.
UNVERIFIED_MARKERS = re.compile(
    r"\[R\]|\[S\]|\[NF\]|secondary|re-check|by analogy|unverified|not verified|could not (?:be )?(?:verified|confirmed|found)|not confirmed",
    re.IGNORECASE,
)


def content(rule: Rule, book: Rulebook) -> dict[str, Any]:
    """What a review covers: the validated rule file without its bookkeeping fields."""
    data = rule.meta.model_dump(mode="json")
    for key in _NOT_CONTENT:
        data.pop(key, None)
    if rule.uses:  # a named condition is part of the logic of every rule that uses it
        data["named_conditions"] = rule.uses
    if rule.params:  # so is the value of a parameter it reads
        data["parameters"] = {name: book.parameters[name].default for name in sorted(rule.params) if name in book.parameters}
    return data


def content_hash(rule: Rule, book: Rulebook) -> str:
    text = json.dumps(content(rule, book), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ReviewState:
    """Where a rule stands: ``state`` is its one status (a STATUSES key), the same in
    ``rules check``, the docs and every report."""

    state: RuleStatus
    current_sha256: str
    last: ReviewRecord | None  # the latest record for this rule, whatever its hash
    approval: ReviewRecord | None  # the latest approval, whatever its hash

    @property
    def label(self) -> str:
        return self.state


RuleStatus = Literal["draft", "in review", "approved", "changes requested", "changed since approval"]

STATUSES: dict[RuleStatus, str] = {
    "draft": "written and tested, no review recorded yet",
    "in review": "marked reviewed in its file, or changed after a request for changes, with no decision recorded on its current content",
    "approved": "a named clinician approved its current content",
    "changes requested": "the last decision on its current content asks for changes (or rejects it)",
    "changed since approval": "it changed after its last approval, which no longer counts",
}
# for a finding that covers several rules: the least settled status first
STATUS_ORDER: tuple[RuleStatus, ...] = ("changes requested", "changed since approval", "draft", "in review", "approved")


def least_settled(statuses: list[RuleStatus]) -> RuleStatus:
    """The status of a finding covering several rules: approved only when every rule is."""
    return min(statuses, key=STATUS_ORDER.index)


def state_of(book: Rulebook, rule: Rule) -> ReviewState:
    """The rule's one status, from the review records on its current content (the latest
    decides) and, without one, from its file's status and older records."""
    return book.derived(("review", rule.id), lambda: _state(book, rule))


def _state(book: Rulebook, rule: Rule) -> ReviewState:
    current = content_hash(rule, book)
    mine = [r for r in book.reviews if r.rule_id == rule.id]
    last = mine[-1] if mine else None
    approvals = [r for r in mine if r.decision == "approved"]
    approval = approvals[-1] if approvals else None
    on_current = [r for r in mine if r.rule_sha256 == current]
    state: RuleStatus
    if on_current:
        state = "approved" if on_current[-1].decision == "approved" else "changes requested"
    elif approval is not None:
        state = "changed since approval"
    elif mine or rule.meta.status == "reviewed":  # changed after a request, or marked reviewed without a record
        state = "in review"
    else:
        state = "draft"
    return ReviewState(state, current, last, approval)


def _signer_problems(
    reviewer: str, role: str, date: dt.date, today: dt.date | None, checklist: dict[str, str], items: Collection[str]
) -> list[str]:
    """What a rule review and a translation check both ask of the person signing and of their
    checklist: a full name, a known role, a date not in the future, known items answered yes, no or n/a."""
    problems: list[str] = []
    if len(reviewer) < 2 or " " not in reviewer:
        problems.append("--reviewer: the reviewer's full name (a given name and a family name)")
    if role not in ROLES and not (role.startswith("other:") and len(role.removeprefix("other:").strip()) >= 2):
        problems.append(f"--role: one of {', '.join(ROLES)}, or other:ROLE")
    if date > (today or dt.date.today()):
        problems.append(f"--date {date} is in the future")
    unknown = sorted(k for k in checklist if k not in items)
    if unknown:
        problems.append(f"unknown checklist item(s) {', '.join(unknown)}; the items are {', '.join(items)}")
    bad = sorted(k for k, v in checklist.items() if not is_answer(v))
    if bad:
        problems.append(f"checklist answers are yes, no or n/a ({', '.join(bad)})")
    return problems


def new_record(
    rule: Rule,
    *,
    book: Rulebook,
    reviewer: str,
    role: str,
    decision: ReviewDecision,
    comments: str,
    checklist: dict[str, str],
    date: dt.date,
    today: dt.date | None = None,
    registration: str = "",
    recorded_by: str = "",
) -> ReviewRecord:
    """A validated record; raises ValueError, one line naming each field that is wrong."""
    reviewer, role = reviewer.strip(), role.strip()
    problems = _signer_problems(reviewer, role, date, today, checklist, CHECKLIST)
    if decision == "approved":
        unanswered = [k for k in CHECKLIST if k not in checklist]
        if unanswered:
            problems.append("an approval answers every checklist item; missing: " + ", ".join(unanswered))
        not_yes = [k for k in CORE_ITEMS if k in checklist and checklist[k] != "yes"]
        if not_yes:
            problems.append("an approval answers yes to " + ", ".join(CORE_ITEMS) + "; not yes: " + ", ".join(not_yes))
        refused = [k for k, v in checklist.items() if v == "no" and k not in CORE_ITEMS]
        if refused:
            problems.append(
                "an approval with checklist item(s) answered 'no' (" + ", ".join(refused) + "): request changes instead"
            )
    elif not comments.strip():
        problems.append(f"a decision of {decision!r} needs --comment saying what to change")
    if problems:
        raise ValueError("; ".join(problems))
    answers: dict[ChecklistItem, ChecklistAnswer] = {}
    for key, value in checklist.items():
        if is_item(key) and is_answer(value):  # all of them, checked above
            answers[key] = value
    try:
        return ReviewRecord(
            rule_id=rule.id,
            rule_sha256=content_hash(rule, book),
            reviewer=reviewer,
            role=role,
            date=date,
            decision=decision,
            comments=comments.strip(),
            checklist=answers,
            content=content(rule, book),
            registration=registration.strip(),
            recorded_by=recorded_by.strip(),
        )
    except ValidationError as error:
        raise ValueError(_option_errors(error)) from None


def _option_errors(error: ValidationError) -> str:
    """A record's validation errors in one line, each named by the command-line option that set it
    (never the input, never pydantic's help URL)."""
    return "; ".join(
        f"--{'.'.join(str(p) for p in e['loc']).replace('comments', 'comment')}: {e['msg'].removeprefix('Value error, ')}"
        for e in error.errors(include_input=False, include_url=False)
    )


def _append_line(path: Path, record: BaseModel) -> Path:
    line = json.dumps(record.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return path


def append(root: Path, record: ReviewRecord) -> Path:
    """Add one record at the end of the file (records are never rewritten)."""
    return _append_line(root / REVIEWS_FILE, record)


def unverified_items(rule: Rule) -> list[str]:
    """The limitations a reviewer must confirm: secondary copies, sources not found,
    thresholds applied by analogy or to re-check (see UNVERIFIED_MARKERS)."""
    return [" ".join(text.split()) for text in rule.meta.limitations if UNVERIFIED_MARKERS.search(text)]


# ---------------------------------------------------------------------------- translation checks

TranslationStateName = Literal["not-reviewed", "approved", "changed-since-review", "changes-requested", "rejected"]
TRANSLATION_STATES: dict[TranslationStateName, str] = {
    "not-reviewed": "not reviewed",
    "approved": "approved",
    "changed-since-review": "changed since review",
    "changes-requested": "changes requested",
    "rejected": "rejected",
}


@dataclass(frozen=True)
class TranslationState:
    """Where a language's catalogue stands: ``state`` as for a rule, against the catalogue's hash."""

    lang: str
    state: TranslationStateName
    current_sha256: str
    texts: int
    approval: TranslationReviewRecord | None  # the latest approval, whatever its hash

    @property
    def label(self) -> str:
        return "not yet reviewed" if self.state == "not-reviewed" else TRANSLATION_STATES[self.state]

    def line(self) -> str:
        """One line for ``i18n check`` and ``rules check``."""
        if self.state == "approved" and self.approval is not None:
            a = self.approval
            return f"{self.lang}: checked by {a.reviewer} ({a.role}) on {a.date} (catalogue sha256 {self.current_sha256[:16]})"
        if self.state == "changed-since-review" and self.approval is not None:
            return (
                f"{self.lang}: changed since its check on {self.approval.date}: not yet reviewed by a clinician "
                f"who reads it (catalogue sha256 {self.current_sha256[:16]})"
            )
        what = "not yet reviewed by a clinician who reads it" if self.state == "not-reviewed" else TRANSLATION_STATES[self.state]
        return f"{self.lang}: {what} (catalogue sha256 {self.current_sha256[:16]})"


def translation_state(root: Path, lang: str) -> TranslationState:
    """The latest check on the catalogue's current content (``root``: the rules folder the records
    are kept in); an approval of an earlier catalogue is "changed since review"."""
    from ..i18n import catalogue_sha256

    current, texts = catalogue_sha256(lang)
    problems: list[Any] = []
    mine = [r for r in read_translation_records(root, problems) if r.lang == lang]
    if problems:
        from ..errors import RulebookError

        raise RulebookError(problems)
    approvals = [r for r in mine if r.decision == "approved"]
    on_current = [r for r in mine if r.catalogue_sha256 == current]
    state: TranslationStateName
    if on_current:
        state = on_current[-1].decision
    elif approvals:
        state = "changed-since-review"
    else:
        state = "not-reviewed"
    return TranslationState(lang, state, current, texts, approvals[-1] if approvals else None)


def new_translation_record(
    lang: str,
    *,
    reviewer: str,
    role: str,
    decision: ReviewDecision,
    comments: str,
    checklist: dict[str, str],
    date: dt.date,
    today: dt.date | None = None,
    registration: str = "",
    recorded_by: str = "",
) -> TranslationReviewRecord:
    """A validated record of a translation check; raises ValueError naming each wrong field."""
    from ..i18n import catalogue_sha256

    reviewer, role = reviewer.strip(), role.strip()
    problems = _signer_problems(reviewer, role, date, today, checklist, TRANSLATION_CHECKLIST)
    if decision == "approved":
        not_yes = [k for k in TRANSLATION_CHECKLIST if checklist.get(k) != "yes"]
        if not_yes:
            problems.append("an approval answers yes to " + ", ".join(TRANSLATION_CHECKLIST) + "; not yes: " + ", ".join(not_yes))
    elif not comments.strip():
        problems.append(f"a decision of {decision!r} needs --comment saying what to change")
    if problems:
        raise ValueError("; ".join(problems))
    answers: dict[TranslationItem, ChecklistAnswer] = {}
    for key, value in checklist.items():
        if key in TRANSLATION_CHECKLIST and is_answer(value):
            answers[key] = value  # a TranslationItem, checked just above
    current, texts = catalogue_sha256(lang)
    try:
        return TranslationReviewRecord(
            lang=lang,
            catalogue_sha256=current,
            texts=texts,
            reviewer=reviewer,
            role=role,
            date=date,
            decision=decision,
            comments=comments.strip(),
            checklist=answers,
            registration=registration.strip(),
            recorded_by=recorded_by.strip(),
        )
    except ValidationError as error:
        raise ValueError(_option_errors(error)) from None


def append_translation(root: Path, record: TranslationReviewRecord) -> Path:
    """Add one translation check at the end of the file (records are never rewritten)."""
    return _append_line(root / TRANSLATION_REVIEWS_FILE, record)
