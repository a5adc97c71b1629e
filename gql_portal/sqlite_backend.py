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
from typing import Any

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


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


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return ImmediateSqliteClient
