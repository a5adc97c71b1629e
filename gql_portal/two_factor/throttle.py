"""The code-step throttle: a per-user counter in the database, read under the user's row lock.

Each attempt locks the user's row (PostgreSQL ``FOR UPDATE``; SQLite serialises
transactions) and reads the counter. A locked user is refused: nothing is checked and
nothing is counted. Otherwise the code is checked and the attempt's outcome is written to
the row in one UPDATE, in the same transaction and still under the lock: one more failure
and the lock it earns, or the cleared counter after a success.

Writing the outcome after the check instead of counting up front and clearing on success
changes nothing anyone can observe: other attempts queue on the row lock, so none of them
reads the counter between this attempt's check and its write, and a transaction that fails
before its commit leaves no count either way (the up-front count rolled back with it).
Concurrent guesses therefore can never be evaluated more often than the limit allows.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import User
from gql_portal.sql import execute

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
    """One attempt, before its code is checked.

    ``failures`` and ``locked_until`` are what the row holds if this attempt fails (for a
    refused attempt: what it holds now); ``clean`` says a success has nothing to clear.
    """

    failures: int
    locked_until: datetime | None
    refused_until: datetime | None = None
    clean: bool = False

    @property
    def refused(self) -> bool:
        return self.refused_until is not None

    @property
    def attempts_left(self) -> int:
        """Wrong codes still allowed before the lock, once this attempt has failed."""
        return max(0, FIRST_LOCK_AFTER - self.failures)

    @property
    def locks_on_failure(self) -> bool:
        return self.locked_until is not None


def start_attempt(failures: int, locked_until: datetime | None, now: datetime) -> Attempt:
    """The attempt the stored counter allows; a locked user is refused uncounted."""
    if locked_until is not None and locked_until > now:
        return Attempt(failures, locked_until, refused_until=locked_until)
    counted = failures + 1
    return Attempt(counted, lock_for(counted, now), clean=failures == 0 and locked_until is None)


async def finish_attempt(
    user_id: int, attempt: Attempt, accepted: bool, connection: BaseDBAsyncClient
) -> None:
    """Store the outcome of a checked attempt: one UPDATE of the (still locked) user row."""
    if attempt.refused or (accepted and attempt.clean):
        return
    failures, locked_until = (0, None) if accepted else (attempt.failures, attempt.locked_until)
    await execute(
        connection,
        "UPDATE users SET code_failures = ?, code_locked_until = ? WHERE id = ?",
        [failures, locked_until, user_id],
    )
