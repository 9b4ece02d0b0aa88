"""The store's tables, declared once for SQLite and PostgreSQL, and its numbered migrations.

Everything that is hashed is kept as text (times as ISO 8601, digests as canonical JSON), so
a record reads back byte for byte the same on both back-ends and its hash can be recomputed.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import BigInteger, Column, Connection, ForeignKey, Index, Integer, MetaData, String, Table, Text, text

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


# Numbered migrations, applied in order inside one locked transaction; never edit a shipped one,
# add the next number.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "reports and decisions, append-only, hash-chained", _v1),
]
LATEST = MIGRATIONS[-1][0]
