from gql_portal.accounts.models import Role, User
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import record_audit_event
from gql_portal.errors import ForbiddenError
from gql_portal.request_meta import RequestMeta

SECURITY_ADMINS = frozenset({Role.SECURITY_ADMIN})
SYSTEM_ADMINS = frozenset({Role.SYSTEM_ADMIN})
DOMAIN_ADMINS = frozenset({Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN})
# Also the roles that may list users, so the only ones shown fields about other users.
READERS = frozenset({Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR})


async def record_access_denied(
    *, actor: User | None, operation: str, meta: RequestMeta, domain_id: int | None = None
) -> None:
    await record_audit_event(
        action=AuditAction.ACCESS_DENIED,
        outcome=AuditOutcome.FAILURE,
        meta=meta,
        actor=actor,
        domain_id=domain_id,
        details={"operation": operation},
    )


async def require_role(
    actor: User, allowed: frozenset[Role], *, operation: str, meta: RequestMeta
) -> None:
    """Refuse with FORBIDDEN and leave an ACCESS_DENIED event unless the actor holds a role."""
    if actor.has_any_role(*allowed):
        return
    await record_access_denied(actor=actor, operation=operation, meta=meta)
    raise ForbiddenError()
