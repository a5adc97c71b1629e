"""SQLite transactions take the write lock at BEGIN (gql_portal/sqlite_backend.py): another
process's commit can no longer fail a request's transaction half-way through."""

import asyncio
import sqlite3

import pytest
from tortoise import connections
from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

from gql_portal.accounts.models import User
from gql_portal.sql import execute
from tests.database import TestDatabase
from tests.factories import make_domain, make_user

UPDATE_NAME = "UPDATE users SET display_name = 'other writer' WHERE id = ?"


async def test_another_writer_waits_for_a_transaction_that_read_first(
    database: TestDatabase,
) -> None:
    if database.is_postgres:
        pytest.skip("SQLite's locking; PostgreSQL locks rows")
    user = await make_user(await make_domain())
    # A connection of its own, as the worker or the CLI would hold, with a short timeout.
    other = sqlite3.connect(connections.get("default").filename, timeout=0.3)
    try:
        async with in_transaction() as connection:
            # Read first, write later: the shape of every code check and login.
            await connection.execute_query(
                "SELECT code_failures FROM users WHERE id = ?", [user.id]
            )
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute(UPDATE_NAME, (user.id,))
            await connection.execute_query(
                "UPDATE users SET code_failures = 1 WHERE id = ?", [user.id]
            )
        other.execute(UPDATE_NAME, (user.id,))  # after the commit the other writer goes on
        other.commit()
    finally:
        other.close()
    stored = await User.get(id=user.id)
    assert (stored.code_failures, stored.display_name) == (1, "other writer")


async def test_a_failed_transaction_leaves_none_open(database: TestDatabase) -> None:
    user = await make_user(await make_domain())
    with pytest.raises(RuntimeError):
        async with in_transaction() as connection:
            await execute(connection, "UPDATE users SET code_failures = 7 WHERE id = ?", [user.id])
            raise RuntimeError("rolled back")
    async with in_transaction() as connection:
        await execute(connection, "UPDATE users SET code_failures = 2 WHERE id = ?", [user.id])
    assert (await User.get(id=user.id)).code_failures == 2


async def test_a_begin_refused_by_another_writer_gives_the_connection_back(
    database: TestDatabase,
) -> None:
    if database.is_postgres:
        pytest.skip("SQLite's single shared connection")
    client = connections.get("default")
    other = sqlite3.connect(client.filename, isolation_level=None)
    await client.execute_script("PRAGMA busy_timeout = 100")
    try:
        other.execute("BEGIN IMMEDIATE")  # another process keeps the write lock
        with pytest.raises(TransactionManagementError, match="locked"):
            async with in_transaction():
                pass
        other.execute("ROLLBACK")
        # Tortoise's own context kept the connection's lock here: this waited forever.
        rows = await asyncio.wait_for(client.execute_query_dict("SELECT 1 AS one"), 5)
        assert rows[0]["one"] == 1
    finally:
        other.close()
        await asyncio.wait_for(client.execute_script("PRAGMA busy_timeout = 10000"), 5)
    async with in_transaction() as connection:
        await execute(connection, "UPDATE users SET code_failures = 0 WHERE id = 0", [])
