"""Reading the outbox back in the notifications suite."""

from typing import Any

from gql_portal.accounts.models import User
from gql_portal.bulk.dispatch import InProcessDispatcher
from gql_portal.bulk.models import BulkJob
from gql_portal.bulk.selection import build_selection
from gql_portal.bulk.services import start_job
from gql_portal.notifications.models import Notification, NotificationKind
from gql_portal.request_meta import SYSTEM


async def rows(kind: NotificationKind | None = None, **filters: Any) -> list[Notification]:
    query = Notification.filter(**filters)
    if kind is not None:
        query = query.filter(kind=kind.value)
    return await query.order_by("id")


async def kinds_for(user_id: int) -> list[str]:
    """The kinds queued for one user, oldest first."""
    return [row.kind for row in await rows(user_id=user_id)]


async def queued_job(domain_id: int, actor: User | None) -> BulkJob:
    """A bulk job of every user, as the API leaves it, that no runner has started yet."""
    dispatcher = InProcessDispatcher()
    job = await start_job(
        actor=actor,
        domain_id=domain_id,
        selection=build_selection(),
        dry_run=False,
        meta=SYSTEM,
        dispatcher=dispatcher,
    )
    await dispatcher.close()  # never ran: the test runs it
    return await BulkJob.get(id=job.id)
