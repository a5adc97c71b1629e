import strawberry

from gql_portal.accounts.types import PageInfo
from gql_portal.api.context import Info
from gql_portal.api.permissions import Readers, current_viewer
from gql_portal.notifications import reader
from gql_portal.notifications.types import (
    NotificationConnection,
    NotificationEdge,
    NotificationFilter,
    NotificationType,
)


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        permission_classes=[Readers],
        description="The viewer's domain's messages and their delivery, newest first "
        "(no bodies). For SECURITY_ADMIN, SYSTEM_ADMIN and AUDITOR.",
    )
    async def notifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: NotificationFilter | None = None,
    ) -> NotificationConnection:
        viewer = current_viewer(info)
        query = (
            reader.build_query(user_id=filter.user_id, status=filter.status, kind=filter.kind)
            if filter is not None
            else reader.NotificationQuery()
        )
        page = await reader.list_notifications(
            actor=viewer.user, query=query, first=first, after=after, meta=info.context.meta
        )
        return NotificationConnection(
            edges=[
                NotificationEdge(cursor=cursor, node=NotificationType.from_model(row))
                for row, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page.cursors, page.has_next_page),
        )
