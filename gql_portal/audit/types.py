from datetime import date, datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from gql_portal.accounts.types import PageInfo, UserType
from gql_portal.api.context import Info
from gql_portal.api.permissions import may_see_other_users
from gql_portal.audit.filters import AuditQuery
from gql_portal.audit.models import AuditAction, AuditEvent, AuditOutcome
from gql_portal.audit.reader import TimeBucket, count_events

strawberry.enum(AuditAction, name="AuditAction")
strawberry.enum(AuditOutcome, name="AuditOutcome")
strawberry.enum(TimeBucket, name="TimeBucket", description="Buckets start on UTC boundaries.")


@strawberry.input
class AuditEventFilter:
    actions: list[AuditAction] | None = strawberry.field(
        default=None, description="Any of these actions."
    )
    outcome: AuditOutcome | None = None
    actor_id: strawberry.ID | None = None
    target_user_id: strawberry.ID | None = None
    job_id: strawberry.ID | None = None
    since: datetime | None = strawberry.field(default=None, description="Inclusive.")
    until: datetime | None = strawberry.field(default=None, description="Inclusive.")
    ip: str | None = None


@strawberry.type(name="AuditEvent")
class AuditEventType:
    id: strawberry.ID
    occurred_at: datetime
    action: AuditAction
    outcome: AuditOutcome
    actor_email: str | None = strawberry.field(description="Kept after the user is deleted.")
    target_email: str | None = strawberry.field(description="Kept after the user is deleted.")
    ip: str | None
    user_agent: str | None
    request_id: str | None
    job_id: strawberry.ID | None
    details: JSON | None
    actor_id: strawberry.Private[int | None]
    target_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, event: AuditEvent) -> "AuditEventType":
        return cls(
            id=strawberry.ID(str(event.id)),
            occurred_at=event.occurred_at,
            action=AuditAction(event.action),
            outcome=AuditOutcome(event.outcome),
            actor_email=event.actor_email,
            target_email=event.target_email,
            ip=event.ip,
            user_agent=event.user_agent,
            request_id=event.request_id,
            job_id=strawberry.ID(str(event.job_id)) if event.job_id else None,
            details=cast(JSON, event.details),
            actor_id=event.actor_id,
            target_id=event.target_id,
        )

    @strawberry.field(description="Null once the user is deleted; see actorEmail.")
    async def actor(self, info: Info) -> UserType | None:
        return await _load_user(info, self.actor_id)

    @strawberry.field(description="Null once the user is deleted; see targetEmail.")
    async def target(self, info: Info) -> UserType | None:
        return await _load_user(info, self.target_id)


async def _load_user(info: Info, user_id: int | None) -> UserType | None:
    # Only for viewers who may see other users (api/permissions.py); a user moved to
    # another domain since the event is not shown.
    viewer = info.context.viewer
    if user_id is None or viewer is None or not may_see_other_users(info):
        return None
    from gql_portal.accounts.presenters import present_user_by_id

    return await present_user_by_id(info, user_id, domain_id=viewer.user.domain_id)


@strawberry.type
class AuditEventEdge:
    cursor: str
    node: AuditEventType


@strawberry.type
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo
    domain_id: strawberry.Private[int]
    query: strawberry.Private[AuditQuery]

    @strawberry.field(description="Events matching the filter; counted only when asked for.")
    async def total_count(self) -> int:
        return await count_events(domain_id=self.domain_id, query=self.query)


@strawberry.type
class AuditBucket:
    start: datetime = strawberry.field(description="Start of the hour or day, UTC.")
    action: AuditAction
    outcome: AuditOutcome
    count: int


@strawberry.type
class AdoptionPoint:
    day: date
    enabled: int = strawberry.field(description="Users with 2FA enabled at the end of the day.")
    enrolled: int = strawberry.field(description="Of those, users with a confirmed authenticator.")
