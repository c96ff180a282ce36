"""An on-disk cache of the services' answers: one small SQLite file.

Keyed by the request (URL without the contact address and API key, plus the ``Accept``
header, which changes what doi.org answers), it keeps the status and the body with an expiry
time.  Only answers worth keeping are stored: 200s for ``ttl`` and "not found" answers
(404/410) for the shorter ``ttl_not_found``; errors and rate-limit answers never.

One connection is shared by the resolver's threads under a lock: lookups are few and small,
and a second connection per thread would buy nothing but locking trouble.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CACHE_FILE", "CachedAnswer", "ResponseCache"]

CACHE_FILE = "lookup-cache.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    status INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    stored REAL NOT NULL,
    expires REAL NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    status: int
    content_type: str
    body: bytes
    stored: float


class ResponseCache:
    """The answers cache in ``directory`` (created when missing)."""

    def __init__(self, directory: Path, *, ttl: float, ttl_not_found: float) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self.ttl = ttl
        self.ttl_not_found = ttl_not_found
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self.purge()

    def get(self, key: str) -> CachedAnswer | None:
        """The fresh answer stored under ``key``, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT status, content_type, body, stored FROM answers "
                "WHERE key = ? AND expires > ?", (key, time.time())).fetchone()
        if row is None:
            return None
        return CachedAnswer(int(row[0]), str(row[1]), bytes(row[2]), float(row[3]))

    def put(self, key: str, status: int, content_type: str, body: bytes) -> None:
        """Keep an answer: 200 for ``ttl``, 404/410 for ``ttl_not_found``; others are not
        kept."""
        if status == 200:
            ttl = self.ttl
        elif status in (404, 410):
            ttl = self.ttl_not_found
        else:
            return
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO answers (key, status, content_type, body, stored, "
                "expires) VALUES (?, ?, ?, ?, ?, ?)",
                (key, status, content_type, body, now, now + ttl))

    def purge(self) -> int:
        """Remove expired answers; returns how many."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM answers WHERE expires <= ?", (time.time(),))
            return cursor.rowcount

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
