"""Passing the second factor at sign-in: a TOTP or recovery code exchanges the pending token."""

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.services import LoginResult
from gql_portal.accounts.sessions import Viewer, issue_session, revoke_session
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_audit_event
from gql_portal.errors import BadUserInputError, UnauthenticatedError
from gql_portal.notifications import notices
from gql_portal.request_meta import RequestMeta
from gql_portal.two_factor import recovery
from gql_portal.two_factor.attempt import (
    StoredAuthenticator,
    code_attempt,
    require_code,
    totp_check,
)
from gql_portal.two_factor.gate import LoginStatus


async def exchange_session(
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

    async def succeed(now: datetime, connection: BaseDBAsyncClient) -> None:
        outcome.append(await exchange_session(viewer, meta, connection))
        await record_audit_event(
            using_db=connection,
            action=AuditAction.TOTP_VERIFIED,
            meta=meta,
            actor=user,
            target=user,
        )

    await code_attempt(
        viewer=viewer, operation="verifyTotp", meta=meta, check=totp_check(code), succeed=succeed
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
        outcome.append(await exchange_session(viewer, meta, connection))
        remaining = await recovery.remaining(user.id, connection)
        await record_audit_event(
            using_db=connection,
            action=AuditAction.RECOVERY_CODE_USED,
            meta=meta,
            actor=user,
            target=user,
            details={"remaining": remaining},
        )
        await notices.recovery_code_used(user, remaining, meta, connection)

    await code_attempt(
        viewer=viewer, operation="verifyRecoveryCode", meta=meta, check=check, succeed=succeed
    )
    return outcome[0]
