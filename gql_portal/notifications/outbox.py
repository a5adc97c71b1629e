"""Writing the outbox: messages are rows, inserted in the transaction of the change they tell
of, so a change that rolls back sends nothing and no change waits for SMTP.

Every writer is set-based: one statement per call whatever the number of recipients (plus
one read of the domains' switch where a call with optional kinds spans several domains).
A ``dedupe_key`` (unique; NULLs never conflict) makes a message once-only where its event may
be seen twice: a bulk chunk run again, two reminder crons at once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from json import dumps
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal import metrics
from gql_portal.clock import utcnow
from gql_portal.notifications.models import (
    OPTIONAL_KINDS,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from gql_portal.sql import fetch, in_ids, json_parameter, json_records

# Rows per INSERT of enqueue_each: its one JSON parameter stays near a megabyte.
ROWS_PER_INSERT = 5000
# enqueue_each's rows, read from that parameter (json_records); the rest are constants.
_EACH = (
    ("domain_id", "int"),
    ("user_id", "int"),
    ("recipient", "text"),
    ("params", "jsonb"),
    ("dedupe_key", "text"),
)

_COLUMNS = (
    "domain_id",
    "user_id",
    "recipient",
    "kind",
    "status",
    "attempts",
    "next_attempt_at",
    "params",
    "created_at",
    "job_id",
    "dedupe_key",
)
_PARAMS = Notification._meta.fields_map["params"]
# RETURNING counts what was written: asyncpg's INSERT status is read wrongly by Tortoise
# ("INSERT 0 n" gives 0), and a deduplicated row is not returned.
_ON_CONFLICT = " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"


@dataclass(frozen=True, slots=True)
class UsersWhere:
    """Users chosen in SQL: a condition on ``users u`` written with ``?`` placeholders."""

    sql: str
    values: list[Any]


@dataclass(frozen=True, slots=True)
class Recipient:
    """One message of ``enqueue_each``: its own user, address and parameters."""

    domain_id: int
    user_id: int | None
    recipient: str
    params: dict[str, Any]
    dedupe_key: str | None = None


def _encoded(params: dict[str, Any]) -> Any:
    return _PARAMS.to_db_value(params, Notification)


async def _insert(
    kind: NotificationKind, connection: BaseDBAsyncClient, sql: str, values: list[Any]
) -> int:
    written = len(await fetch(connection, sql, values))
    if written:
        metrics.child(metrics.NOTIFICATIONS_ENQUEUED, kind.value).inc(written)
    return written


@lru_cache(maxsize=2)
def _values_sql(json: str) -> str:
    """One message's INSERT (``json``: how the params parameter is written)."""
    row = ", ".join(json if name == "params" else "?" for name in _COLUMNS)
    return f"INSERT INTO notifications ({', '.join(_COLUMNS)}) VALUES ({row}){_ON_CONFLICT}"


async def enqueue(
    kind: NotificationKind,
    *,
    domain_id: int,
    user_id: int | None,
    recipient: str,
    params: dict[str, Any],
    using_db: BaseDBAsyncClient,
    job_id: UUID | None = None,
    dedupe_key: str | None = None,
) -> None:
    """One message; an optional kind only while the domain's switch is on (read by the
    INSERT itself: the switch and the message agree in one statement)."""
    now = utcnow()
    values = [
        domain_id,
        user_id,
        recipient,
        kind.value,
        NotificationStatus.QUEUED.value,
        0,
        now,
        _encoded(params),
        now,
        job_id,
        dedupe_key,
    ]
    json = json_parameter(using_db)
    if kind in OPTIONAL_KINDS:
        selected = ", ".join(json if name == "params" else "?" for name in _COLUMNS)
        sql = (
            f"INSERT INTO notifications ({', '.join(_COLUMNS)}) SELECT {selected}"
            " FROM password_security_rules WHERE domain_id = ?"
            " AND optional_notifications_enabled = ?" + _ON_CONFLICT
        )
        values += [domain_id, True]
    else:
        sql = _values_sql(json)
    await _insert(kind, using_db, sql, values)


