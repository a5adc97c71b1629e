"""What every signed-in user does to their own account: password and sessions."""

from datetime import timedelta

from tortoise.transactions import in_transaction

from gql_portal.accounts.models import Session, User
from gql_portal.accounts.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    hashing_place,
    verify_password,
)
from gql_portal.accounts.sessions import Viewer, revoke_session, revoke_user_sessions
from gql_portal.accounts.throttle import clear_login_attempts, count_login_attempt
from gql_portal.accounts.validation import require_new_password
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError, NotFoundError
from gql_portal.notifications import notices
from gql_portal.paging import MAX_PAGE_SIZE
from gql_portal.request_meta import RequestMeta
from gql_portal.settings import get_settings


async def change_password(
    *, viewer: Viewer, current_password: str, new_password: str, meta: RequestMeta
) -> None:
    """The current password is checked as a login checks it: the same throttle of the
    email counts the attempt first (a wrong one is a failure; a locked email answers
    TOO_MANY_ATTEMPTS), one argon2 verification. Every other session of the user is
    revoked with the change; this one stays."""
    user = viewer.user
    try:
        require_new_password(new_password, viewer.rules.min_password_length)
    except BadUserInputError as refused:
        raise BadUserInputError(refused.message, field="newPassword") from None
    if len(current_password) > MAX_PASSWORD_LENGTH:
        raise BadUserInputError("The current password is wrong", field="currentPassword")
    with hashing_place():
        await count_login_attempt(user.email_normalized)
        matches = bool(current_password) and await verify_password(
            user.password_hash, current_password
        )
    if not matches:
        # Seen in the audit log like a failed login: someone holding a session guesses.
        await record_audit_event(
            action=AuditAction.PASSWORD_CHANGED,
            outcome=AuditOutcome.FAILURE,
            meta=meta,
            actor=user,
            target=user,
            details={"via": "graphql", "reason": "bad_credentials"},
        )
        raise BadUserInputError("The current password is wrong", field="currentPassword")
    await clear_login_attempts(user.email_normalized)
    new_hash = await hash_password(new_password)
    now = utcnow()
    async with in_transaction() as connection:
        await (
            User.filter(id=user.id)
            .using_db(connection)
            .update(password_hash=new_hash, password_changed_at=now)
        )
        revoked = (
            await Session.filter(user_id=user.id, revoked_at=None)
            .exclude(id=viewer.session.id)
            .using_db(connection)
            .update(revoked_at=now)
        )
        await record_audit_event(
            action=AuditAction.PASSWORD_CHANGED,
            meta=meta,
            actor=user,
            target=user,
            details={"via": "graphql", "sessionsRevoked": revoked},
            using_db=connection,
        )
        await notices.password_changed(user, meta, connection)


async def live_sessions(viewer: Viewer) -> list[Session]:
    """Not revoked and not expired (the absolute and the idle limit), newest first; at
    most a page (MAX_PAGE_SIZE) of them."""
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    return (
        await Session.filter(
            user_id=viewer.user.id,
            revoked_at=None,
            expires_at__gt=viewer.now,
            last_seen_at__gt=viewer.now - idle,
        )
        .order_by("-created_at", "-id")
        .limit(MAX_PAGE_SIZE)
    )


async def revoke_own_session(*, viewer: Viewer, session_id: int, meta: RequestMeta) -> bool:
    """Another user's session answers NOT_FOUND like one that does not exist; False for
    one of the viewer's that was revoked already."""
    if not await Session.filter(id=session_id, user_id=viewer.user.id).exists():
        raise NotFoundError()
    async with in_transaction() as connection:
        revoked = await revoke_session(session_id, using_db=connection)
        if revoked:
            await record_audit_event(
                action=AuditAction.SESSION_REVOKED,
                meta=meta,
                actor=viewer.user,
                target=viewer.user,
                details={"via": "graphql", "count": 1},
                using_db=connection,
            )
    return bool(revoked)


async def logout_everywhere(*, viewer: Viewer, meta: RequestMeta) -> bool:
    """Every session of the viewer, this one included: one SESSION_REVOKED with the count."""
    async with in_transaction() as connection:
        revoked = await revoke_user_sessions(viewer.user.id, using_db=connection)
        await record_audit_event(
            action=AuditAction.SESSION_REVOKED,
            meta=meta,
            actor=viewer.user,
            target=viewer.user,
            details={"via": "graphql", "count": revoked, "everywhere": True},
            using_db=connection,
        )
    return revoked > 0
