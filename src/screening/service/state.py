"""What the workers of one ``screening serve`` share: the cards issued and the token ids seen.

With several worker processes, feedback on a card may reach a worker other than the one that
issued it, and a replayed token may reach another worker too. A SQLite file (WAL mode) on the
machine lets every worker see both. It holds card uuids, rule ids, participant labels, FHIR
patient references and token ids, never an answer. Several machines need a shared store
instead (the decisions store can implement the same two small interfaces).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time

from .feedback import CardRecord

__all__ = ["SqliteState"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (uuid TEXT PRIMARY KEY, issued REAL NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (iss TEXT NOT NULL, jti TEXT NOT NULL, exp REAL NOT NULL, PRIMARY KEY (iss, jti));
"""


class SqliteState:
    """A card log and a replay cache in one SQLite file, safe across threads and processes."""

    def __init__(self, path: str, ttl: float = 7 * 24 * 3600, leeway: float = 30, busy_timeout: float = 5.0):
        self.path, self.ttl, self.leeway, self.busy_timeout = path, ttl, leeway, busy_timeout
        self._local = threading.local()
        self._next_purge = 0.0
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # a lock held elsewhere: wait at most busy_timeout, then an error (the call fails closed), in the
            # worker thread the app runs store calls in
            db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _purge(self) -> None:
        now = time.time()
        if now > self._next_purge:
            self._next_purge = now + 60
            db = self._db()
            db.execute("DELETE FROM tokens WHERE exp < ?", (now - self.leeway,))
            db.execute("DELETE FROM cards WHERE issued < ?", (now - self.ttl,))

    def remember(self, records: list[CardRecord]) -> None:
        now = time.time()
        # vars(), not asdict(): the record holds only strings and tuples of them (json writes tuples
        # as lists), and asdict's deep copy of every card's record is CPU the call need not spend
        rows = [(r.uuid, now, json.dumps(vars(r))) for r in records]
        with self._db() as db:
            db.executemany("INSERT OR REPLACE INTO cards VALUES (?, ?, ?)", rows)
        self._purge()

    def find(self, card_uuid: str) -> CardRecord | None:
        row = self._db().execute("SELECT issued, record FROM cards WHERE uuid = ?", (card_uuid,)).fetchone()
        if row is None or time.time() - row[0] > self.ttl:
            return None
        data = json.loads(row[1])
        data["patients"] = tuple(data["patients"])
        data["override_reasons"] = tuple(tuple(pair) for pair in data["override_reasons"])
        return CardRecord(**data)

    def first_use(self, iss: str, jti: str, exp: float) -> bool:
        """True the first time this token id is seen by any worker."""
        cursor = self._db().execute("INSERT OR IGNORE INTO tokens VALUES (?, ?, ?)", (iss, jti, exp))
        self._purge()
        return cursor.rowcount == 1
