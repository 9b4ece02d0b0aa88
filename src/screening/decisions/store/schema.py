"""The store's tables, declared once for SQLite and PostgreSQL, and its numbered migrations.

Everything that is hashed is kept as text (times as ISO 8601, digests as canonical JSON), so
a record reads back byte for byte the same on both back-ends and its hash can be recomputed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
)

from ..model import canonical_json

metadata = MetaData()

schema_version = Table(
    "screening_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", String(40), nullable=False),
)

reports = Table(
    "screening_reports",
    metadata,
    Column("report_id", String(64), primary_key=True),
    Column("intake_sha256", String(64), nullable=False),
    Column("digest", Text, nullable=False),  # ReportDigest as canonical JSON: ids, hashes, flags; no answers
    Column("digest_sha256", String(64), nullable=False),
    Column("stored_at", String(40), nullable=False),
    Column("intake", Text, nullable=True),  # the intake answers, only when the caller asked to keep them
)

decisions = Table(
    "screening_decisions",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),  # 1, 2, 3 ... with no gaps
    Column("decision_id", String(36), nullable=False, unique=True),
    Column("report_id", String(64), ForeignKey("screening_reports.report_id"), nullable=False),
    Column("record", Text, nullable=False),  # the hashed fields as canonical JSON
    Column("prev_hash", String(64), nullable=False, unique=True),  # two records can never follow the same one
    Column("record_hash", String(64), nullable=False, unique=True),
    Index("screening_decisions_by_report", "report_id"),
)

report_chain = Table(  # every stored report, chained like the decisions: a report without decisions is covered too
    "screening_report_chain",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("report_id", String(64), ForeignKey("screening_reports.report_id"), nullable=False, unique=True),
    Column("record", Text, nullable=False),  # seq, report_id, digest_sha256, stored_at, prev_hash as canonical JSON
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("record_hash", String(64), nullable=False, unique=True),
)

# Each participant's copy -> its report: a printed copy's view_id finds the report. One view id can
# belong to several reports: a view shows only its participant's answers, so a re-screening after
# the partner's answers changed gives the same copy (and id) under a new report id.
report_views = Table(
    "screening_report_views",
    metadata,
    Column("view_id", String(64), primary_key=True),
    Column("report_id", String(64), primary_key=True),  # no foreign key: verify checks it against the hashed digest
    Column("participant", String(200), nullable=False),
    Index("screening_report_views_by_report", "report_id"),
)

GENESIS = "0" * 64  # the hash before the first record of a chain


def hash_record(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(record)).hexdigest()


def chain_entry(seq: int, prev: str, report_id: str, digest_sha256: str, stored_at: str) -> dict[str, Any]:
    """The row of ``report_chain`` that keeps one stored report in the chain."""
    fields = {"seq": seq, "report_id": report_id, "digest_sha256": digest_sha256, "stored_at": stored_at, "prev_hash": prev}
    return {
        "seq": seq,
        "report_id": report_id,
        "record": canonical_json(fields).decode("utf-8"),
        "prev_hash": prev,
        "record_hash": hash_record(fields),
    }


_APPEND_ONLY_SQLITE: list[str] = [
    (
        "CREATE TRIGGER screening_decisions_no_update BEFORE UPDATE ON screening_decisions "
        "BEGIN SELECT RAISE(ABORT, 'screening_decisions is append-only'); END"
    ),
    (
        "CREATE TRIGGER screening_decisions_no_delete BEFORE DELETE ON screening_decisions "
        "BEGIN SELECT RAISE(ABORT, 'screening_decisions is append-only'); END"
    ),
    (
        "CREATE TRIGGER screening_reports_no_update BEFORE UPDATE ON screening_reports "
        "BEGIN SELECT RAISE(ABORT, 'screening_reports is append-only'); END"
    ),
]
_APPEND_ONLY_POSTGRESQL: list[str] = [
    (
        "CREATE FUNCTION screening_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    ),
    (
        "CREATE TRIGGER screening_decisions_append_only BEFORE UPDATE OR DELETE ON screening_decisions "
        "FOR EACH ROW EXECUTE FUNCTION screening_append_only()"
    ),
    (
        "CREATE TRIGGER screening_reports_append_only BEFORE UPDATE ON screening_reports "
        "FOR EACH ROW EXECUTE FUNCTION screening_append_only()"
    ),
]


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[reports, decisions])
    for statement in _APPEND_ONLY_POSTGRESQL if conn.dialect.name == "postgresql" else _APPEND_ONLY_SQLITE:
        conn.execute(text(statement))


_V2_SQLITE: list[str] = [
    (
        "CREATE TRIGGER screening_reports_no_delete BEFORE DELETE ON screening_reports "
        "BEGIN SELECT RAISE(ABORT, 'screening_reports is append-only'); END"
    ),
    (
        "CREATE TRIGGER screening_report_chain_no_update BEFORE UPDATE ON screening_report_chain "
        "BEGIN SELECT RAISE(ABORT, 'screening_report_chain is append-only'); END"
    ),
    (
        "CREATE TRIGGER screening_report_chain_no_delete BEFORE DELETE ON screening_report_chain "
        "BEGIN SELECT RAISE(ABORT, 'screening_report_chain is append-only'); END"
    ),
]
# Row triggers do not fire on TRUNCATE: a statement trigger refuses it (SQLite has no TRUNCATE;
# its DELETE without WHERE runs the row triggers).
_V2_POSTGRESQL: list[str] = [
    (
        "CREATE TRIGGER screening_reports_no_delete BEFORE DELETE ON screening_reports "
        "FOR EACH ROW EXECUTE FUNCTION screening_append_only()"
    ),
    (
        "CREATE TRIGGER screening_report_chain_append_only BEFORE UPDATE OR DELETE ON screening_report_chain "
        "FOR EACH ROW EXECUTE FUNCTION screening_append_only()"
    ),
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION screening_append_only()"
        for table in ("screening_decisions", "screening_reports", "screening_report_chain", "screening_schema_version")
    ),
]


def _v2(conn: Connection) -> None:
    metadata.create_all(conn, tables=[report_chain])
    prev = GENESIS
    stored = conn.execute(
        select(reports.c.report_id, reports.c.digest_sha256, reports.c.stored_at).order_by(
            reports.c.stored_at, reports.c.report_id
        )
    )
    for seq, row in enumerate(stored.all(), start=1):
        entry = chain_entry(seq, prev, row.report_id, row.digest_sha256, row.stored_at)
        conn.execute(insert(report_chain).values(**entry))
        prev = entry["record_hash"]
    for statement in _V2_POSTGRESQL if conn.dialect.name == "postgresql" else _V2_SQLITE:
        conn.execute(text(statement))


_V3_SQLITE: list[str] = [
    (
        f"CREATE TRIGGER screening_report_views_no_{what} BEFORE {what.upper()} ON screening_report_views "
        "BEGIN SELECT RAISE(ABORT, 'screening_report_views is append-only'); END"
    )
    for what in ("update", "delete")
]
_V3_POSTGRESQL: list[str] = [
    (
        "CREATE TRIGGER screening_report_views_append_only BEFORE UPDATE OR DELETE ON screening_report_views "
        "FOR EACH ROW EXECUTE FUNCTION screening_append_only()"
    ),
    (
        "CREATE TRIGGER screening_report_views_no_truncate BEFORE TRUNCATE ON screening_report_views "
        "FOR EACH STATEMENT EXECUTE FUNCTION screening_append_only()"
    ),
]


def view_rows(report_id: str, view_ids: Mapping[str, str]) -> list[dict[str, str]]:
    """The rows of ``report_views`` for one stored report's digest."""
    return [{"view_id": v, "report_id": report_id, "participant": p} for p, v in sorted(view_ids.items()) if v]


def _v3(conn: Connection) -> None:
    """The view-to-report table. Stored digests are not rewritten (their hashes stay as they were):
    the ones that already list view ids are indexed; older ones have none to index."""
    metadata.create_all(conn, tables=[report_views])
    for row in conn.execute(select(reports.c.report_id, reports.c.digest)).all():
        try:
            fields = json.loads(row.digest)
            ids = fields.get("view_ids") if isinstance(fields, dict) else None
        except ValueError:
            ids = None  # an unreadable digest is verify's to report, not the migration's
        if isinstance(ids, dict) and all(isinstance(v, str) for v in ids.values()):
            rows = view_rows(row.report_id, ids)
            if rows:
                conn.execute(insert(report_views), rows)
    for statement in _V3_POSTGRESQL if conn.dialect.name == "postgresql" else _V3_SQLITE:
        conn.execute(text(statement))


# Numbered migrations, applied in order inside one locked transaction; never edit a shipped one,
# add the next number.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "reports and decisions, append-only, hash-chained", _v1),
    (2, "reports chained too; TRUNCATE refused; reports never deleted", _v2),
    (3, "each participant's view id -> its report, append-only", _v3),
]
LATEST = MIGRATIONS[-1][0]
