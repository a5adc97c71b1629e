"""Enrolling an authenticator: a secret to scan, then a first code that confirms it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from gql_portal.accounts.services import LoginResult
from gql_portal.accounts.sessions import Viewer
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.crypto import decrypt_secret, encrypt_secret
from gql_portal.errors import BadUserInputError, TwoFactorNotAvailableError
from gql_portal.notifications import notices
from gql_portal.request_meta import RequestMeta
from gql_portal.settings import get_settings
from gql_portal.sql import execute
from gql_portal.two_factor import recovery, totp
from gql_portal.two_factor.attempt import StoredAuthenticator, code_attempt, require_code
from gql_portal.two_factor.gate import TwoFactorState, two_factor_state
from gql_portal.two_factor.models import TotpAuthenticator, TotpEnrollment
from gql_portal.two_factor.verification import exchange_session


@dataclass(frozen=True, slots=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_code_svg: str
    qr_code_png: str
    expires_at: datetime


ALREADY_ENROLLED = "An authenticator is already enrolled: sign in with a code from it"

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
        outcome["login"] = await exchange_session(viewer, meta, connection)
        await record_audit_event(
            using_db=connection,
            action=AuditAction.TOTP_ENROLLED,
            meta=meta,
            actor=user,
            target=user,
        )
        await notices.authenticator_added(user, meta, connection)

    await code_attempt(
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
