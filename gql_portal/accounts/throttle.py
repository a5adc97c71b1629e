"""Password throttle per normalised email: counted before the password is checked.

One upsert counts an attempt atomically on both backends (PostgreSQL locks the conflicting
row and evaluates the ``DO UPDATE`` on its latest version; SQLite serialises writers), so
concurrent guesses can never be checked more often than the limit allows. A locked email
is refused by the upsert's ``WHERE``: nothing changes and no row is returned, which tells a
refusal from a counted attempt exactly (comparing returned values cannot: the attempt that
sets the lock and one refused in the same microsecond would return the same row). Only a
refusal then reads the lock's end, for ``retryAfter``.

Times are parameters (the portal's clock, never the database's). SQLite keeps datetimes as
``isoformat(" ")`` text, written alike by Tortoise and by gql_portal.sql.db_value, always
``+00:00``: comparing that text orders the instants correctly, also when one of them has
no fractional part (``+`` sorts before ``.``).
"""

from datetime import timedelta
from functools import lru_cache

from gql_portal.accounts.models import LoginThrottle
from gql_portal.clock import utcnow
from gql_portal.errors import TooManyAttemptsError
from gql_portal.sql import execute, fetch, is_postgres

LOCK_AFTER_FAILURES = 10
LOCK_DURATION = timedelta(minutes=10)

_LOCKED_UNTIL = LoginThrottle._meta.fields_map["locked_until"]


@lru_cache(maxsize=2)
def _count_sql(postgres: bool) -> str:
    # ``t`` is the stored row, ``excluded`` the one proposed (its updated_at is now). A past
    # lock restarts the count at 1; reaching the limit locks until the last parameter.
    counted = "CASE WHEN t.locked_until IS NULL THEN t.failures + 1 ELSE 1 END"
    # PostgreSQL would type a bare parameter in a CASE as text (SQLite keeps the text).
    lock = "?::timestamptz" if postgres else "?"
    return (
        "INSERT INTO login_throttles AS t (email_normalized, failures, locked_until, updated_at)"
        " VALUES (?, 1, ?, ?) ON CONFLICT (email_normalized) DO UPDATE SET"
        f" failures = {counted},"
        f" locked_until = CASE WHEN {counted} >= {LOCK_AFTER_FAILURES} THEN {lock} END,"
        " updated_at = excluded.updated_at"
        " WHERE t.locked_until IS NULL OR t.locked_until <= excluded.updated_at"
        " RETURNING failures"
    )


async def count_login_attempt(email_normalized: str) -> None:
    """Count this attempt as a failure up front; raise while the email is locked.

    Counting first means concurrent guesses can never be checked more often than the
    limit allows; a correct password then clears the count.
    """
    now = utcnow()
    lock = now + LOCK_DURATION
    connection = LoginThrottle._meta.db
    counted = await fetch(
        connection,
        _count_sql(is_postgres(connection)),
        [email_normalized, lock if LOCK_AFTER_FAILURES <= 1 else None, now, lock],
    )
    if counted:
        return
    # Refused: the lock cannot have moved since, unless it ran out in between.
    rows = await fetch(
        connection,
        "SELECT locked_until FROM login_throttles WHERE email_normalized = ?",
        [email_normalized],
    )
    locked_until = _LOCKED_UNTIL.to_python_value(rows[0]["locked_until"]) if rows else None
    if locked_until is None or locked_until <= now:
        raise TooManyAttemptsError(1)
    raise TooManyAttemptsError(int((locked_until - now).total_seconds()) + 1)


async def clear_login_attempts(email_normalized: str) -> None:
    await execute(
        LoginThrottle._meta.db,
        "DELETE FROM login_throttles WHERE email_normalized = ?",
        [email_normalized],
    )
