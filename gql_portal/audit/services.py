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


def _text(value: str | None, limit: int) -> str | None:
    # PostgreSQL text and jsonb refuse NUL; a client-supplied value must not fail the write.
    return value.replace("\x00", "\ufffd")[:limit] if value is not None else None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


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
        named = target or actor
        domain_id = named.domain_id if named is not None else None
    return await AuditEvent.create(
        domain_id=domain_id,
        occurred_at=utcnow(),
        action=action.value,
        outcome=outcome.value,
        actor_id=actor.id if actor else None,
        actor_email=_text(actor.email, 320) if actor else None,
        target_id=target.id if target else None,
        target_email=_text(target.email if target else target_email, 320),
        ip=_text(meta.ip, 45),
        user_agent=_text(meta.user_agent, 400),
        request_id=_text(meta.request_id, 64),
        job_id=job_id,
        details=_clean(details),
        using_db=using_db,
    )
