"""Notification cron jobs: the enrollment deadline reminders, once a minute."""

from typing import Any

from arq.cron import cron

from gql_portal.notifications.reminders import send_enrollment_reminders
from workers.resilient import skips_outages


@skips_outages
async def send_reminders(ctx: dict[str, Any]) -> int:
    return await send_enrollment_reminders()


NOTIFICATION_CRON_JOBS = [
    # Several workers may run the same tick: each reminder's dedupe key writes it once.
    cron(send_reminders, second={45}, run_at_startup=True, timeout=600),
]
