"""The classifier of dependency faults: outages are SERVICE_UNAVAILABLE, nothing else is."""

import errno
import socket
import sqlite3

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError

from gql_portal.dependencies import is_unavailable, unavailable_error
from tests.conftest import TEST_DATABASE_URL
from tests.outage.support import free_port


async def test_a_refused_connection_is_an_outage() -> None:
    with pytest.raises(OSError) as refused:
        await asyncpg.connect(host="127.0.0.1", port=free_port(), user="postgres", timeout=5)
    assert is_unavailable(refused.value)
    error = unavailable_error(refused.value)
    assert error is not None and error.extensions == {"retryAfter": 1}


def test_a_file_error_is_not_an_outage(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        open(f"{tmp_path}/missing.key")
    assert not is_unavailable(missing.value)
    # Root reads every file here, so the permission fault is built as the kernel reports it.
    assert not is_unavailable(PermissionError(errno.EACCES, "Permission denied"))
    assert not is_unavailable(IsADirectoryError(errno.EISDIR, "Is a directory"))
    assert is_unavailable(OSError(errno.EHOSTUNREACH, "No route to host"))
    assert is_unavailable(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))


def test_sqlite_faults_by_their_meaning() -> None:
    with pytest.raises(sqlite3.OperationalError) as unopenable:
        sqlite3.connect("file:/nonexistent-dir/db.sqlite3?mode=rw", uri=True)
    assert is_unavailable(unopenable.value)
    with pytest.raises(sqlite3.OperationalError) as syntax:
        sqlite3.connect(":memory:").execute("SELEC 1")
    assert not is_unavailable(syntax.value)


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="needs PostgreSQL")
@pytest.mark.usefixtures("database")
async def test_postgres_answers_about_the_data_are_not_outages() -> None:
    db = connections.get("default")
    # An id beyond int4: bad input (asyncpg's DataError is an InterfaceError), not an outage.
    with pytest.raises(OperationalError) as out_of_range:
        await db.execute_query("SELECT id FROM users WHERE id = $1", [2**31])
    assert not is_unavailable(out_of_range.value)
    # lock_not_available (55P03) is a subclass of 55000 but says nothing about the server.
    async with db._in_transaction() as holder, db._in_transaction() as waiter:  # type: ignore[attr-defined]
        await holder.execute_query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(Exception) as lock:
            await waiter.execute_query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE NOWAIT")
    assert isinstance(lock.value.__cause__ or lock.value, asyncpg.exceptions.LockNotAvailableError)
    assert not is_unavailable(lock.value)


def test_an_error_raised_from_none_while_a_timeout_was_handled_is_not_an_outage() -> None:
    """The body timeout raises its own error `from None` inside `except TimeoutError`: the
    client was slow, no dependency was, so the answer stays the 408 (not a 503)."""

    class SlowClientError(Exception):
        pass

    with pytest.raises(SlowClientError) as slow:
        try:
            raise TimeoutError
        except TimeoutError:
            raise SlowClientError from None
    assert not is_unavailable(slow.value)
    with pytest.raises(SlowClientError) as chained:
        try:
            raise TimeoutError
        except TimeoutError as error:
            raise SlowClientError from error
    assert is_unavailable(chained.value)
