"""The decisions store: reports' digests and clinicians' decisions, append-only and hash-chained.

An embedded SQLite file by default (zero set-up); PostgreSQL by URL when several service
workers or machines write. Both go through SQLAlchemy 2 Core: the tables are declared once
and every query is one expression for both back-ends; only connection set-up and the write
lock differ. Needs the extra: ``pip install 'screening[store]'`` (``[postgresql]`` for
PostgreSQL).

Every write is one transaction that takes the store's write lock, reads the chain's head and
appends one record carrying the head's hash, so concurrent writers line up and a record is
either wholly there or not at all. ``verify()`` recomputes the chain and finds an edited,
deleted or inserted row. The store holds report digests (ids, hashes, flags without answers)
and decisions; intake answers only when a caller passes ``intake=`` explicitly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

try:
    from sqlalchemy import ColumnElement, create_engine, event, func, insert, select, text
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.exc import SQLAlchemyError
except ImportError as error:  # pragma: no cover - exercised without the extra
    from ...errors import ScreeningError

    class StoreSupportMissing(ScreeningError, ImportError):
        pass

    raise StoreSupportMissing("the decisions store needs an extra: pip install 'screening[store]'") from error

from ...errors import Problem, ScreeningError
from ...report.model import Report
from ..model import Decision, DecisionError, DecisionRecord, ReportDigest, canonical_json, digest_report
from . import schema

if TYPE_CHECKING:
    from ...intake.models import Intake
    from ...rulebook.loading import Rulebook

__all__ = ["Store", "StoreError", "open_store", "default_url", "VerifyResult", "GENESIS"]

GENESIS = schema.GENESIS  # the hash before the first record
DEFAULT_FILE = "screening-decisions.sqlite"


class StoreError(ScreeningError):
    """The store could not do what was asked; nothing was written. Never quotes record contents."""


def default_url() -> str:
    """``$SCREENING_STORE`` or a SQLite file in the current folder."""
    return os.environ.get("SCREENING_STORE") or DEFAULT_FILE


def _normalise(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:  # a plain path
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    return url


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


_hash_record = schema.hash_record
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError)  # what a malformed row raises


def _fields(raw: object) -> dict[str, Any]:
    """A stored record's JSON object; ValueError when it is not one (never quotes it)."""
    fields = json.loads(raw) if isinstance(raw, str) else None
    if not isinstance(fields, dict):
        raise TypeError("not a JSON object")
    return fields


@dataclass
class VerifyResult:
    ok: bool
    records: int
    head: str
    problems: list[str] = field(default_factory=list)
    reports: int = 0
    reports_head: str = GENESIS

    @property
    def full_head(self) -> str:
        """The decisions' head and the reports' head, as ``verify --head`` takes them back."""
        return f"{self.head}:{self.reports_head}"


