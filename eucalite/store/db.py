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


class _Database(sqlite_utils.Database):
    """sqlite-utils' Database, with table_names() answered from memory until the schema changes (callers ask
    on hot paths, and the answer is a scan of sqlite_master otherwise)."""

    _names_cache: tuple[int, list[str]] | None = None

    def table_names(self, fts4: bool = False, fts5: bool = False) -> list[str]:
        if fts4 or fts5:
            return list(super().table_names(fts4=fts4, fts5=fts5))
        version = self.conn.execute("PRAGMA schema_version").fetchone()[0]
        cached = self._names_cache
        if cached is None or cached[0] != version:
            cached = self._names_cache = (version, list(super().table_names()))
        return list(cached[1])


class Store:
    def __init__(self, path: Path | None, secret_key: bytes | None = None, now: str = "") -> None:
        """path=None gives a fresh in-memory database (unit tests)."""
        if path is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self.db = _Database(conn)
            key = secret_key or b"\0" * 32
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self.db = _Database(conn)
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            key = secret_key or load_or_create_key(path.parent / "secret.key")
            path.chmod(0o600)
        self.db.execute("PRAGMA foreign_keys=ON")
        self.box = SecretBox(key)
        self.path = path
        migrations.apply(self.db, now)
        self._changes: dict[str, int] = {}
        self._rollbacks = 0
        self._watched: set[str] = set()
        conn.create_function("eucalite_changed", 1, self._changed)
        self.watch_tables()

    # -- change tracking, for caches of derived values ---------------------------------------------------
    def _changed(self, table: str) -> None:
        self._changes[table] = self._changes.get(table, 0) + 1

    def watch_tables(self) -> None:
        """Count writes per table with temporary (this connection's) triggers; tables made later by
        migrations are picked up by calling this again."""
        conn = self.db.conn
        for table in self.db.table_names():
            if table in self._watched or table.startswith(("sqlite_", "_")):
                continue
            for event in ("INSERT", "UPDATE", "DELETE"):
                conn.execute(f"CREATE TEMP TRIGGER IF NOT EXISTS [_eucalite_{table}_{event.lower()}] AFTER {event} "
                             f"ON main.[{table}] BEGIN SELECT eucalite_changed('{table}'); END")
            self._watched.add(table)

    def stamp(self, tables: tuple[str, ...]) -> tuple[int, ...]:
        """Changes so far that could alter what was read from ``tables``: this connection's writes (counted
        as they happen, so also inside an open transaction), its rollbacks, and commits by any other
        connection (another process on the same file: SQLite's data_version)."""
        version = self.db.conn.execute("PRAGMA data_version").fetchone()[0]
        changes = self._changes
        return (version, self._rollbacks, *(changes.get(t, 0) for t in tables))

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
            self._rollbacks += 1
            raise
        conn.execute("COMMIT")

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        cursor = self.db.conn.execute(sql, params or ())
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        cursor = self.db.conn.execute(sql, params or ())
        keys = [d[0] for d in cursor.description]
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.db.conn.close()


class Memo:
    """Values derived from some tables, remembered until any of those tables changes (see Store.stamp).
    Nothing is remembered from inside a transaction, which may still roll back."""

    def __init__(self, store: Store, tables: tuple[str, ...], maxsize: int = 4096) -> None:
        self.store = store
        self.tables = tables
        self.maxsize = maxsize
        self._memo: dict[Any, tuple[tuple[int, ...], Any]] = {}

    def get(self, key: Any, compute: Any) -> Any:
        stamp = self.store.stamp(self.tables)
        hit = self._memo.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = compute()
        if not self.store.db.conn.in_transaction:
            if len(self._memo) >= self.maxsize:
                self._memo.clear()
            self._memo[key] = (stamp, value)
        return value
