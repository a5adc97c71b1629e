"""Password throttle per normalised email: counted before the password is checked."""

from datetime import timedelta

from tortoise.transactions import in_transaction

from gql_portal.accounts.models import LoginThrottle
from gql_portal.clock import utcnow
from gql_portal.errors import TooManyAttemptsError
from gql_portal.sql import execute

LOCK_AFTER_FAILURES = 10
LOCK_DURATION = timedelta(minutes=10)


async def count_login_attempt(email_normalized: str) -> None:
    """Count this attempt as a failure up front; raise while the email is locked.

    Counting first means concurrent guesses can never be checked more often than the
    limit allows; a correct password then clears the count.
    """
    now = utcnow()
    async with in_transaction() as connection:
        await execute(
            connection,
            "INSERT INTO login_throttles (email_normalized, failures, updated_at) "
            "VALUES (?, 0, ?) ON CONFLICT (email_normalized) DO NOTHING",
            [email_normalized, now],
        )
        row = (
            await LoginThrottle.filter(email_normalized=email_normalized)
            .select_for_update()
            .using_db(connection)
            .get()
        )
        if row.locked_until is not None and row.locked_until > now:
            retry_after = int((row.locked_until - now).total_seconds()) + 1
        else:
            retry_after = 0
            failures = 1 if row.locked_until is not None else row.failures + 1
            await (
                LoginThrottle.filter(email_normalized=email_normalized)
                .using_db(connection)
                .update(
                    failures=failures,
                    locked_until=now + LOCK_DURATION if failures >= LOCK_AFTER_FAILURES else None,
                    updated_at=now,
                )
            )
    if retry_after:
        raise TooManyAttemptsError(retry_after)


async def clear_login_attempts(email_normalized: str) -> None:
    await LoginThrottle.filter(email_normalized=email_normalized).delete()
