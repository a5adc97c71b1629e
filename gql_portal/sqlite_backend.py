"""Tortoise's SQLite backend with write transactions that take the write lock at BEGIN.

Tortoise starts a transaction with a plain (deferred) ``BEGIN`` after a ``commit()`` that
is a no-op in autocommit mode: two round trips to aiosqlite's thread, and a transaction
that reads first and writes later. When another process (the worker, the CLI) commits a
write in between, SQLite cannot upgrade the stale read snapshot and fails the write at
once with "database is locked", whatever the busy timeout; a verification or a login would
answer INTERNAL_SERVER_ERROR. Every transaction the portal opens writes, so this backend
begins them with ``BEGIN IMMEDIATE``: the write lock is taken up front (another process
waits for it under the busy timeout instead of failing), in one round trip.

Used by db.tortoise_config for every ``sqlite://`` URL; nested transactions (savepoints)
are Tortoise's own.
"""

import sqlite3
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError

from gql_portal.files import PRIVATE_FILE, create_private_file, tighten


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if not self._connection.in_transaction:
                raise TransactionManagementError(error) from error
            # Something left a transaction open: end it as Tortoise's own begin() does.
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")


def private_database_files(filename: str) -> None:
    """The database holds password hashes and encrypted secrets: owner-only. SQLite
    creates it 0644 (less the umask) and gives its -wal, -shm and -journal files the
    database file's mode, so the file is created 0600 before SQLite opens it."""
    if filename == ":memory:" or filename.startswith("file:"):
        return
    create_private_file(Path(filename))
    for suffix in ("", "-wal", "-shm", "-journal"):
        tighten(Path(filename + suffix), PRIVATE_FILE)


class ImmediateSqliteClient(SqliteClient):
    async def create_connection(self, with_db: bool) -> None:
        if not self._connection:
            private_database_files(self.filename)
        await super().create_connection(with_db)

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return ImmediateSqliteClient
