import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypedDict, Unpack
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import User
from gql_portal.audit.models import EVENT_COLUMNS, AuditAction, AuditEvent, AuditOutcome
from gql_portal.clock import utcnow
from gql_portal.request_meta import RequestMeta
from gql_portal.sql import execute, in_ids, json_parameter, json_records


def _text(value: str | None, limit: int) -> str | None:
    # PostgreSQL text and jsonb refuse NUL; a client-supplied value must not fail the write.
    return value.replace("\x00", "\ufffd")[:limit] if value is not None else None


def stored_meta(meta: RequestMeta) -> RequestMeta:
    """``meta`` as an event stores it: NUL replaced, each value cut to its column."""
    return RequestMeta(
        ip=_text(meta.ip, 45),
        user_agent=_text(meta.user_agent, 400),
        request_id=_text(meta.request_id, 64),
    )


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
    # For an actor known only by the id and email kept on a row (a bulk job's requester).
    actor_id: int | None
    actor_email: str | None
    target: User | None
    domain_id: int | None
    job_id: UUID | None
    details: dict[str, Any] | None
    target_email: str | None


# What a request writes; the hashes are the sealing job's, the id is the database's.
_WRITTEN = ("domain_id", *EVENT_COLUMNS)
_DETAILS = AuditEvent._meta.fields_map["details"]
# The columns a set-based write takes from each target user's row.
_FROM_USERS = {
    "domain_id": "users.domain_id",
    "target_id": "users.id",
    "target_email": "users.email",
}
# One user's own details, beside its id (record_user_audit_events' ``user_details``).
_OWN_DETAILS = (("id", "bigint"), ("details", "jsonb"))


def _columns(action: AuditAction, meta: RequestMeta, fields: EventFields) -> dict[str, Any]:
    """The stored columns of one event, cleaned and cut to size: every writer builds its
    rows here, so no path skips the cleaning."""
    actor = fields.get("actor")
    target = fields.get("target")
    origin = stored_meta(meta)
    domain_id = fields.get("domain_id")
    if domain_id is None:
        named = target or actor
        domain_id = named.domain_id if named is not None else None
    return {
        "domain_id": domain_id,
        "occurred_at": utcnow(),
        "action": action.value,
        "outcome": fields.get("outcome", AuditOutcome.SUCCESS).value,
        "actor_id": actor.id if actor else fields.get("actor_id"),
        "actor_email": _text(actor.email if actor else fields.get("actor_email"), 320),
        "target_id": target.id if target else None,
        "target_email": _text(target.email if target else fields.get("target_email"), 320),
        "ip": origin.ip,
        "user_agent": origin.user_agent,
        "request_id": origin.request_id,
        "job_id": fields.get("job_id"),
        "details": _DETAILS.to_db_value(_clean(fields.get("details")), AuditEvent),
    }


async def record_audit_event(
    *,
    action: AuditAction,
    meta: RequestMeta,
    using_db: BaseDBAsyncClient | None = None,
    **fields: Unpack[EventFields],
) -> None:
    """The one writer of a single audit event: one hand-written INSERT (hot paths pay for
    it); the details are encoded as the model's own field does, so events read back alike."""
    connection = AuditEvent._meta.db if using_db is None else using_db
    columns = _columns(action, meta, fields)
    await execute(
        connection, _insert_sql(json_parameter(connection)), [columns[name] for name in _WRITTEN]
    )


async def record_user_audit_events(
    connection: BaseDBAsyncClient,
    *,
    action: AuditAction,
    meta: RequestMeta,
    user_ids: list[int],
    user_details: Mapping[int, Mapping[str, Any]] | None = None,
    **fields: Unpack[EventFields],
) -> None:
    """The set-based writer: one event per user of ``user_ids`` (each its own target and
    domain), one INSERT ... SELECT, the other columns built and cleaned as for one event.
    ``user_details`` adds each user's own details to the shared ``details`` (what an
    import changed of that user): one JSON parameter beside the ids, still one statement.

    The unique (job_id, action, target_id) key makes a repeated batch of a job insert
    nothing (events without a job never conflict: NULLs are distinct).
    """
    columns = _columns(action, meta, fields)
    if user_details is None:
        users, user_values = in_ids(connection, "users.id", user_ids)
        await execute(
            connection,
            f"{_insert_from_users_sql(json_parameter(connection), 'users')} WHERE {users}{_ONCE}",
            [*_shared_values(columns, details=True), *user_values],
        )
        return
    base = fields.get("details") or {}
    records = [
        {"id": user_id, "details": _clean({**base, **user_details.get(user_id, {})})}
        for user_id in user_ids
    ]
    # CROSS JOIN: SQLite walks the records and looks each user up by its key.
    source = f"{json_records(connection, _OWN_DETAILS)} CROSS JOIN users"
    await execute(
        connection,
        f"{_insert_from_users_sql('r.details', source)} WHERE users.id = r.id{_ONCE}",
        [*_shared_values(columns, details=False), json.dumps(records)],
    )


_ONCE = " ON CONFLICT (job_id, action, target_id) DO NOTHING"


def _shared_values(columns: dict[str, Any], *, details: bool) -> list[Any]:
    """The values every event of a set-based write shares (the rest come from the users,
    and the details from each user's record when ``details`` is False)."""
    return [
        columns[name]
        for name in _WRITTEN
        if name not in _FROM_USERS and (details or name != "details")
    ]


def _parameter(name: str, details_parameter: str) -> str:
    return details_parameter if name == "details" else "?"


@lru_cache(maxsize=2)
def _insert_sql(details_parameter: str) -> str:
    values = ", ".join(_parameter(name, details_parameter) for name in _WRITTEN)
    return f"INSERT INTO audit_events ({', '.join(_WRITTEN)}) VALUES ({values})"


@lru_cache(maxsize=8)
def _insert_from_users_sql(details: str, source: str) -> str:
    """``details``: the parameter of the shared details, or the records' column."""
    selected = ", ".join(_FROM_USERS.get(name) or _parameter(name, details) for name in _WRITTEN)
    return f"INSERT INTO audit_events ({', '.join(_WRITTEN)}) SELECT {selected} FROM {source}"
