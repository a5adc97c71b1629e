"""The outbox's sender in the worker: a loop of its own beside arq's jobs, started with the
worker and stopped with it (the batch in flight finishes first). Several workers share the
outbox safely: each claims its batches under a lease (gql_portal/notifications/delivery.py)."""

from typing import Any

from gql_portal.notifications.delivery import MailDelivery
from gql_portal.settings import get_settings

CONTEXT_KEY = "mail_delivery"


async def start_mail_delivery(ctx: dict[str, Any]) -> None:
    delivery = MailDelivery(get_settings())
    delivery.start()
    ctx[CONTEXT_KEY] = delivery


async def stop_mail_delivery(ctx: dict[str, Any]) -> None:
    delivery: MailDelivery | None = ctx.pop(CONTEXT_KEY, None)
    if delivery is not None:
        await delivery.stop()
