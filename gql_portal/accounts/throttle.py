"""Password throttle per email: counted before the password is checked.

Rows are keyed by ``crypto.keyed_identifier`` of the normalised email, never the email:
what is typed into the email field may be a password (the migration dropped the old table
that held the text). One upsert counts an attempt atomically on both backends (PostgreSQL
locks the conflicting row and evaluates the ``DO UPDATE`` on its latest version; SQLite
serialises writers), so concurrent guesses can never be checked more often than the limit
allows. A locked email is refused by the upsert's ``WHERE``: nothing changes and no row is
returned, which tells a refusal from a counted attempt exactly (comparing returned values
cannot: the attempt that sets the lock and one refused in the same microsecond would return
the same row). Only a refusal then counts itself into ``refused``, which returns the lock's
end (for ``retryAfter``) and says whether it is the lock window's first refusal.

A count of failures is forgotten after ``FAILURE_MEMORY`` without a new failure, so rows of
emails tried once (spraying) do not stay forever: ``expires_at`` says when a row means
nothing any more, the upsert restarts from it and ``purge_login_throttles`` deletes from it.

Times are parameters (the portal's clock, never the database's). SQLite keeps datetimes as
``isoformat(" ")`` text, written alike by Tortoise and by gql_portal.sql.db_value, always
``+00:00``: comparing that text orders the instants correctly, also when one of them has
no fractional part (``+`` sorts before ``.``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from gql_portal.accounts.link_throttle import purge_link_throttles
from gql_portal.accounts.models import LoginIpThrottle, LoginThrottle
from gql_portal.clock import utcnow
from gql_portal.crypto import keyed_identifier
from gql_portal.errors import TooManyAttemptsError
from gql_portal.sql import execute, fetch, is_postgres

LOCK_AFTER_FAILURES = 10
LOCK_DURATION = timedelta(minutes=10)
FAILURE_MEMORY = timedelta(hours=24)
PURGE_BATCH = 1000

_LOCKED_UNTIL = LoginThrottle._meta.fields_map["locked_until"]


class EmailLockedError(TooManyAttemptsError):
    """A refusal while the email is locked; ``first`` for the lock window's first one."""

    def __init__(self, retry_after: int, *, first: bool, locked_until: datetime | None) -> None:
        super().__init__(retry_after)
        self.first = first
        self.locked_until = locked_until


@lru_cache(maxsize=2)
def _count_sql(postgres: bool) -> str:
    # ``t`` is the stored row, ``excluded`` the one proposed (its updated_at is now). A past
    # lock or a forgotten count restarts at 1; reaching the limit locks until the last
    # parameter.
    counted = (
        "CASE WHEN t.locked_until IS NULL AND t.expires_at > excluded.updated_at"
        " THEN t.failures + 1 ELSE 1 END"
    )
    # PostgreSQL would type a bare parameter in a CASE as text (SQLite keeps the text).
    lock = "?::timestamptz" if postgres else "?"
    return (
        "INSERT INTO login_throttles AS t"
        " (key, failures, locked_until, refused, expires_at, updated_at)"
        " VALUES (?, 1, ?, 0, ?, ?) ON CONFLICT (key) DO UPDATE SET"
        f" failures = {counted},"
        f" locked_until = CASE WHEN {counted} >= {LOCK_AFTER_FAILURES} THEN {lock} END,"
        " refused = 0,"
        f" expires_at = CASE WHEN {counted} >= {LOCK_AFTER_FAILURES} THEN {lock}"
        " ELSE excluded.expires_at END,"
        " updated_at = excluded.updated_at"
        " WHERE t.locked_until IS NULL OR t.locked_until <= excluded.updated_at"
        " RETURNING failures"
    )


def throttle_key(email_normalized: str) -> str:
    return keyed_identifier(email_normalized)


async def count_login_attempt(email_normalized: str) -> bool:
    """Count this attempt as a failure up front; raise ``EmailLockedError`` while locked.

    Counting first means concurrent guesses can never be checked more often than the
    limit allows; a correct password then clears the count (and the lock this attempt
    set: True says it set one, which holds only if the password is wrong).
    """
    key = throttle_key(email_normalized)
    now = utcnow()
    lock = now + LOCK_DURATION
    locks_at_once = LOCK_AFTER_FAILURES <= 1
    connection = LoginThrottle._meta.db
    counted = await fetch(
        connection,
        _count_sql(is_postgres(connection)),
        [
            key,
            lock if locks_at_once else None,
            lock if locks_at_once else now + FAILURE_MEMORY,
            now,
            lock,
            lock,
        ],
    )
    if counted:
        return bool(counted[0]["failures"] >= LOCK_AFTER_FAILURES)
    # Refused: the lock cannot have moved since, unless it ran out in between.
    refused = await fetch(
        connection,
        "UPDATE login_throttles SET refused = refused + 1"
        " WHERE key = ? AND locked_until > ? RETURNING refused, locked_until",
        [key, now],
    )
    if not refused:
        raise EmailLockedError(1, first=False, locked_until=None)
    locked_until = _LOCKED_UNTIL.to_python_value(refused[0]["locked_until"])
    raise EmailLockedError(
        int((locked_until - now).total_seconds()) + 1,
        first=refused[0]["refused"] == 1,
        locked_until=locked_until,
    )


async def clear_login_attempts(email_normalized: str) -> None:
    await execute(
        LoginThrottle._meta.db,
        "DELETE FROM login_throttles WHERE key = ?",
        [throttle_key(email_normalized)],
    )


@dataclass(frozen=True, slots=True)
class PurgedThrottles:
    emails: int
    ips: int
    # The account-link windows (link_throttle.py), purged on the same schedule.
    links: int = 0


async def purge_login_throttles(*, batch_size: int = PURGE_BATCH) -> PurgedThrottles:
    """Delete the rows that mean nothing any more, a batch per statement (short locks)."""
    now = utcnow()
    return PurgedThrottles(
        emails=await _purge(LoginThrottle._meta.db_table, "key", now, batch_size),
        ips=await _purge(LoginIpThrottle._meta.db_table, "ip", now, batch_size),
        links=await purge_link_throttles(batch_size=batch_size),
    )


async def _purge(table: str, key: str, now: datetime, batch_size: int) -> int:
    connection = LoginThrottle._meta.db
    # The outer condition again: a row an attempt renewed after the inner SELECT read it
    # is re-checked on its latest version and kept.
    sql = (
        f"DELETE FROM {table} WHERE {key} IN"
        f" (SELECT {key} FROM {table} WHERE expires_at <= ? LIMIT ?) AND expires_at <= ?"
    )
    purged = 0
    while True:
        deleted = await execute(connection, sql, [now, batch_size, now])
        purged += deleted
        if deleted < batch_size:
            return purged
