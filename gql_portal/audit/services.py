from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import User
from gql_portal.audit.models import AuditAction, AuditEvent, AuditOutcome
from gql_portal.clock import utcnow


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Where an action came from; CLI and worker actions have no ip."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


SYSTEM = RequestMeta(request_id=None)


async def record_audit_event(
    *,
    action: AuditAction,
    meta: RequestMeta,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    actor: User | None = None,
    target: User | None = None,
    domain_id: int | None = None,
    job_id: UUID | None = None,
    details: dict[str, Any] | None = None,
    target_email: str | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> AuditEvent:
    if domain_id is None:
        domain_id = (target or actor).domain_id if (target or actor) else None
    return await AuditEvent.create(
        domain_id=domain_id,
        occurred_at=utcnow(),
        action=action.value,
        outcome=outcome.value,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else None,
        target_id=target.id if target else None,
        target_email=target.email if target else target_email,
        ip=meta.ip,
        user_agent=meta.user_agent[:400] if meta.user_agent else None,
        request_id=meta.request_id,
        job_id=job_id,
        details=details,
        using_db=using_db,
    )
