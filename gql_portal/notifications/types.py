from datetime import datetime

import strawberry

from gql_portal.accounts.types import PageInfo, UserType
from gql_portal.api.context import Info
from gql_portal.notifications.models import Notification, NotificationKind, NotificationStatus

strawberry.enum(NotificationStatus, name="NotificationStatus")
strawberry.enum(NotificationKind, name="NotificationKind")


@strawberry.input
class NotificationFilter:
    user_id: strawberry.ID | None = None
    status: NotificationStatus | None = None
    kind: NotificationKind | None = None


@strawberry.type(
    name="Notification",
    description="One message of the outbox: its delivery state, never its body.",
)
class NotificationType:
    id: strawberry.ID
    kind: NotificationKind
    status: NotificationStatus
    recipient: str
    attempts: int
    last_error: str | None = strawberry.field(description="The last failed attempt's reason.")
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(description="Null unless QUEUED.")
    user_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: Notification) -> "NotificationType":
        status = NotificationStatus(row.status)
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=NotificationKind(row.kind),
            status=status,
            recipient=row.recipient,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
            next_attempt_at=row.next_attempt_at if status is NotificationStatus.QUEUED else None,
            user_id=row.user_id,
        )

    @strawberry.field(description="Null once the user is deleted or moved; see recipient.")
    async def user(self, info: Info) -> UserType | None:
        viewer = info.context.viewer
        if self.user_id is None or viewer is None:
            return None
        from gql_portal.accounts.presenters import present_user_by_id

        # Every reader of notifications may list users: one batch per page, then the cache.
        return await present_user_by_id(info, self.user_id, domain_id=viewer.user.domain_id)


@strawberry.type
class NotificationEdge:
    cursor: str
    node: NotificationType


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo
