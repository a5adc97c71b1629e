"""Reading the outbox back in the notifications suite."""

from typing import Any

from gql_portal.notifications.models import Notification, NotificationKind


async def rows(kind: NotificationKind | None = None, **filters: Any) -> list[Notification]:
    query = Notification.filter(**filters)
    if kind is not None:
        query = query.filter(kind=kind.value)
    return await query.order_by("id")


async def kinds_for(user_id: int) -> list[str]:
    """The kinds queued for one user, oldest first."""
    return [row.kind for row in await rows(user_id=user_id)]
