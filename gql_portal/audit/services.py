from functools import lru_cache
from typing import Any, TypedDict, Unpack
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import User
from gql_portal.audit.models import EVENT_COLUMNS, AuditAction, AuditEvent, AuditOutcome
from gql_portal.clock import utcnow
from gql_portal.request_meta import RequestMeta
from gql_portal.sql import execute, json_parameter


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


class EventFields(TypedDict, total=False):
    """What an event may name besides its action and where it came from."""

    outcome: AuditOutcome
    actor: User | None
    target: User | None
    domain_id: int | None
    job_id: UUID | None
    details: dict[str, Any] | None
    target_email: str | None


def _columns(action: AuditAction, meta: RequestMeta, fields: EventFields) -> dict[str, Any]:
    """The stored columns of one event, cleaned: shared by both ways of writing it."""
    actor = fields.get("actor")
    target = fields.get("target")
    domain_id = fields.get("domain_id")
    if domain_id is None:
        named = target or actor
        domain_id = named.domain_id if named is not None else None
    return {
        "domain_id": domain_id,
        "occurred_at": utcnow(),
        "action": action.value,
        "outcome": fields.get("outcome", AuditOutcome.SUCCESS).value,
        "actor_id": actor.id if actor else None,
        "actor_email": _text(actor.email, 320) if actor else None,
        "target_id": target.id if target else None,
        "target_email": _text(target.email if target else fields.get("target_email"), 320),
        "ip": _text(meta.ip, 45),
        "user_agent": _text(meta.user_agent, 400),
        "request_id": _text(meta.request_id, 64),
        "job_id": fields.get("job_id"),
        "details": _clean(fields.get("details")),
    }


async def record_audit_event(
    *,
    action: AuditAction,
    meta: RequestMeta,
    using_db: BaseDBAsyncClient | None = None,
    **fields: Unpack[EventFields],
) -> AuditEvent:
    return await AuditEvent.create(**_columns(action, meta, fields), using_db=using_db)


# What a request writes; the hashes are the sealing job's, the id is the database's.
_WRITTEN = ("domain_id", *EVENT_COLUMNS)
_DETAILS = AuditEvent._meta.fields_map["details"]


@lru_cache(maxsize=2)
def _insert_sql(details_parameter: str) -> str:
    values = ", ".join(details_parameter if name == "details" else "?" for name in _WRITTEN)
    return f"INSERT INTO audit_events ({', '.join(_WRITTEN)}) VALUES ({values})"


async def write_audit_event(
    connection: BaseDBAsyncClient,
    *,
    action: AuditAction,
    meta: RequestMeta,
    **fields: Unpack[EventFields],
) -> None:
    """record_audit_event as one hand-written INSERT, for hot paths that need no model object.

    The same columns, cleaning and JSON encoding (the field's own); events read back alike.
    """
    columns = _columns(action, meta, fields)
    columns["details"] = _DETAILS.to_db_value(columns["details"], AuditEvent)
    await execute(
        connection,
        _insert_sql(json_parameter(connection)),
        [columns[name] for name in _WRITTEN],
    )
