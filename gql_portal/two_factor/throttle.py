"""The code-step throttle: a per-user counter in the database, taken before any check.

Each attempt locks the user's row (PostgreSQL ``FOR UPDATE``; SQLite serialises
transactions), counts itself as a failure and sets the lock it would earn, then checks
the code. Concurrent guesses therefore queue on the row and can never be evaluated more
often than the limit allows; a success clears the count in the same transaction.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import User

FIRST_LOCK_AFTER = 5
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)
HARD_LOCK_AFTER = 100
HARD_LOCKED_UNTIL = datetime(9999, 12, 31, tzinfo=UTC)


def lock_for(failures: int, now: datetime) -> datetime | None:
    if failures >= HARD_LOCK_AFTER:
        return HARD_LOCKED_UNTIL
    if failures < FIRST_LOCK_AFTER:
        return None
    doubled: timedelta = FIRST_LOCK * (2 ** min(failures - FIRST_LOCK_AFTER, 10))
    return now + min(doubled, LONGEST_LOCK)


def is_locked(user: User, now: datetime) -> bool:
    return user.code_locked_until is not None and user.code_locked_until > now


def retry_after_seconds(locked_until: datetime, now: datetime) -> int | None:
    if locked_until >= HARD_LOCKED_UNTIL:
        return None
    return int((locked_until - now).total_seconds()) + 1


@dataclass(frozen=True, slots=True)
class Attempt:
    """The state of one counted attempt, before its code is checked."""

    user: User
    failures: int
    locked_until: datetime | None
    refused_until: datetime | None = None

    @property
    def refused(self) -> bool:
        return self.refused_until is not None

    @property
    def locks_on_failure(self) -> bool:
        return self.locked_until is not None


async def begin_attempt(user_id: int, now: datetime, connection: BaseDBAsyncClient) -> Attempt:
    """Lock the row and count the attempt; a locked user is refused uncounted."""
    user = await User.filter(id=user_id).select_for_update().using_db(connection).get()
    if is_locked(user, now):
        assert user.code_locked_until is not None
        return Attempt(user, user.code_failures, user.code_locked_until, user.code_locked_until)
    failures = user.code_failures + 1
    locked_until = lock_for(failures, now)
    await (
        User.filter(id=user_id)
        .using_db(connection)
        .update(code_failures=failures, code_locked_until=locked_until)
    )
    return Attempt(user, failures, locked_until)


async def clear_attempts(user_id: int, connection: BaseDBAsyncClient) -> None:
    await (
        User.filter(id=user_id).using_db(connection).update(code_failures=0, code_locked_until=None)
    )
