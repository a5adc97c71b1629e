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

With a ``statement_timeout`` (seconds; the API's, db.api_tortoise_config) every statement
has a deadline, as PostgreSQL's statement_timeout gives one there: SQLite has no such
setting, so a trace callback notes when each statement starts and a progress handler,
called every few thousand virtual-machine steps, interrupts the statement once it has run
too long. The statement fails with "interrupted" (SERVICE_UNAVAILABLE, dependencies.py)
and the connection goes on serving the next one.
"""

import math
import sqlite3
import time
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
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


# Virtual-machine steps between two deadline checks: a check is one Python call, and a
# lookup by key finishes in fewer steps, before its first check.
PROGRESS_STEPS = 10_000


class StatementDeadline:
    """Both callbacks run on the connection's own thread (aiosqlite's), one statement at a
    time, so a plain attribute is enough."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = math.inf

    def started(self, _statement: str) -> None:
        self.deadline = time.monotonic() + self.seconds

    def expired(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0


class ReleasingTransactionContext(SqliteTransactionContext):
    """Tortoise's context, except that a BEGIN that fails (another process kept the write
    lock past the busy timeout) gives the connection back: Tortoise's own __aenter__ keeps
    the connection's lock then, and every later statement of the process waits forever."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        connection: TransactionalDBClient = self.connection
        return connection


class ImmediateSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        timeout = kwargs.pop("statement_timeout", None)  # not a PRAGMA
        super().__init__(file_path, **kwargs)
        self.statement_deadline = None if timeout is None else StatementDeadline(float(timeout))

    async def create_connection(self, with_db: bool) -> None:
        if not self._connection:
            private_database_files(self.filename)
        await super().create_connection(with_db)

    async def _post_connect(self) -> None:
        await super()._post_connect()
        deadline = self.statement_deadline
        if deadline is not None and self._connection is not None:
            await self._connection.set_trace_callback(deadline.started)
            await self._connection.set_progress_handler(deadline.expired, PROGRESS_STEPS)

    def _in_transaction(self) -> TransactionContext:
        return ReleasingTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return ImmediateSqliteClient
