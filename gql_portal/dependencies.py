"""Which failures mean "a dependency cannot serve now" (CONTRACT section 8).

A request that meets one answers SERVICE_UNAVAILABLE (HTTP 503, Retry-After) instead of a
masked internal error: the database refused or dropped the connection, a statement ran
past its deadline, Redis did not answer. Tortoise wraps driver errors in its own types, so
the whole cause chain is examined.

Each test below was checked against a real outage (tests/http/test_outage.py): with the
test database cut off (ALLOW_CONNECTIONS false + pg_terminate_backend) asyncpg raises
ObjectNotInPrerequisiteStateError on connect, AdminShutdownError or
ConnectionDoesNotExistError on a live connection, and InternalClientError for a pooled
connection the server closed between two statements.
"""

import errno
import logging
import socket
import sqlite3
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
import redis.exceptions

from gql_portal.errors import ServiceUnavailableError

log = logging.getLogger("gql_portal.dependencies")

# Retry-After (seconds) for an answer while a dependency is down: long enough not to
# hammer a database that is restarting, short enough that clients notice its return.
RETRY_AFTER_SECONDS = 1

_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # asyncio.TimeoutError is the same class since 3.11
    socket.gaierror,  # the host name does not resolve (DNS down)
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # 57: shutdown, cannot connect now, canceled
    asyncpg.exceptions.InsufficientResourcesError,  # 53: too many connections, disk full
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InternalClientError,  # protocol state of a connection the server closed
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
)
# 55000 itself ("database ... is not currently accepting connections"); not its subclasses
# such as 55P03 lock_not_available, which is an answer about the data, not about the server.
_PREREQUISITE_STATE = "55000"
# asyncpg's own words for a pool or connection that is gone (its InterfaceError also covers
# DataError, bad input such as an integer out of range, which is not an outage).
_ASYNCPG_CLOSED = ("connection is closed", "pool is closed", "pool is closing")
# Socket-level errnos; any other OSError (a file that cannot be read) is a bug to report.
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EADDRNOTAVAIL,
    }
)
# asyncio.create_connection's error when every address of a host failed: it has no errno.
_ALL_ADDRESSES_FAILED = "Multiple exceptions: "
# SQLite answers every fault as OperationalError; only these messages mean "not now".
_SQLITE_UNAVAILABLE = (
    "interrupted",  # the statement deadline (progress handler)
    "database is locked",  # another process held the write lock past the busy timeout
    "unable to open database",
    "disk i/o",
    "database or disk is full",
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        # `raise ... from None` says the context is not the cause (a body timeout is not
        # a dependency fault though a TimeoutError was being handled).
        suppressed = current.__suppress_context__
        current = current.__cause__ or (None if suppressed else current.__context__)


def _is_unavailable_cause(cause: BaseException) -> bool:
    if isinstance(cause, (ServiceUnavailableError, *_UNAVAILABLE_TYPES)):
        return True
    if isinstance(cause, asyncpg.exceptions.PostgresError):
        return getattr(cause, "sqlstate", None) == _PREREQUISITE_STATE
    if isinstance(cause, asyncpg.exceptions.InterfaceError):
        return not isinstance(cause, asyncpg.exceptions.DataError) and any(
            text in str(cause) for text in _ASYNCPG_CLOSED
        )
    if isinstance(cause, sqlite3.OperationalError):
        message = str(cause).lower()
        return any(text in message for text in _SQLITE_UNAVAILABLE)
    if isinstance(cause, OSError):
        return cause.errno in _NETWORK_ERRNOS or str(cause).startswith(_ALL_ADDRESSES_FAILED)
    return False


def is_unavailable(error: BaseException) -> bool:
    return any(_is_unavailable_cause(cause) for cause in _causes(error))


def unavailable_error(error: BaseException) -> ServiceUnavailableError | None:
    """The contract error for a dependency fault, or None for any other failure. The fault
    is logged in one line (its type, never its text: driver messages may quote data)."""
    if isinstance(error, ServiceUnavailableError):
        return error
    if not is_unavailable(error):
        return None
    log.warning("dependency unavailable: %s", fault_name(error))
    return ServiceUnavailableError(retry_after=RETRY_AFTER_SECONDS)


def fault_name(error: BaseException) -> str:
    """The innermost cause's type, e.g. ``ConnectionRefusedError``: enough for an operator."""
    return " <- ".join(type(cause).__name__ for cause in _causes(error))
