"""Password Security Rules: the domain's 2FA switch and the settings beside it."""

from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from gql_portal.accounts.authorization import DOMAIN_ADMINS, SECURITY_ADMINS, require_role
from gql_portal.accounts.models import PasswordSecurityRules, User
from gql_portal.accounts.passwords import MAX_PASSWORD_LENGTH
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError, TwoFactorNotAvailableError
from gql_portal.request_meta import RequestMeta

MAX_GRACE_HOURS = 24 * 90
MIN_PASSWORD_FLOOR = 8
RETENTION_DAYS = (30, 3650)


@dataclass(frozen=True, slots=True)
class RulesChange:
    enrollment_grace_period_hours: int | None = None
    min_password_length: int | None = None
    audit_retention_days: int | None = None
    optional_notifications_enabled: bool | None = None


def _validate(change: RulesChange) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if (hours := change.enrollment_grace_period_hours) is not None:
        if not 0 <= hours <= MAX_GRACE_HOURS:
            raise BadUserInputError(
                f"enrollmentGracePeriodHours must be between 0 and {MAX_GRACE_HOURS}",
                field="enrollmentGracePeriodHours",
            )
        values["enrollment_grace_period_hours"] = hours
    if (length := change.min_password_length) is not None:
        if not MIN_PASSWORD_FLOOR <= length <= MAX_PASSWORD_LENGTH:
            raise BadUserInputError(
                f"minPasswordLength must be between {MIN_PASSWORD_FLOOR} and {MAX_PASSWORD_LENGTH}",
                field="minPasswordLength",
            )
        values["min_password_length"] = length
    if (days := change.audit_retention_days) is not None:
        if days != 0 and not RETENTION_DAYS[0] <= days <= RETENTION_DAYS[1]:
            raise BadUserInputError(
                f"auditRetentionDays must be 0 (keep forever) or between {RETENTION_DAYS[0]}"
                f" and {RETENTION_DAYS[1]}",
                field="auditRetentionDays",
            )
        values["audit_retention_days"] = days
    if (optional := change.optional_notifications_enabled) is not None:
        values["optional_notifications_enabled"] = optional
    return values


async def require_two_factor_available(
    *,
    domain_id: int,
    action: AuditAction,
    meta: RequestMeta,
    actor: User | None,
    target: User | None = None,
) -> PasswordSecurityRules:
    """The domain switch must be on; a refusal leaves a FAILURE event of the attempted action."""
    rules = await PasswordSecurityRules.get(domain_id=domain_id)
    if not rules.two_factor_enabled:
        await record_audit_event(
            action=action,
            outcome=AuditOutcome.FAILURE,
            meta=meta,
            actor=actor,
            target=target,
            domain_id=domain_id,
            details={"reason": "TWO_FACTOR_NOT_AVAILABLE"},
        )
        raise TwoFactorNotAvailableError()
    return rules


async def set_domain_two_factor(
    *, actor: User, enabled: bool, meta: RequestMeta
) -> PasswordSecurityRules:
    allowed = SECURITY_ADMINS if enabled else DOMAIN_ADMINS
    await require_role(actor, allowed, operation="setDomainTwoFactor", meta=meta)
    async with in_transaction() as connection:
        changed = (
            await PasswordSecurityRules.filter(
                domain_id=actor.domain_id, two_factor_enabled=not enabled
            )
            .using_db(connection)
            .update(two_factor_enabled=enabled, updated_at=utcnow(), updated_by_id=actor.id)
        )
        if changed:
            await record_audit_event(
                action=AuditAction.DOMAIN_TWO_FACTOR_ENABLED
                if enabled
                else AuditAction.DOMAIN_TWO_FACTOR_DISABLED,
                meta=meta,
                actor=actor,
                using_db=connection,
            )
    return await PasswordSecurityRules.get(domain_id=actor.domain_id)


async def update_password_rules(
    *, actor: User, change: RulesChange, meta: RequestMeta
) -> PasswordSecurityRules:
    await require_role(actor, SECURITY_ADMINS, operation="updatePasswordSecurityRules", meta=meta)
    values = _validate(change)
    async with in_transaction() as connection:
        rules = (
            await PasswordSecurityRules.filter(domain_id=actor.domain_id)
            .select_for_update()
            .using_db(connection)
            .get()
        )
        changes = {
            key: {"from": getattr(rules, key), "to": value}
            for key, value in values.items()
            if getattr(rules, key) != value
        }
        if changes:
            await (
                PasswordSecurityRules.filter(id=rules.id)
                .using_db(connection)
                .update(
                    **{key: values[key] for key in changes},
                    updated_at=utcnow(),
                    updated_by_id=actor.id,
                )
            )
            await record_audit_event(
                action=AuditAction.PASSWORD_RULES_UPDATED,
                meta=meta,
                actor=actor,
                details={"changes": changes},
                using_db=connection,
            )
    return await PasswordSecurityRules.get(domain_id=actor.domain_id)
