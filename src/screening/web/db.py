"""The web app's tables, in the same database as the decisions store (SQLAlchemy 2 Core).

Answers and reports are kept encrypted (crypto.Sealer); tokens and session ids only as hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, delete, insert, select, update

from ..decisions.store import open_store

__all__ = ["tables", "WebDb", "add_user", "hash_token", "new_token", "now"]

metadata = MetaData()
users = Table(
    "web_users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("password_hash", Text, nullable=False),
)
sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user", String(200), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires", String(40), nullable=False),
)
screenings = Table(
    "web_screenings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("title", Text, nullable=False),  # substance, format and date: no answers
    Column("session", Text, nullable=False),  # encrypted session plan (JSON)
    Column("program", String(100), nullable=False),
    Column("report", Text, nullable=True),  # encrypted report JSON
    Column("report_id", String(64), nullable=True),
    Column("previous_report", Text, nullable=True),  # encrypted: the report a correction replaced
    Column("created", String(40), nullable=False),
)
participants = Table(
    "web_participants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("screening_id", String(32), nullable=False, index=True),
    Column("label", String(8), nullable=False),  # A or B: the participant_id in the intake
    Column("language", String(8), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("expires", String(40), nullable=False),
    Column("revoked", Integer, nullable=False, default=0),
    Column("answers", Text, nullable=True),  # encrypted participant JSON
    Column("consented", Integer, nullable=False, default=0),
    Column("submitted", String(40), nullable=True),
    Column("released", Integer, nullable=False, default=0),
)
audit = Table(
    "web_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("screening_id", String(32), nullable=False, index=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", Text, nullable=False),  # what happened and digests; never an answer
)
tables = (users, sessions, screenings, participants, audit)

_hasher = PasswordHasher()  # argon2id with the library's current parameters


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class WebDb:
    """The web tables on the decisions store's engine (created on first use)."""

    def __init__(self, store_url: str | None):
        self.store = open_store(store_url)
        self.engine: Engine = self.store.engine
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.store.close()

    def one(self, query: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(query).mappings().first()

    def all(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query).mappings())

    def run(self, *statements: Any) -> None:
        with self.engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)

    def log(self, screening_id: str, actor: str, action: str) -> None:
        self.run(insert(audit).values(screening_id=screening_id, at=now().isoformat(), actor=actor, action=action))

    # ------------------------------------------------------------------ users

    def set_user(self, name: str, password: str) -> None:
        hashed = _hasher.hash(password)
        self.run(delete(users).where(users.c.name == name), insert(users).values(name=name, password_hash=hashed))

    def check_password(self, name: str, password: str) -> bool:
        row = self.one(select(users.c.password_hash).where(users.c.name == name))
        if row is None:
            _hasher.hash(password)  # the same work for an unknown name: no timing oracle
            return False
        try:
            return _hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return False


def add_user(name: str, password: str, store_url: str | None = None) -> None:
    """A facilitator account (or a new password for one), the password kept as argon2id."""
    if not name.strip() or len(password) < 10:
        raise ValueError("a facilitator needs a name and a password of at least 10 characters")
    db = WebDb(store_url)
    try:
        db.set_user(name.strip(), password)
    finally:
        db.close()


def update_row(table: Table, row_id: str, **values: Any) -> Any:
    return update(table).where(table.c.id == row_id).values(**values)
