import strawberry

from gql_portal.accounts.types import PageInfo
from gql_portal.api.context import Info
from gql_portal.api.permissions import Readers, current_viewer
from gql_portal.audit import reader
from gql_portal.audit.adoption import adoption_series
from gql_portal.audit.filters import AuditQuery, build_query
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.types import (
    AdoptionPoint,
    AuditBucket,
    AuditEventConnection,
    AuditEventEdge,
    AuditEventFilter,
    AuditEventType,
)


def to_query(filter: AuditEventFilter | None) -> AuditQuery:
    if filter is None:
        return AuditQuery()
    return build_query(
        actions=filter.actions,
        outcome=filter.outcome,
        actor_id=filter.actor_id,
        target_id=filter.target_user_id,
        job_id=filter.job_id,
        since=filter.since,
        until=filter.until,
        ip=filter.ip,
    )


@strawberry.type
class AuditQueries:
    @strawberry.field(
        permission_classes=[Readers],
        description="The viewer's domain's audit log, newest first. "
        "For SECURITY_ADMIN, SYSTEM_ADMIN and AUDITOR.",
    )
    async def audit_events(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: AuditEventFilter | None = None,
    ) -> AuditEventConnection:
        viewer = current_viewer(info)
        query = to_query(filter)
        page = await reader.list_events(
            actor=viewer.user, query=query, first=first, after=after, meta=info.context.meta
        )
        return AuditEventConnection(
            edges=[
                AuditEventEdge(cursor=cursor, node=AuditEventType.from_model(event))
                for event, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page.cursors, page.has_next_page),
            domain_id=viewer.user.domain_id,
            query=query,
        )

    @strawberry.field(
        permission_classes=[Readers],
        description="Event counts per time bucket (UTC), action and outcome; newest first.",
    )
    async def audit_summary(
        self, info: Info, bucket: reader.TimeBucket, filter: AuditEventFilter | None = None
    ) -> list[AuditBucket]:
        viewer = current_viewer(info)
        counts = await reader.summarize(
            actor=viewer.user, query=to_query(filter), bucket=bucket, meta=info.context.meta
        )
        return [
            AuditBucket(
                start=c.start,
                action=AuditAction(c.action),
                outcome=AuditOutcome(c.outcome),
                count=c.count,
            )
            for c in counts
        ]

    @strawberry.field(
        permission_classes=[Readers],
        description="2FA adoption at the end of each of the last `days` days (UTC), oldest "
        "first; derived from today's counts and the audit log.",
    )
    async def two_factor_adoption(self, info: Info, days: int = 30) -> list[AdoptionPoint]:
        viewer = current_viewer(info)
        series = await adoption_series(actor=viewer.user, days=days, meta=info.context.meta)
        return [AdoptionPoint(day=p.day, enabled=p.enabled, enrolled=p.enrolled) for p in series]