class Store:
    """One store; safe to share between threads. Use :func:`open_store`."""

    def __init__(self, url: str | None = None, *, lock_timeout: float = 30.0):
        self.url = _normalise(url or default_url())
        self.lock_timeout = lock_timeout
        self.dialect = self.url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(
                f"unsupported store URL scheme {self.dialect!r}; use a file path, sqlite:///PATH or postgresql://..."
            )
        # Writers in this process queue here first, handing over at once; the database's own
        # lock (SQLite's busy wait polls and sleeps) then only sorts out other processes.
        self._write_lock = threading.Lock()
        self._digests: dict[str, tuple[ReportDigest, str]] = {}  # stored reports never change (verify checks)
        try:
            self.engine = self._engine()
            self._migrate()
        except SQLAlchemyError as error:
            self._dispose()
            raise self._error(error, "open the store") from None
        except BaseException:  # e.g. a store from a newer screening: close what was opened
            self._dispose()
            raise

    # ------------------------------------------------------------------ connections

    def _engine(self) -> Engine:
        if self.dialect == "sqlite":
            path = self.url.removeprefix("sqlite:///")
            read_only = self._read_only_file(Path(path))
            url = f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true" if read_only else self.url
            engine = create_engine(url, connect_args={"timeout": self.lock_timeout, "check_same_thread": False})
            timeout_ms = int(self.lock_timeout * 1000)

            @event.listens_for(engine, "connect")
            def _sqlite_connect(dbapi: sqlite3.Connection, _record: object) -> None:  # our own BEGIN: the write lock first
                dbapi.isolation_level = None
                cursor = dbapi.cursor()
                if not read_only:
                    cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")  # a committed decision survives a power cut
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn: Connection) -> None:  # readers do not queue behind writers
                conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("screening_read") else "BEGIN IMMEDIATE")

            return engine
        # a stalled server gives an error, never a hang: a bounded connect, statement and pool wait
        timeout_ms = int(self.lock_timeout * 1000)
        return create_engine(
            self.url,
            pool_size=5,
            max_overflow=5,
            pool_recycle=3600,
            pool_timeout=self.lock_timeout,
            connect_args={"connect_timeout": 10, "options": f"-c statement_timeout={timeout_ms}"},
        )

    @staticmethod
    def _read_only_file(path: Path) -> bool:
        """An existing SQLite file on a read-only mount: opened read-only (listing and verifying
        work; a write says the store is read-only)."""
        try:
            return path.is_file() and bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):
            return False

    def _lock(self, conn: Connection) -> None:
        """The store's write lock, held to the end of the transaction (SQLite: BEGIN IMMEDIATE)."""
        if self.dialect == "postgresql":
            conn.execute(
                text("SELECT set_config('lock_timeout', :ms, true), pg_advisory_xact_lock(7412500118)"),
                {"ms": f"{int(self.lock_timeout * 1000)}ms"},
            )

    def _reading(self) -> Connection:
        return self.engine.connect().execution_options(screening_read=True)

    def _dispose(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.dispose()

    def close(self) -> None:
        self._dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, error: Exception, doing: str) -> StoreError:
        """A clear message from a database error, without its SQL or parameters."""
        orig = getattr(error, "orig", error)
        message = str(orig).lower()
        sqlstate = getattr(orig, "sqlstate", None) or ""
        where = self.url.split("@")[-1] if self.dialect == "postgresql" else self.url.removeprefix("sqlite:///")
        if "locked" in message or "busy" in message or sqlstate in ("55P03", "40P01", "57014"):
            return StoreError(
                f"could not {doing}: the decisions store {where} is locked by another writer "
                f"(waited {self.lock_timeout:g} s); nothing was recorded, try again"
            )
        if "disk is full" in message or "no space" in message or sqlstate.startswith("53") or self._disk_full():
            return StoreError(f"could not {doing}: no space left for the decisions store {where}; nothing was recorded")
        if "readonly" in message or "read-only" in message or "permission" in message:
            return StoreError(f"could not {doing}: the decisions store {where} is read-only; nothing was recorded")
        if "unable to open" in message or "connection" in message or "could not connect" in message:
            return StoreError(f"could not {doing}: cannot reach the decisions store {where}")
        kind = type(orig).__name__
        return StoreError(f"could not {doing}: the decisions store {where} reported {kind}; nothing was recorded")

    def _disk_full(self) -> bool:
        """A SQLite file's disk is (nearly) full: SQLite then often says only "disk I/O error"."""
        if self.dialect != "sqlite":
            return False
        try:
            space = os.statvfs(Path(self.url.removeprefix("sqlite:///")).parent)
        except (OSError, AttributeError):
            return False
        return space.f_bavail * space.f_frsize < 64 * 1024

    # ------------------------------------------------------------------ migrations

    def _up_to_date(self) -> bool:
        """Read only: is every migration applied? Then opening writes nothing (a read-only store opens)."""
        with self._reading() as conn:
            if not self.engine.dialect.has_table(conn, schema.schema_version.name):
                return False
            done = set(conn.execute(select(schema.schema_version.c.version)).scalars())
        if done and max(done) > schema.LATEST:
            raise StoreError(
                f"the store is at schema version {max(done)}, newer than this screening "
                f"understands ({schema.LATEST}); upgrade screening"
            )
        return {number for number, _, _ in schema.MIGRATIONS} <= done

    def _migrate(self) -> None:
        if self._up_to_date():
            return
        with self.engine.begin() as conn:
            self._lock(conn)
            schema.metadata.create_all(conn, tables=[schema.schema_version])
            done = set(conn.execute(select(schema.schema_version.c.version)).scalars())
            if done and max(done) > schema.LATEST:
                raise StoreError(
                    f"the store is at schema version {max(done)}, newer than this screening "
                    f"understands ({schema.LATEST}); upgrade screening"
                )
            for number, description, apply in schema.MIGRATIONS:
                if number not in done:
                    apply(conn)
                    conn.execute(
                        insert(schema.schema_version).values(
                            version=number, description=description, applied_at=_iso(dt.datetime.now(dt.UTC))
                        )
                    )

    def schema_version(self) -> int:
        with self._reading() as conn:
            version: int = conn.execute(select(func.max(schema.schema_version.c.version))).scalar_one()
        return version

    # ------------------------------------------------------------------ reports

    def add_report(
        self,
        report: Report | ReportDigest,
        *,
        rulebook: Rulebook | None = None,
        intake: Intake | Mapping[str, Any] | None = None,
    ) -> ReportDigest:
        """Keep a report's digest (idempotent). ``intake=`` also keeps the answers: only on request."""
        digest = report if isinstance(report, ReportDigest) else digest_report(report, rulebook)
        kept = None
        if intake is not None:
            from ...pipeline.screener import parse_intake
            from ...report.model import intake_sha256

            parsed = parse_intake(intake)
            if intake_sha256(parsed) != digest.intake_sha256:
                raise DecisionError(
                    [Problem("intake", None, "this intake is not the one the report was made from (intake_sha256 differs)")]
                )
            kept = parsed.model_dump_json()
        try:
            with self.engine.begin() as conn:
                self._lock(conn)
                existing = conn.execute(
                    select(schema.reports.c.digest_sha256).where(schema.reports.c.report_id == digest.report_id)
                ).scalar_one_or_none()
                if existing is None:
                    stored_at = _iso(dt.datetime.now(dt.UTC))
                    conn.execute(
                        insert(schema.reports).values(
                            report_id=digest.report_id,
                            intake_sha256=digest.intake_sha256,
                            digest=canonical_json(digest.model_dump(mode="json")).decode("utf-8"),
                            digest_sha256=digest.sha256(),
                            stored_at=stored_at,
                            intake=kept,
                        )
                    )
                    last = conn.execute(
                        select(schema.report_chain.c.seq, schema.report_chain.c.record_hash)
                        .order_by(schema.report_chain.c.seq.desc())
                        .limit(1)
                    ).one_or_none()
                    seq, prev = (int(last.seq) + 1, last.record_hash) if last else (1, GENESIS)
                    conn.execute(
                        insert(schema.report_chain).values(
                            **schema.chain_entry(seq, prev, digest.report_id, digest.sha256(), stored_at)
                        )
                    )
                    views = schema.view_rows(digest.report_id, digest.view_ids)
                    if views:
                        conn.execute(insert(schema.report_views), views)
                elif existing != digest.sha256():
                    raise StoreError(
                        f"report {digest.report_id[:12]} is already stored with a different digest; nothing was recorded"
                    )
        except SQLAlchemyError as error:
            raise self._error(error, "store the report") from None
        return digest

    def report(self, report_id: str) -> ReportDigest | None:
        with self._reading() as conn:
            row = conn.execute(
                select(schema.reports.c.digest).where(schema.reports.c.report_id == report_id)
            ).scalar_one_or_none()
        if row is None:
            return None
        try:
            return ReportDigest.model_validate(_fields(row))
        except _UNREADABLE:
            raise StoreError(
                f"report {report_id[:12]}: its stored digest is not readable; run `screening audit verify`"
            ) from None

    def reports_for_view(self, view_id: str) -> list[tuple[ReportDigest, str]]:
        """The stored reports a participant's copy with this ``view_id`` belongs to, with whose copy it is.

        Usually one; several when re-screenings gave this participant the very same copy (their
        view shows only their own answers, so a change in the partner's leaves it as it was).
        Only a report whose hashed digest itself lists the view id is returned."""
        with self._reading() as conn:
            rows = conn.execute(
                select(schema.report_views.c.report_id, schema.report_views.c.participant)
                .join(schema.report_chain, schema.report_chain.c.report_id == schema.report_views.c.report_id)
                .where(schema.report_views.c.view_id == view_id)
                .order_by(schema.report_chain.c.seq)
            ).all()
        found = []
        for row in rows:
            digest = self.report(row.report_id)
            if digest is not None and digest.view_ids.get(row.participant) == view_id:
                found.append((digest, str(row.participant)))
        return found

    def stored_intake(self, report_id: str) -> str | None:
        """The intake answers kept with a report, when the caller asked for that (else None)."""
        with self._reading() as conn:
            kept: str | None = conn.execute(
                select(schema.reports.c.intake).where(schema.reports.c.report_id == report_id)
            ).scalar_one_or_none()
        return kept

    # ------------------------------------------------------------------ decisions

    def record_decision(self, decision: Decision) -> DecisionRecord:
        """Append one decision (validated against its stored report) and return the stored record."""
        return self.record_decisions([decision])[0]

    def record_decisions(self, decisions: list[Decision]) -> list[DecisionRecord]:
        """Append several decisions in one transaction: all of them are recorded or none is."""
        try:
            with self._write_lock, self.engine.begin() as conn:
                self._lock(conn)
                return [self._append(conn, decision) for decision in decisions]
        except SQLAlchemyError as error:
            raise self._error(error, "record the decision") from None

    def _append(self, conn: Connection, decision: Decision) -> DecisionRecord:
        digest, digest_sha256 = self._digest(conn, decision.report_id)
        _, reason_display = digest.check(decision)
        if decision.corrects:
            earlier = self._record_by_id(conn, decision.corrects)
            if earlier is None or earlier.report_id != decision.report_id or earlier.flag_key != decision.flag_key:
                raise DecisionError([Problem("corrects", None, "not an earlier decision on this flag of this report")])
        head = conn.execute(
            select(schema.decisions.c.seq, schema.decisions.c.record_hash).order_by(schema.decisions.c.seq.desc()).limit(1)
        ).one_or_none()
        seq, prev = (head.seq + 1, head.record_hash) if head else (1, GENESIS)
        fields = decision.model_dump(mode="json")
        fields.update(
            decided_at=_iso(decision.decided_at),
            decision_id=str(uuid.uuid4()),
            seq=seq,
            recorded_at=_iso(dt.datetime.now(dt.UTC)),
            reason_display=reason_display,
            report_digest=digest_sha256,
            prev_hash=prev,
        )
        record_hash = _hash_record(fields)
        conn.execute(
            insert(schema.decisions).values(
                seq=seq,
                decision_id=fields["decision_id"],
                report_id=decision.report_id,
                record=canonical_json(fields).decode("utf-8"),
                prev_hash=prev,
                record_hash=record_hash,
            )
        )
        return DecisionRecord(**fields, record_hash=record_hash)

    def _digest(self, conn: Connection, report_id: str) -> tuple[ReportDigest, str]:
        if report_id not in self._digests:
            row = conn.execute(
                select(schema.reports.c.digest, schema.reports.c.digest_sha256).where(schema.reports.c.report_id == report_id)
            ).one_or_none()
            if row is None:
                raise DecisionError(
                    [Problem("report_id", None, f"report {report_id[:12]} is not in the store; add the report first")]
                )
            if len(self._digests) > 10_000:
                self._digests.clear()
            try:
                self._digests[report_id] = (ReportDigest.model_validate(_fields(row.digest)), row.digest_sha256)
            except _UNREADABLE:
                raise StoreError(f"report {report_id[:12]}: its stored digest is not readable; nothing was recorded") from None
        return self._digests[report_id]

    def _record_by_id(self, conn: Connection, decision_id: str) -> DecisionRecord | None:
        row = conn.execute(
            select(schema.decisions.c.record, schema.decisions.c.record_hash).where(schema.decisions.c.decision_id == decision_id)
        ).one_or_none()
        if row is None:
            return None
        try:
            return DecisionRecord(**_fields(row.record), record_hash=row.record_hash)
        except _UNREADABLE:
            raise StoreError("the decision it corrects is not readable; nothing was recorded") from None

    def _records(self, where: ColumnElement[bool] | None = None, unreadable: list[str] | None = None) -> Iterator[DecisionRecord]:
        """The readable records in order. A record that is not readable is named in ``unreadable``
        and skipped; without that list it stops the reading with a StoreError."""
        query = select(schema.decisions.c.seq, schema.decisions.c.record, schema.decisions.c.record_hash).order_by(
            schema.decisions.c.seq
        )
        if where is not None:
            query = query.where(where)
        try:
            with self._reading() as conn:
                for position, row in enumerate(conn.execution_options(yield_per=1000).execute(query), start=1):
                    try:
                        record = DecisionRecord(**_fields(row.record), record_hash=row.record_hash)
                    except _UNREADABLE:
                        label = f"record {row.seq if isinstance(row.seq, int) else f'at position {position}'}: not readable"
                        if unreadable is None:
                            raise StoreError(f"{label}; run `screening audit verify`") from None
                        unreadable.append(label)
                        continue
                    yield record
        except SQLAlchemyError as error:
            raise self._error(error, "read the decisions") from None

    def decisions_for(
        self, report_id: str, *, view: str = "clinician", unreadable: list[str] | None = None
    ) -> list[DecisionRecord]:
        """Every decision on a report, oldest first. ``view=PARTICIPANT``: only decisions on flags in
        that participant's own view (never a pair flag's, never the other's). ``unreadable``: see
        :meth:`audit_log`."""
        records = list(self._records(schema.decisions.c.report_id == report_id, unreadable))
        if view == "clinician":
            return records
        digest = self.report(report_id)
        if digest is None:
            return []
        if view not in digest.participants:
            raise DecisionError([Problem("view", None, f"no participant {view!r} in report {report_id[:12]}")])
        visible = {f.key for f in digest.flags if f.visible_to(view)}
        return [r for r in records if r.flag_key in visible]

    def audit_log(
        self,
        *,
        report_id: str | None = None,
        reviewer: str | None = None,
        since: dt.datetime | None = None,
        unreadable: list[str] | None = None,
    ) -> list[DecisionRecord]:
        """The decisions in the order they were recorded, optionally for one report or reviewer or since a time.
        A record that is not readable raises StoreError, or, given a list ``unreadable``, is named there
        and skipped (``audit list`` and ``export`` go on and say so)."""
        records = self._records(schema.decisions.c.report_id == report_id if report_id else None, unreadable)
        return [r for r in records if (reviewer is None or r.reviewer == reviewer) and (since is None or r.recorded_at >= since)]

    # ------------------------------------------------------------------ verification

    def verify(self, *, head: str | None = None) -> VerifyResult:
        """Recompute both chains: every record's hash, its link to the one before, the numbering, and
        the stored report digest it names; every stored report must be in the reports' chain. ``head``:
        a head noted earlier (``full_head``, or the decisions' head alone) must still be in the chains
        (this is what finds the newest records deleted). A row that is not readable is a problem
        ("not readable"), never an exception and never quoted."""
        decisions_head, _, reports_head = (head or "").partition(":")
        problems: list[str] = []
        try:
            with self._reading() as conn:
                digests = self._verify_reports(conn, problems)
                chained, reports_seen, reports_last = self._verify_report_chain(conn, digests, problems, reports_head)
                for report_id in sorted(set(digests) - chained):
                    problems.append(f"report {report_id[:12]}: not in the reports' chain (inserted)")
                self._verify_views(conn, problems)
                count, decisions_seen, prev = self._verify_decisions(conn, digests, problems, decisions_head)
        except SQLAlchemyError as error:
            raise self._error(error, "verify the store") from None
        if decisions_head and not decisions_seen:
            problems.append("the head noted earlier is no longer in the chain: the newest records were deleted or replaced")
        if reports_head and not reports_seen:
            problems.append("the reports' head noted earlier is no longer in the chain: stored reports were deleted or replaced")
        return VerifyResult(
            ok=not problems,
            records=count,
            head=prev,
            problems=problems,
            reports=len(chained),
            reports_head=reports_last,
        )

    @staticmethod
    def _verify_reports(conn: Connection, problems: list[str]) -> dict[str, str]:
        digests: dict[str, str] = {}
        for row in conn.execute(select(schema.reports.c.report_id, schema.reports.c.digest, schema.reports.c.digest_sha256)):
            label = f"report {str(row.report_id)[:12]}"
            try:
                fields = _fields(row.digest)
                actual = ReportDigest.model_validate(fields).sha256()
            except _UNREADABLE:
                problems.append(f"{label}: not readable")
                digests[row.report_id] = ""
                continue
            if actual != row.digest_sha256 or fields.get("report_id") != row.report_id:
                problems.append(f"{label}: its stored digest was edited")
            digests[row.report_id] = row.digest_sha256
        return digests

    @staticmethod
    def _verify_views(conn: Connection, problems: list[str]) -> None:
        """The view index says what the hashed digests say: no row added, none lost."""
        listed: set[tuple[str, str, str]] = set()
        for row in conn.execute(select(schema.reports.c.report_id, schema.reports.c.digest)):
            try:
                ids = ReportDigest.model_validate(_fields(row.digest)).view_ids
            except _UNREADABLE:
                continue  # already reported by _verify_reports
            listed |= {(v["view_id"], v["report_id"], v["participant"]) for v in schema.view_rows(row.report_id, ids)}
        indexed = {(str(r.view_id), str(r.report_id), str(r.participant)) for r in conn.execute(select(schema.report_views))}
        for view_id, report_id, _ in sorted(indexed - listed):
            problems.append(f"view {view_id[:12]}: bound to report {report_id[:12]}, whose digest does not list it (inserted)")
        for view_id, report_id, _ in sorted(listed - indexed):
            problems.append(f"view {view_id[:12]} of report {report_id[:12]}: missing from the view index (deleted)")

    @staticmethod
    def _verify_report_chain(
        conn: Connection, digests: dict[str, str], problems: list[str], head: str
    ) -> tuple[set[str], bool, str]:
        prev, count, seen, chained = GENESIS, 0, not head, set()
        for row in conn.execute(select(schema.report_chain).order_by(schema.report_chain.c.seq)):
            count += 1
            label = f"report record {row.seq}"
            try:
                fields = _fields(row.record)
                if row.seq != count:
                    problems.append(f"{label}: expected number {count}; report record(s) before it are missing")
                    count = int(row.seq)
                if row.prev_hash != prev or fields.get("prev_hash") != prev:
                    problems.append(f"{label}: does not follow the one before it (a report was removed or inserted)")
                if _hash_record(fields) != row.record_hash:
                    problems.append(f"{label}: its content does not match its hash (edited)")
                if fields.get("report_id") != row.report_id or fields.get("seq") != row.seq:
                    problems.append(f"{label}: its columns do not match its hashed content (edited)")
                if row.report_id not in digests:
                    problems.append(f"{label}: its report was deleted")
                elif digests[row.report_id] != fields.get("digest_sha256"):
                    problems.append(f"{label}: its report's digest was replaced")
            except _UNREADABLE:
                problems.append(f"{label}: not readable")
            chained.add(row.report_id)
            prev = row.record_hash
            seen = seen or row.record_hash == head
        return chained, seen, prev

    @staticmethod
    def _verify_decisions(conn: Connection, digests: dict[str, str], problems: list[str], head: str) -> tuple[int, bool, str]:
        prev, count, seen = GENESIS, 0, not head
        decided: set[str] = set()
        rows = conn.execution_options(yield_per=1000).execute(select(schema.decisions).order_by(schema.decisions.c.seq))
        for row in rows:
            count += 1
            label = f"record {row.seq}" if isinstance(row.seq, int) else f"record {count}"
            try:
                fields = _fields(row.record)
                if not isinstance(row.seq, int):
                    raise TypeError("seq is not a number")
                if row.seq != count:
                    problems.append(f"{label}: expected number {count}; {row.seq - count} record(s) before it are missing")
                    count = row.seq
                if row.prev_hash != prev or fields.get("prev_hash") != prev:
                    problems.append(f"{label}: does not follow the record before it (a record was removed or inserted)")
                if _hash_record(fields) != row.record_hash:
                    problems.append(f"{label}: its content does not match its hash (edited)")
                if (
                    fields.get("seq") != row.seq
                    or fields.get("decision_id") != row.decision_id
                    or fields.get("report_id") != row.report_id
                ):
                    problems.append(f"{label}: its columns do not match its hashed content (edited)")
                if digests.get(row.report_id) != fields.get("report_digest"):
                    problems.append(f"{label}: the report it is about is missing or was edited")
                corrects = fields.get("corrects")
                if corrects and corrects not in decided:
                    problems.append(f"{label}: corrects a decision that is not earlier in the chain")
                DecisionRecord(**fields, record_hash=row.record_hash)  # readable as a decision
            except _UNREADABLE:
                problems.append(f"{label}: not readable")
            decided.add(row.decision_id)
            prev = row.record_hash
            seen = seen or row.record_hash == head
        return count, seen, prev


def open_store(url: str | None = None, *, lock_timeout: float = 30.0) -> Store:
    """Open (and create or migrate) a store: a file path or ``sqlite:///PATH``, or ``postgresql://...``;
    default ``$SCREENING_STORE`` or ``screening-decisions.sqlite`` here."""
    return Store(url, lock_timeout=lock_timeout)
