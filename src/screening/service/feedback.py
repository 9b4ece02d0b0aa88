"""CDS Hooks feedback: what a clinician did with a card, checked against the card itself.

The service remembers each card it issued (rule, participant, patients, the override reasons
it offered, the report it came from; never an answer) in a :class:`CardLog`, so feedback can be
checked: the card exists and came from this service, the outcome is ``accepted`` or
``overridden``, an override reason is a Coding (one the card offered, or the client's own). Valid feedback goes to a
:class:`FeedbackSink` (the clinician-decisions store plugs in here); without one it is validated
and acknowledged but not kept.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from .hooks import HookError

if TYPE_CHECKING:
    from ..report.model import Report
    from ..rulebook.loading import Rulebook

__all__ = [
    "CardRecord",
    "FeedbackRecord",
    "FeedbackOutcome",
    "CardLog",
    "MemoryCardLog",
    "FeedbackSink",
    "ReportKeeper",
    "parse_feedback",
]

MAX_ENTRIES = 100
MAX_COMMENT = 2000

FeedbackOutcome = Literal["accepted", "overridden"]


@dataclass(frozen=True)
class CardRecord:
    """What the service needs to know about a card it issued, to check feedback on it."""

    uuid: str
    service_id: str
    hook_instance: str
    rule_id: str
    participant: str  # the participant label, or "pair"
    patients: tuple[str, ...]  # the FHIR patients the flag rests on
    override_reasons: tuple[tuple[str, str], ...]  # (system, code) offered on the card
    report_id: str | None
    rulebook_sha256: str
    user: str = ""  # context.userId of the call the card was shown in


@dataclass(frozen=True)
class FeedbackRecord:
    """One validated feedback entry, as handed to the sink."""

    card_uuid: str
    service_id: str
    hook_instance: str
    report_id: str | None
    rule_id: str
    participant: str
    patients: tuple[str, ...]
    rulebook_sha256: str
    outcome: FeedbackOutcome
    override_reason: dict[str, str] | None  # the Coding chosen, when one was
    user_comment: str | None
    outcome_time: dt.datetime
    received_time: dt.datetime
    reviewer: str | None = None  # the user the card was shown to (context.userId), who acted on it
    reason_offered: bool = True  # False: an override reason the client added (CDS Hooks 2.0 allows it)


class CardLog(Protocol):
    def remember(self, records: list[CardRecord]) -> None: ...
    def find(self, card_uuid: str) -> CardRecord | None: ...


class FeedbackSink(Protocol):
    def record(self, entries: list[FeedbackRecord]) -> None: ...


@runtime_checkable
class ReportKeeper(Protocol):
    """A sink that also keeps each report the cards came from (the decisions store does), so
    feedback can be bound to it."""

    def add_report(self, report: Report, rulebook: Rulebook | None = None) -> None: ...


class MemoryCardLog:
    """Cards issued by this process, kept for ``ttl`` seconds, at most ``limit`` of them.

    Per process: with several workers, feedback on a card issued by another worker is not
    found unless a shared log (the decisions store) is passed to the app.
    """

    def __init__(self, limit: int = 200_000, ttl: float = 7 * 24 * 3600):
        self.limit, self.ttl = limit, ttl
        self._cards: OrderedDict[str, tuple[float, CardRecord]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, records: list[CardRecord]) -> None:
        now = time.monotonic()
        with self._lock:
            for record in records:
                self._cards[record.uuid] = (now, record)
                self._cards.move_to_end(record.uuid)
            while len(self._cards) > self.limit:
                self._cards.popitem(last=False)

    def find(self, card_uuid: str) -> CardRecord | None:
        with self._lock:
            found = self._cards.get(card_uuid)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]


def _invalid(message: str, where: str) -> HookError:
    return HookError(422, "invalid", message, where)


def _timestamp(value: Any, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise _invalid(f"{where}: outcomeTimestamp is required (an ISO 8601 time in UTC)", where)
    try:
        parsed = dt.datetime.fromisoformat(value)  # "Z" included (Python 3.11+)
    except ValueError:
        raise _invalid(f"{where}: outcomeTimestamp is not an ISO 8601 time", where) from None
    if parsed.tzinfo is None:
        raise _invalid(f"{where}: outcomeTimestamp needs a time zone (UTC)", where)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00, past the last representable time
        raise _invalid(f"{where}: outcomeTimestamp is out of range", where) from None


def parse_feedback(body: Any, service_id: str, log: CardLog) -> list[FeedbackRecord]:
    """Every entry checked against its card; one bad entry rejects the whole request."""
    if not isinstance(body, Mapping) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise HookError(400, "invalid", "the body must be an object with a non-empty 'feedback' array", "feedback")
    if len(body["feedback"]) > MAX_ENTRIES:
        raise HookError(400, "too-costly", f"at most {MAX_ENTRIES} feedback entries per request", "feedback")
    received = dt.datetime.now(dt.UTC)
    out = []
    for index, entry in enumerate(body["feedback"]):
        where = f"feedback[{index}]"
        if not isinstance(entry, Mapping):
            raise HookError(400, "invalid", f"{where} must be an object", where)
        card = log.find(entry["card"]) if isinstance(entry.get("card"), str) else None
        if not isinstance(entry.get("card"), str):
            raise _invalid(f"{where}.card is required: the uuid of the card acted on", f"{where}.card")
        if card is None or card.service_id != service_id:
            raise HookError(
                404, "not-found", f"{where}.card: this service issued no such card (or it has expired)", f"{where}.card"
            )
        outcome = entry.get("outcome")
        if outcome not in ("accepted", "overridden"):
            raise _invalid(f"{where}.outcome must be 'accepted' or 'overridden'", f"{where}.outcome")
        # CDS Hooks 2.0 §"Feedback" (https://cds-hooks.hl7.org/2.0/#feedback): acceptedSuggestions is
        # "Required for accepted outcomes"; these cards offer no suggestions, so none can be accepted.
        if outcome == "accepted":
            raise _invalid(
                f"{where}: outcome 'accepted' needs acceptedSuggestions, and this card has no suggestions to accept "
                "(send 'overridden', or no feedback when the card is simply read)",
                f"{where}.acceptedSuggestions",
            )
        reason = entry.get("overrideReason")
        coding: dict[str, str] | None = None
        comment: str | None = None
        offered_by_card = True
        if reason is not None:
            # §"OverrideReason" (https://cds-hooks.hl7.org/2.0/#overridereason): a reason Coding, a userComment, or both
            if not isinstance(reason, Mapping) or not (reason.get("reason") or reason.get("userComment")):
                raise _invalid(f"{where}.overrideReason needs a reason (a Coding) or a userComment", f"{where}.overrideReason")
            chosen = reason.get("reason")
            if chosen is not None:
                system, code = (chosen.get("system"), chosen.get("code")) if isinstance(chosen, Mapping) else (None, None)
                if not all(isinstance(v, str) and 0 < len(v) <= 256 for v in (system, code)):
                    raise _invalid(
                        f"{where}.overrideReason.reason must be a Coding with a system and a code",
                        f"{where}.overrideReason.reason",
                    )
                # §"Card Attributes" (https://cds-hooks.hl7.org/2.0/#card-attributes): "A CDS Client MAY augment
                # the override reasons presented to the user with its own reasons": kept, marked as the client's
                offered_by_card = (system, code) in card.override_reasons
                coding = {"system": str(system), "code": str(code)}
                display = chosen.get("display")
                if isinstance(display, str) and 0 < len(display) <= 256:
                    coding["display"] = display
            comment = reason.get("userComment")
            if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
                raise _invalid(
                    f"{where}.overrideReason.userComment must be text of at most {MAX_COMMENT} characters",
                    f"{where}.overrideReason.userComment",
                )
        out.append(
            FeedbackRecord(
                card_uuid=card.uuid,
                service_id=service_id,
                hook_instance=card.hook_instance,
                report_id=card.report_id,
                rule_id=card.rule_id,
                participant=card.participant,
                patients=card.patients,
                rulebook_sha256=card.rulebook_sha256,
                outcome=outcome,
                override_reason=coding,
                user_comment=comment,
                outcome_time=_timestamp(entry.get("outcomeTimestamp"), where),
                received_time=received,
                reviewer=card.user or None,
                reason_offered=offered_by_card,
            )
        )
    return out