async def enqueue_for_users(
    kind: NotificationKind,
    *,
    user_ids: Sequence[int] | UsersWhere,
    params: dict[str, Any],
    using_db: BaseDBAsyncClient,
    job_id: UUID | None = None,
    dedupe_prefix: str | None = None,
) -> int:
    """The same message to many users, each at their own address: one INSERT ... SELECT
    FROM users. With ``dedupe_prefix`` each row's key is the prefix and the user's id, so
    the same call made again writes nothing. Returns the rows written."""
    if isinstance(user_ids, UsersWhere):
        condition, condition_values = user_ids.sql, list(user_ids.values)
    else:
        if not user_ids:
            return 0
        condition, condition_values = in_ids(using_db, "u.id", list(user_ids))
    now = utcnow()
    json = json_parameter(using_db)
    dedupe = "CAST(? AS TEXT) || CAST(u.id AS TEXT)" if dedupe_prefix is not None else "?"
    selected = f"u.domain_id, u.id, u.email, ?, ?, ?, ?, {json}, ?, ?, {dedupe}"  # as in _COLUMNS
    switch = ""
    switch_values: list[Any] = []
    if kind in OPTIONAL_KINDS:
        switch = (
            " JOIN password_security_rules r ON r.domain_id = u.domain_id"
            " AND r.optional_notifications_enabled = ?"
        )
        switch_values = [True]
    sql = (
        f"INSERT INTO notifications ({', '.join(_COLUMNS)}) SELECT {selected}"
        f" FROM users u{switch} WHERE {condition}" + _ON_CONFLICT
    )
    values = [
        kind.value,
        NotificationStatus.QUEUED.value,
        0,
        now,
        _encoded(params),
        now,
        job_id,
        dedupe_prefix,
        *switch_values,
        *condition_values,
    ]
    return await _insert(kind, using_db, sql, values)


async def _optional_domains(domain_ids: set[int], connection: BaseDBAsyncClient) -> set[int]:
    ids, values = in_ids(connection, "domain_id", sorted(domain_ids))
    rows = await fetch(
        connection,
        f"SELECT domain_id FROM password_security_rules WHERE {ids}"
        " AND optional_notifications_enabled = ?",
        [*values, True],
    )
    return {int(row["domain_id"]) for row in rows}


async def enqueue_each(
    kind: NotificationKind,
    *,
    items: Sequence[Recipient],
    using_db: BaseDBAsyncClient,
    job_id: UUID | None = None,
) -> int:
    """Messages whose parameters differ per recipient (an invitation's own link, a
    reminder's own deadline): one INSERT ... SELECT per 5,000, the rows one JSON parameter.
    Returns the rows written."""
    if kind in OPTIONAL_KINDS and items:
        allowed = await _optional_domains({item.domain_id for item in items}, using_db)
        items = [item for item in items if item.domain_id in allowed]
    now = utcnow()
    sql = (
        f"INSERT INTO notifications ({', '.join(_COLUMNS)}) SELECT r.domain_id, r.user_id, "
        "r.recipient, ?, ?, 0, ?, r.params, ?, ?, r.dedupe_key "
        # WHERE true: SQLite's parser needs it between INSERT ... SELECT and ON CONFLICT.
        f"FROM {json_records(using_db, _EACH)} WHERE true{_ON_CONFLICT}"
    )
    constants = [kind.value, NotificationStatus.QUEUED.value, now, now, job_id]
    written = 0
    for start in range(0, len(items), ROWS_PER_INSERT):
        records = [
            {
                "domain_id": item.domain_id,
                "user_id": item.user_id,
                "recipient": item.recipient,
                "params": item.params,
                "dedupe_key": item.dedupe_key,
            }
            for item in items[start : start + ROWS_PER_INSERT]
        ]
        written += await _insert(kind, using_db, sql, [*constants, dumps(records)])
    return written
