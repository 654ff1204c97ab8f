"""The SQLite store: one connection, WAL, one writer (the event loop thread)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from eucalite.store import migrations
from eucalite.store.secretbox import SecretBox, load_or_create_key


class Store:
    def __init__(self, path: Path | None, secret_key: bytes | None = None, now: str = "") -> None:
        """path=None gives a fresh in-memory database (unit tests)."""
        if path is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            key = secret_key or b"\0" * 32
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            key = secret_key or load_or_create_key(path.parent / "secret.key")
            path.chmod(0o600)
        self.db.execute("PRAGMA foreign_keys=ON")
        self.box = SecretBox(key)
        self.path = path
        migrations.apply(self.db, now)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All-or-nothing writes: a handler that fails half-way leaves nothing behind."""
        conn = self.db.conn
        if conn.in_transaction:
            yield self.db  # nested: the outer transaction decides
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = list(self.db.query(sql, params))
        return rows[0] if rows else None

    def all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    def close(self) -> None:
        self.db.conn.close()
