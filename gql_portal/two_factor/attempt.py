"""One second-factor code attempt, replay-safe: lock the user, check the throttle, check the
code, record the outcome, all in one transaction."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from gql_portal import metrics
from gql_portal.accounts.models import User
from gql_portal.accounts.sessions import Viewer
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.crypto import decrypt_secret
from gql_portal.errors import (
    BadUserInputError,
    InvalidCodeError,
    TooManyAttemptsError,
    UnauthenticatedError,
)
from gql_portal.notifications import notices
from gql_portal.request_meta import RequestMeta
from gql_portal.sql import execute, fetch, is_postgres
from gql_portal.two_factor import totp
from gql_portal.two_factor.throttle import (
    Attempt,
    finish_attempt,
    retry_after_seconds,
    start_attempt,
)


def require_code(code: str) -> str:
    if not totp.is_well_formed_code(code):
        raise BadUserInputError("A code is exactly 6 digits", field="code")
    return code


@dataclass(frozen=True, slots=True)
class StoredAuthenticator:
    """The user's authenticator as read under the row lock, for the code check."""

    id: int
    secret_encrypted: str


Check = Callable[[StoredAuthenticator | None, datetime, BaseDBAsyncClient], Awaitable[bool]]
Succeed = Callable[[datetime, BaseDBAsyncClient], Awaitable[None]]

_LOCKED_UNTIL = User._meta.fields_map["code_locked_until"]


@lru_cache(maxsize=2)
def _lock_sql(postgres: bool) -> str:
    # The session is joined and locked, not tested with EXISTS: under READ COMMITTED a
    # statement that waited for a lock re-reads only the rows it locks, so only a locked
    # session row shows a revocation committed while this attempt queued. The rows are
    # locked in the order named, user then session: the order of every transaction that
    # writes both (this one's success path, an administrator's reset).
    # The authenticator is not locked (an outer join's nullable side cannot be), and its
    # last_used_step is not read: the replay guard's conditional UPDATE decides on the
    # current row.
    return (
        "SELECT u.code_failures, u.code_locked_until, s.revoked_at,"
        " a.id AS authenticator_id, a.secret_encrypted"
        " FROM users u"
        " JOIN sessions s ON s.id = ? AND s.user_id = u.id"
        " LEFT JOIN totp_authenticators a ON a.user_id = u.id"
        " WHERE u.id = ?" + (" FOR UPDATE OF u, s" if postgres else "")
    )


async def _lock_code_step(
    viewer: Viewer, now: datetime, connection: BaseDBAsyncClient
) -> tuple[Attempt, StoredAuthenticator | None] | None:
    """One statement: lock the user's row and read its counter, whether the presented
    session is still live (None if not) and the authenticator."""
    rows = await fetch(
        connection, _lock_sql(is_postgres(connection)), [viewer.session.id, viewer.user.id]
    )
    if not rows or rows[0]["revoked_at"] is not None:
        return None
    row = rows[0]
    attempt = start_attempt(
        int(row["code_failures"]), _LOCKED_UNTIL.to_python_value(row["code_locked_until"]), now
    )
    if row["authenticator_id"] is None:
        return attempt, None
    return attempt, StoredAuthenticator(int(row["authenticator_id"]), row["secret_encrypted"])


async def code_attempt(
    *, viewer: Viewer, operation: str, meta: RequestMeta, check: Check, succeed: Succeed
) -> None:
    """Check and record one code attempt in one transaction; raise after commit."""
    user = viewer.user
    now = utcnow()
    async with in_transaction() as connection:
        locked = await _lock_code_step(viewer, now, connection)
        # Read under the user's row lock: a request that raced the exchange of its own
        # token is not a guess, so it writes nothing instead of counting against the user.
        if locked is None:
            raise UnauthenticatedError("Invalid, expired or revoked token")
        attempt, authenticator = locked
        accepted = False
        if not attempt.refused:
            accepted = await check(authenticator, now, connection)
            await finish_attempt(user.id, attempt, accepted, connection)
            if accepted:
                await succeed(now, connection)
            else:
                await record_audit_event(
                    using_db=connection,
                    action=AuditAction.TOTP_VERIFICATION_FAILED,
                    outcome=AuditOutcome.FAILURE,
                    meta=meta,
                    actor=user,
                    target=user,
                    details={"operation": operation, "consecutiveFailures": attempt.failures},
                )
                if attempt.locks_on_failure and attempt.failures >= 5:
                    await record_audit_event(
                        using_db=connection,
                        action=AuditAction.TOTP_LOCKED_OUT,
                        outcome=AuditOutcome.FAILURE,
                        meta=meta,
                        actor=user,
                        target=user,
                        details={
                            "consecutiveFailures": attempt.failures,
                            "lockedUntil": attempt.locked_until.isoformat()
                            if attempt.locked_until
                            else None,
                        },
                    )
                    await notices.code_step_locked(user, attempt.locked_until, connection)
    if not attempt.refused and not accepted and attempt.locks_on_failure and attempt.failures >= 5:
        metrics.record_lockout("totp")  # after commit, like the TOTP_LOCKED_OUT event
    if attempt.refused_until is not None:
        raise TooManyAttemptsError(retry_after_seconds(attempt.refused_until, now))
    if not accepted:
        raise InvalidCodeError(attemptsLeft=attempt.attempts_left)


def totp_check(code: str) -> Check:
    """The check of a TOTP code, with the replay guard: each time step is accepted once."""

    async def check(
        authenticator: StoredAuthenticator | None, now: datetime, connection: BaseDBAsyncClient
    ) -> bool:
        if authenticator is None:
            return False
        step = totp.matching_step(decrypt_secret(authenticator.secret_encrypted), code, now)
        if step is None:
            return False
        # The replay guard: one conditional UPDATE; 0 rows means this step (or a later one)
        # was already used, which counts as a wrong code.
        advanced = await execute(
            connection,
            "UPDATE totp_authenticators SET last_used_step = ? WHERE id = ? AND last_used_step < ?",
            [step, authenticator.id, step],
        )
        return advanced == 1

    return check
