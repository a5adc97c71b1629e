"""Reading the audit log: keyset pages, totals and SQL-side summaries, one domain at a time."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import RawSQL
from tortoise.functions import Count

from gql_portal.accounts.authorization import READERS, require_role
from gql_portal.accounts.models import User
from gql_portal.audit.filters import AuditQuery, event_condition
from gql_portal.audit.models import AuditEvent
from gql_portal.db import dialect
from gql_portal.inputs import MAX_BIG_ID
from gql_portal.paging import Key, Keyset, Page, cursor_id, cursor_time
from gql_portal.request_meta import RequestMeta

EVENTS = Keyset(
    AuditEvent,
    "audit",
    Key("occurred_at", cursor_time, descending=True),
    Key("id", cursor_id(MAX_BIG_ID), descending=True),
)


class TimeBucket(StrEnum):
    HOUR = "HOUR"
    DAY = "DAY"


@dataclass(frozen=True, slots=True)
class BucketCount:
    start: datetime
    action: str
    outcome: str
    count: int


async def list_events(
    *, actor: User, query: AuditQuery, first: int | None, after: str | None, meta: RequestMeta
) -> Page[AuditEvent]:
    """Newest first."""
    await require_role(actor, READERS, operation="auditEvents", meta=meta)
    return await EVENTS.page(event_condition(actor.domain_id, query), first=first, after=after)


async def count_events(*, domain_id: int, query: AuditQuery) -> int:
    return await AuditEvent.filter(event_condition(domain_id, query)).count()


def stream_events(
    *, domain_id: int, query: AuditQuery, batch_size: int = 1000
) -> AsyncIterator[dict[str, Any]]:
    """Every matching event, newest first, in keyset batches: memory stays one batch."""
    return EVENTS.rows(event_condition(domain_id, query), batch_size=batch_size)


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
