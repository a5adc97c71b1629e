"""Reading the audit log: keyset pages, totals and SQL-side summaries, one domain at a time."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q, RawSQL
from tortoise.functions import Count

from gql_portal.accounts.authorization import READERS, require_role
from gql_portal.accounts.directory import Page
from gql_portal.accounts.models import User
from gql_portal.api.pagination import (
    cursor_time,
    decode_cursor,
    encode_cursor,
    malformed_cursor,
    page_size,
)
from gql_portal.audit.filters import AuditQuery, before, event_condition
from gql_portal.audit.models import AuditEvent
from gql_portal.db import dialect
from gql_portal.inputs import MAX_BIG_ID, int_id
from gql_portal.request_meta import RequestMeta

CURSOR_KIND = "audit"
NEWEST_FIRST = ("-occurred_at", "-id")


class TimeBucket(StrEnum):
    HOUR = "HOUR"
    DAY = "DAY"


@dataclass(frozen=True, slots=True)
class BucketCount:
    start: datetime
    action: str
    outcome: str
    count: int


def event_cursor(event: AuditEvent) -> str:
    return encode_cursor(CURSOR_KIND, event.occurred_at.astimezone(UTC).isoformat(), event.id)


def _position(after: str | None) -> Q | None:
    position = decode_cursor(after, CURSOR_KIND, 2)
    if position is None:
        return None
    raw_time, raw_id = position
    event_id = int_id(raw_id, maximum=MAX_BIG_ID) if type(raw_id) is int else None
    if event_id is None:
        raise malformed_cursor()
    return before(cursor_time(raw_time), event_id)


async def list_events(
    *, actor: User, query: AuditQuery, first: int | None, after: str | None, meta: RequestMeta
) -> Page[AuditEvent]:
    await require_role(actor, READERS, operation="auditEvents", meta=meta)
    size = page_size(first)
    condition = event_condition(actor.domain_id, query)
    position = _position(after)
    if position is not None:
        condition &= position
    rows = await AuditEvent.filter(condition).order_by(*NEWEST_FIRST).limit(size + 1)
    items = rows[:size]
    return Page(
        items=items,
        cursors=[event_cursor(event) for event in items],
        has_next_page=len(rows) > size,
    )


async def count_events(*, domain_id: int, query: AuditQuery) -> int:
    return await AuditEvent.filter(event_condition(domain_id, query)).count()


async def stream_events(
    *, domain_id: int, query: AuditQuery, batch_size: int = 1000
) -> AsyncIterator[dict[str, Any]]:
    """Every matching event, newest first, in keyset batches: memory stays one batch."""
    condition = event_condition(domain_id, query)
    position: Q | None = None
    while True:
        batch_condition = condition & position if position is not None else condition
        rows = (
            await AuditEvent.filter(batch_condition)
            .order_by(*NEWEST_FIRST)
            .limit(batch_size)
            .values()
        )
        for row in rows:
            yield row
        if len(rows) < batch_size:
            return
        last = rows[-1]
        position = before(last["occurred_at"], last["id"])


def bucket_sql(bucket: TimeBucket) -> str:
    if dialect() == "postgres":
        unit = "hour" if bucket is TimeBucket.HOUR else "day"
        return f"date_trunc('{unit}', \"occurred_at\" AT TIME ZONE 'UTC')"
    pattern = "%Y-%m-%dT%H:00:00" if bucket is TimeBucket.HOUR else "%Y-%m-%dT00:00:00"
    return f"strftime('{pattern}', \"occurred_at\")"


def as_utc(value: datetime | str) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def summarize(
    *, actor: User, query: AuditQuery, bucket: TimeBucket, meta: RequestMeta
) -> list[BucketCount]:
    """Counts per bucket, action and outcome, grouped by the database; newest bucket first."""
    await require_role(actor, READERS, operation="auditSummary", meta=meta)
    rows = (
        await AuditEvent.filter(event_condition(actor.domain_id, query))
        .annotate(bucket=RawSQL(bucket_sql(bucket)), total=Count("id"))
        .group_by("bucket", "action", "outcome")
        .values("bucket", "action", "outcome", "total")
    )
    counts = [
        BucketCount(
            start=as_utc(row["bucket"]),
            action=row["action"],
            outcome=row["outcome"],
            count=row["total"],
        )
        for row in rows
    ]
    counts.sort(key=lambda item: (-item.start.timestamp(), item.action, item.outcome))
    return counts
