"""A user's own second factor: enrollment, verification, recovery codes."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from gql_portal import metrics
from gql_portal.accounts.models import User
from gql_portal.accounts.services import LoginResult
from gql_portal.accounts.sessions import Viewer, issue_session, revoke_session
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import RequestMeta, record_audit_event, write_audit_event
from gql_portal.clock import utcnow
from gql_portal.crypto import decrypt_secret, encrypt_secret
from gql_portal.errors import (
    BadUserInputError,
    InvalidCodeError,
    TooManyAttemptsError,
    TwoFactorNotAvailableError,
    UnauthenticatedError,
)
from gql_portal.settings import get_settings
from gql_portal.sql import execute, fetch, is_postgres
from gql_portal.two_factor import recovery, totp
from gql_portal.two_factor.gate import LoginStatus, TwoFactorState, two_factor_state
from gql_portal.two_factor.models import TotpAuthenticator, TotpEnrollment
from gql_portal.two_factor.throttle import (
    Attempt,
    finish_attempt,
    retry_after_seconds,
    start_attempt,
)


@dataclass(frozen=True, slots=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_code_svg: str
    qr_code_png: str
    expires_at: datetime


ALREADY_ENROLLED = "An authenticator is already enrolled: sign in with a code from it"


def require_code(code: str) -> str:
    if not totp.is_well_formed_code(code):
        raise BadUserInputError("A code is exactly 6 digits", field="code")
    return code


_REPLACE_ENROLLMENT = (
    'INSERT INTO "totp_enrollments" ("user_id", "secret_encrypted", "created_at", "expires_at")'
    ' VALUES (?, ?, ?, ?) ON CONFLICT ("user_id") DO UPDATE SET'
    ' "secret_encrypted" = excluded."secret_encrypted",'
    ' "created_at" = excluded."created_at", "expires_at" = excluded."expires_at"'
)


async def begin_enrollment(*, viewer: Viewer, meta: RequestMeta) -> Enrollment:
    user = viewer.user
    if viewer.enrolled:
        raise BadUserInputError(
            "An authenticator is already enrolled; an administrator can reset it"
        )
    may_enroll = viewer.session.issued_pending or (
        two_factor_state(viewer.rules, user, enrolled=False) is TwoFactorState.PENDING_ENROLLMENT
    )
    if not may_enroll:
        raise TwoFactorNotAvailableError()
    settings = get_settings()
    now = utcnow()
    secret = totp.new_secret()
    expires_at = now + timedelta(minutes=settings.enrollment_ttl_minutes)
    async with in_transaction() as connection:
        # One statement: a delete-then-insert lets concurrent calls (two tabs) both insert,
        # and the unique user_id refuse all but one. Here each waits for the one before
        # and replaces it: the last call's secret stands, every call answers.
        await execute(
            connection,
            _REPLACE_ENROLLMENT,
            [user.id, encrypt_secret(secret), now, expires_at],
        )
        await record_audit_event(
            action=AuditAction.TOTP_ENROLLMENT_STARTED,
            meta=meta,
            actor=user,
            target=user,
            using_db=connection,
        )
    uri = totp.provisioning_uri(secret, account=user.email, issuer=settings.totp_issuer)
    return Enrollment(
        secret=secret,
        otpauth_uri=uri,
        qr_code_svg=totp.qr_code_svg_data_uri(uri),
        qr_code_png=totp.qr_code_png_data_uri(uri),
        expires_at=expires_at,
    )


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


async def _code_attempt(
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
                await write_audit_event(
                    connection,
                    action=AuditAction.TOTP_VERIFICATION_FAILED,
                    outcome=AuditOutcome.FAILURE,
                    meta=meta,
                    actor=user,
                    target=user,
                    details={"operation": operation, "consecutiveFailures": attempt.failures},
                )
                if attempt.locks_on_failure and attempt.failures >= 5:
                    await write_audit_event(
                        connection,
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
    if not attempt.refused and not accepted and attempt.locks_on_failure and attempt.failures >= 5:
        metrics.record_lockout("totp")  # after commit, like the TOTP_LOCKED_OUT event
    if attempt.refused_until is not None:
        raise TooManyAttemptsError(retry_after_seconds(attempt.refused_until, now))
    if not accepted:
        raise InvalidCodeError(attemptsLeft=attempt.attempts_left)


async def _exchange_session(
    viewer: Viewer, meta: RequestMeta, connection: BaseDBAsyncClient
) -> LoginResult:
    """The presented token dies and a new AUTHENTICATED one is issued, in one transaction."""
    if not await revoke_session(viewer.session.id, using_db=connection):
        raise UnauthenticatedError("This token was already exchanged")
    issued = await issue_session(
        user=viewer.user, meta=meta, pending=False, second_factor=True, using_db=connection
    )
    return LoginResult(
        status=LoginStatus.AUTHENTICATED, issued=issued, user=viewer.user, enrollment_deadline=None
    )


async def confirm_enrollment(*, viewer: Viewer, code: str, meta: RequestMeta) -> LoginResult:
    require_code(code)
    user = viewer.user
    if viewer.enrolled:
        raise BadUserInputError(ALREADY_ENROLLED)
    enrollment = await TotpEnrollment.get_or_none(user_id=user.id)
    if enrollment is None or enrollment.expires_at <= utcnow():
        raise BadUserInputError("No enrollment in progress: call beginTotpEnrollment first")
    outcome: dict[str, LoginResult | list[str]] = {}

    async def check(
        authenticator: StoredAuthenticator | None, now: datetime, connection: BaseDBAsyncClient
    ) -> bool:
        # A confirm from another tab (or a double click) may have enrolled while this one
        # queued on the user's row lock: that is no guess, so nothing is counted and the
        # transaction ends before its outcome is written. A fresh statement, because
        # PostgreSQL re-reads only the locked rows of the lock query, not its outer join.
        if await TotpAuthenticator.exists(user_id=user.id, using_db=connection):
            raise BadUserInputError(ALREADY_ENROLLED)
        current = await TotpEnrollment.get_or_none(id=enrollment.id, using_db=connection)
        if current is None or current.expires_at <= now:
            return False
        step = totp.matching_step(decrypt_secret(current.secret_encrypted), code, now)
        if step is None:
            return False
        # Confirming uses the code: its step is the replay guard's first value.
        await TotpAuthenticator.create(
            user_id=user.id,
            secret_encrypted=current.secret_encrypted,
            confirmed_at=now,
            last_used_step=step,
            using_db=connection,
        )
        await current.delete(using_db=connection)
        return True

    async def succeed(now: datetime, connection: BaseDBAsyncClient) -> None:
        outcome["codes"] = await recovery.replace_codes(user.id, now, connection)
        outcome["login"] = await _exchange_session(viewer, meta, connection)
        await write_audit_event(
            connection, action=AuditAction.TOTP_ENROLLED, meta=meta, actor=user, target=user
        )

    await _code_attempt(
        viewer=viewer, operation="confirmTotpEnrollment", meta=meta, check=check, succeed=succeed
    )
    login = outcome["login"]
    assert isinstance(login, LoginResult)
    codes = outcome["codes"]
    assert isinstance(codes, list)
    return LoginResult(
        status=login.status,
        issued=login.issued,
        user=login.user,
        enrollment_deadline=None,
        recovery_codes=codes,
    )


async def _check_totp(
    authenticator: StoredAuthenticator | None,
    code: str,
    now: datetime,
    connection: BaseDBAsyncClient,
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


def _require_code_step(viewer: Viewer) -> None:
    if viewer.status is LoginStatus.ENROLLMENT_REQUIRED:
        raise BadUserInputError("No authenticator is enrolled yet: enroll first")
    if viewer.status is not LoginStatus.TOTP_REQUIRED:
        raise BadUserInputError("This session has already passed two-factor authentication")


async def verify_totp(*, viewer: Viewer, code: str, meta: RequestMeta) -> LoginResult:
    require_code(code)
    _require_code_step(viewer)
    user = viewer.user
    outcome: list[LoginResult] = []

    async def check(
        authenticator: StoredAuthenticator | None, now: datetime, connection: BaseDBAsyncClient
    ) -> bool:
        return await _check_totp(authenticator, code, now, connection)

    async def succeed(now: datetime, connection: BaseDBAsyncClient) -> None:
        outcome.append(await _exchange_session(viewer, meta, connection))
        await write_audit_event(
            connection, action=AuditAction.TOTP_VERIFIED, meta=meta, actor=user, target=user
        )

    await _code_attempt(
        viewer=viewer, operation="verifyTotp", meta=meta, check=check, succeed=succeed
    )
    return outcome[0]


async def verify_recovery_code(*, viewer: Viewer, code: str, meta: RequestMeta) -> LoginResult:
    normalized = recovery.normalize(code)
    if normalized is None:
        raise BadUserInputError("A recovery code looks like abcd-efgh-jkmn-pqrs", field="code")
    _require_code_step(viewer)
    user = viewer.user
    outcome: list[LoginResult] = []

    async def check(
        authenticator: StoredAuthenticator | None, now: datetime, connection: BaseDBAsyncClient
    ) -> bool:
        return await recovery.use_code(user.id, normalized, now, connection)

    async def succeed(now: datetime, connection: BaseDBAsyncClient) -> None:
        outcome.append(await _exchange_session(viewer, meta, connection))
        await write_audit_event(
            connection,
            action=AuditAction.RECOVERY_CODE_USED,
            meta=meta,
            actor=user,
            target=user,
            details={"remaining": await recovery.remaining(user.id, connection)},
        )

    await _code_attempt(
        viewer=viewer, operation="verifyRecoveryCode", meta=meta, check=check, succeed=succeed
    )
    return outcome[0]


async def regenerate_recovery_codes(*, viewer: Viewer, code: str, meta: RequestMeta) -> list[str]:
    require_code(code)
    if not viewer.enrolled:
        raise BadUserInputError("No authenticator is enrolled")
    user = viewer.user
    codes: list[str] = []

    async def check(
        authenticator: StoredAuthenticator | None, now: datetime, connection: BaseDBAsyncClient
    ) -> bool:
        return await _check_totp(authenticator, code, now, connection)

    async def succeed(now: datetime, connection: BaseDBAsyncClient) -> None:
        codes.extend(await recovery.replace_codes(user.id, now, connection))
        await write_audit_event(
            connection,
            action=AuditAction.RECOVERY_CODES_REGENERATED,
            meta=meta,
            actor=user,
            target=user,
        )

    await _code_attempt(
        viewer=viewer, operation="regenerateRecoveryCodes", meta=meta, check=check, succeed=succeed
    )
    return codes
