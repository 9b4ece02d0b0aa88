"""Fixtures for the decisions-store tests: the same tests run on a SQLite file and on a real
PostgreSQL server (a fresh database per test, on the server SCREENING_TEST_POSTGRES_URL names;
.ci/postgres.sh starts one). Without that URL the PostgreSQL cases are skipped, loudly."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

POSTGRES_URL = os.environ.get("SCREENING_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PostgreSQL store tests NOT RUN: SCREENING_TEST_POSTGRES_URL is not set "
    "(`. .ci/postgres.sh && screening_pg_start` starts a throwaway server)"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES))]
TODAY = dt.date(2026, 11, 20)


def _admin():
    import psycopg

    return psycopg.connect(POSTGRES_URL, autocommit=True)


def fresh_url(backend: str, tmp_path) -> tuple[str, callable]:
    """A URL to an empty store and a function that drops it."""
    if backend == "sqlite":
        return str(tmp_path / "decisions.sqlite"), lambda: None
    name = "t_" + uuid.uuid4().hex[:16]
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")

    def drop():
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    url, drop = fresh_url(request.param, tmp_path)
    yield url
    drop()


@pytest.fixture
def store(store_url):
    from screening.decisions.store import open_store

    with open_store(store_url) as opened:
        yield opened


def raw_sql(url: str, statements: list[str]) -> list:
    """Run SQL straight on the database, as someone with the database's own tools would."""
    rows = []
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            for statement in statements:
                cursor = conn.execute(statement)
                rows.append(cursor.fetchall() if cursor.description else None)
    else:
        import sqlite3

        conn = sqlite3.connect(url, isolation_level=None)
        try:
            for statement in statements:
                cursor = conn.execute(statement)
                rows.append(cursor.fetchall() if cursor.description else None)
        finally:
            conn.close()
    return rows


def drop_append_only_guards(url: str) -> None:
    """What an administrator could do before tampering: remove the triggers."""
    if url.startswith("postgresql"):
        raw_sql(
            url,
            [
                "DROP TRIGGER screening_decisions_append_only ON screening_decisions",
                "DROP TRIGGER screening_reports_append_only ON screening_reports",
                "DROP TRIGGER screening_reports_no_delete ON screening_reports",
                "DROP TRIGGER screening_report_chain_append_only ON screening_report_chain",
                "DROP TRIGGER screening_report_views_append_only ON screening_report_views",
                "DROP TRIGGER screening_report_views_no_truncate ON screening_report_views",
                *(
                    f"DROP TRIGGER {t}_no_truncate ON {t}"
                    for t in ("screening_decisions", "screening_reports", "screening_report_chain", "screening_schema_version")
                ),
            ],
        )
    else:
        raw_sql(
            url,
            [
                "DROP TRIGGER screening_decisions_no_update",
                "DROP TRIGGER screening_decisions_no_delete",
                "DROP TRIGGER screening_reports_no_update",
                "DROP TRIGGER screening_reports_no_delete",
                "DROP TRIGGER screening_report_chain_no_update",
                "DROP TRIGGER screening_report_chain_no_delete",
                "DROP TRIGGER screening_report_views_no_update",
                "DROP TRIGGER screening_report_views_no_delete",
            ],
        )
