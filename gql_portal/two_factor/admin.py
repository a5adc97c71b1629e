"""What administrators do to one user's second factor: enable, disable, reset."""

from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from gql_portal.accounts.authorization import DOMAIN_ADMINS, SECURITY_ADMINS, require_role
from gql_portal.accounts.directory import find_user_in_domain, parse_id
from gql_portal.accounts.models import PasswordSecurityRules, User
from gql_portal.accounts.sessions import revoke_user_sessions
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.notifications import notices
from gql_portal.request_meta import RequestMeta
from gql_portal.rules.services import require_two_factor_available
from gql_portal.two_factor.models import RecoveryCode, TotpAuthenticator, TotpEnrollment


def enrollment_deadline_for(rules: PasswordSecurityRules, now: datetime) -> datetime | None:
    hours = rules.enrollment_grace_period_hours
    return now + timedelta(hours=hours) if hours > 0 else None


async def enable_user_two_factor(*, actor: User, user_id: str, meta: RequestMeta) -> User:
    await require_role(actor, SECURITY_ADMINS, operation="enableUserTwoFactor", meta=meta)
    target = await find_user_in_domain(actor=actor, user_id=parse_id(user_id))
    rules = await require_two_factor_available(
        domain_id=actor.domain_id,
        action=AuditAction.USER_TWO_FACTOR_ENABLED,
        meta=meta,
        actor=actor,
        target=target,
    )
    now = utcnow()
    deadline = enrollment_deadline_for(rules, now)
    async with in_transaction() as connection:
        changed = (
            await User.filter(id=target.id, two_factor_enabled=False)
            .using_db(connection)
            .update(
                two_factor_enabled=True, two_factor_enabled_at=now, enrollment_deadline=deadline
            )
        )
        if changed:
            await record_audit_event(
                action=AuditAction.USER_TWO_FACTOR_ENABLED,
                meta=meta,
                actor=actor,
                target=target,
                details={"enrollmentDeadline": deadline.isoformat() if deadline else None},
                using_db=connection,
            )
            await notices.two_factor_enabled(target, deadline, connection)
    return await User.get(id=target.id)


async def disable_user_two_factor(*, actor: User, user_id: str, meta: RequestMeta) -> User:
    """Keeps the authenticator, its replay guard, its failure count and any lock."""
    await require_role(actor, DOMAIN_ADMINS, operation="disableUserTwoFactor", meta=meta)
    target = await find_user_in_domain(actor=actor, user_id=parse_id(user_id))
    async with in_transaction() as connection:
        changed = (
            await User.filter(id=target.id, two_factor_enabled=True)
            .using_db(connection)
            .update(two_factor_enabled=False, enrollment_deadline=None)
        )
        if changed:
            await TotpEnrollment.filter(user_id=target.id).using_db(connection).delete()
            await record_audit_event(
                action=AuditAction.USER_TWO_FACTOR_DISABLED,
                meta=meta,
                actor=actor,
                target=target,
                using_db=connection,
            )
            await notices.two_factor_disabled(target, actor, connection)
    return await User.get(id=target.id)


async def reset_user_two_factor(*, actor: User, user_id: str, meta: RequestMeta) -> User:
    """Lost device: authenticator, recovery codes, lock and sessions go; enablement stays."""
    await require_role(actor, DOMAIN_ADMINS, operation="resetUserTwoFactor", meta=meta)
    target = await find_user_in_domain(actor=actor, user_id=parse_id(user_id))
    async with in_transaction() as connection:
        removed = await TotpAuthenticator.filter(user_id=target.id).using_db(connection).delete()
        discarded = await TotpEnrollment.filter(user_id=target.id).using_db(connection).delete()
        codes = await RecoveryCode.filter(user_id=target.id).using_db(connection).delete()
        unlocked = await (
            User.filter(id=target.id)
            .filter(
                Q(code_failures__gt=0)
                | Q(code_locked_until__not_isnull=True)
                | Q(enrollment_deadline__not_isnull=True)
            )
            .using_db(connection)
            .update(code_failures=0, code_locked_until=None, enrollment_deadline=None)
        )
        revoked = await revoke_user_sessions(target.id, using_db=connection)
        if removed or discarded or codes or unlocked or revoked:
            await record_audit_event(
                action=AuditAction.USER_TWO_FACTOR_RESET,
                meta=meta,
                actor=actor,
                target=target,
                details={
                    "authenticatorRemoved": bool(removed),
                    "unlocked": bool(unlocked),
                    "sessionsRevoked": revoked,
                },
                using_db=connection,
            )
            await notices.two_factor_reset(target, actor, connection)
    return await User.get(id=target.id)
