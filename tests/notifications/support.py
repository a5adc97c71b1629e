"""Rows in the outbox and settings that point delivery at a test server."""

from typing import Any

from tortoise.transactions import in_transaction

from gql_portal.notifications.models import Notification, NotificationKind
from gql_portal.notifications.outbox import Recipient, enqueue_each
from gql_portal.settings import Settings

DOMAIN_ID = 1


def smtp_settings(port: int, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "mail_rate": 0,
        "mail_from": "Portal <no-reply@portal.example>",
        "smtp_timeout_seconds": 2,
    }
    return Settings(**{**values, **changes})


async def queue(
    count: int,
    *,
    kind: NotificationKind = NotificationKind.PASSWORD_CHANGED,
    params: dict[str, Any] | None = None,
    recipient: str = "user{}@example.com",
) -> list[int]:
    """``count`` messages, set-based (one INSERT per thousand); their ids in order."""
    items = [
        Recipient(DOMAIN_ID, None, recipient.format(index), dict(params or {}))
        for index in range(count)
    ]
    async with in_transaction() as connection:
        await enqueue_each(kind, items=items, using_db=connection)
    return [row.id for row in await Notification.all().order_by("id").only("id")]


def row_id(message_id: str) -> int:
    """The outbox row a Message-ID names: <notification-{id}.{domain}@{host}>."""
    local = message_id.strip("<>").partition("@")[0]
    assert local.startswith("notification-"), message_id
    return int(local.removeprefix("notification-").partition(".")[0])
