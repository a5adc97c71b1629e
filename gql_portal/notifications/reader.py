"""Reading the outbox's delivery state for administrators and auditors: keyset pages of one
domain's messages, newest first, never their bodies or params."""

from dataclasses import dataclass

from tortoise.expressions import Q

from gql_portal.accounts.authorization import READERS, require_role
from gql_portal.accounts.models import User
from gql_portal.audit.filters import parse_user_id
from gql_portal.inputs import MAX_BIG_ID
from gql_portal.notifications.models import Notification, NotificationKind, NotificationStatus
from gql_portal.paging import Key, Keyset, Page, cursor_id
from gql_portal.request_meta import RequestMeta

# Ids grow with created_at: the (domain_id, id) and (domain_id, user_id, id) indexes serve
# every page, filtered or not.
NOTIFICATIONS = Keyset(
    Notification, "notification", Key("id", cursor_id(MAX_BIG_ID), descending=True)
)


@dataclass(frozen=True, slots=True)
class NotificationQuery:
    user_id: int | None = None
    status: NotificationStatus | None = None
    kind: NotificationKind | None = None


def build_query(
    *,
    user_id: str | None = None,
    status: NotificationStatus | None = None,
    kind: NotificationKind | None = None,
) -> NotificationQuery:
    return NotificationQuery(user_id=parse_user_id(user_id, "userId"), status=status, kind=kind)


def condition(domain_id: int, query: NotificationQuery) -> Q:
    where = Q(domain_id=domain_id)
    if query.user_id is not None:
        where &= Q(user_id=query.user_id)
    if query.status is not None:
        where &= Q(status=query.status.value)
    if query.kind is not None:
        where &= Q(kind=query.kind.value)
    return where


async def list_notifications(
    *,
    actor: User,
    query: NotificationQuery,
    first: int | None,
    after: str | None,
    meta: RequestMeta,
) -> Page[Notification]:
    await require_role(actor, READERS, operation="notifications", meta=meta)
    return await NOTIFICATIONS.page(condition(actor.domain_id, query), first=first, after=after)
