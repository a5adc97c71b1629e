from gql_portal.accounts.models import Role, User
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import RequestMeta, record_audit_event
from gql_portal.errors import ForbiddenError

SECURITY_ADMINS = frozenset({Role.SECURITY_ADMIN})
DOMAIN_ADMINS = frozenset({Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN})
READERS = frozenset({Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR})


async def require_role(
    actor: User, allowed: frozenset[Role], *, operation: str, meta: RequestMeta
) -> None:
    """Refuse with FORBIDDEN and leave an ACCESS_DENIED event unless the actor holds a role."""
    if actor.has_any_role(*allowed):
        return
    await record_audit_event(
        action=AuditAction.ACCESS_DENIED,
        outcome=AuditOutcome.FAILURE,
        meta=meta,
        actor=actor,
        details={"operation": operation},
    )
    raise ForbiddenError()
