"""Which failures mean "a dependency cannot serve now" (CONTRACT section 8).

A request that meets one answers SERVICE_UNAVAILABLE (HTTP 503, Retry-After) instead of a
masked internal error: the database refused or dropped the connection, a statement ran
past its deadline, Redis did not answer. Tortoise wraps driver errors in its own types, so
the whole cause chain is examined.
"""

import asyncio
import sqlite3
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
import redis.exceptions

from gql_portal.errors import ServiceUnavailableError

# Driver errors that say the server is unreachable, gone, or shedding load.
_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted (OSError subclasses)
    TimeoutError,
    asyncio.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.QueryCanceledError,  # statement_timeout
    asyncpg.exceptions.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# SQLite answers every fault as OperationalError; only these messages mean "not now".
_SQLITE_UNAVAILABLE = ("interrupted", "database is locked", "unable to open database", "disk i/o")


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_unavailable(error: BaseException) -> bool:
    for cause in _causes(error):
        if isinstance(cause, (ServiceUnavailableError, *_UNAVAILABLE_TYPES)):
            return True
        if isinstance(cause, sqlite3.OperationalError) and any(
            text in str(cause).lower() for text in _SQLITE_UNAVAILABLE
        ):
            return True
        if isinstance(cause, OSError) and not isinstance(cause, FileNotFoundError):
            return True
    return False


def unavailable_error(error: BaseException) -> ServiceUnavailableError | None:
    """The contract error for a dependency fault, or None for any other failure."""
    if isinstance(error, ServiceUnavailableError):
        return error
    return ServiceUnavailableError() if is_unavailable(error) else None
