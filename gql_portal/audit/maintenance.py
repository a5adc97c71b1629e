"""Sealing, retention, the login throttles' purge and the enrollment reminders inside the
API process, for deployments without Redis.

With Redis the arq worker runs the same functions as cron jobs (``workers/audit.py``,
``workers/notifications.py``, ``workers/settings.py``).
Nothing here touches a request: sealing never delays the request that writes an event.
"""

import asyncio
import contextlib
import logging
import time

from gql_portal.accounts.throttle import purge_login_throttles
from gql_portal.audit.chain import seal_all
from gql_portal.audit.retention import purge_all
from gql_portal.notifications.reminders import send_enrollment_reminders

log = logging.getLogger("gql_portal.audit")

SEAL_INTERVAL_SECONDS = 5.0
RETENTION_INTERVAL_SECONDS = 3600.0
THROTTLE_PURGE_INTERVAL_SECONDS = 60.0
REMINDER_INTERVAL_SECONDS = 60.0


class AuditMaintenance:
    """A background task: seal every few seconds, purge expired login throttles and write
    due enrollment reminders every minute, purge expired events every hour."""

    def __init__(
        self,
        *,
        seal_interval: float = SEAL_INTERVAL_SECONDS,
        retention_interval: float = RETENTION_INTERVAL_SECONDS,
        throttle_purge_interval: float = THROTTLE_PURGE_INTERVAL_SECONDS,
        reminder_interval: float = REMINDER_INTERVAL_SECONDS,
    ) -> None:
        self.seal_interval = seal_interval
        self.retention_interval = retention_interval
        self.throttle_purge_interval = throttle_purge_interval
        self.reminder_interval = reminder_interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-maintenance")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        last_purge = last_throttle_purge = time.monotonic()
        last_reminders = 0.0  # the first round writes what fell due while the API was down
        while True:
            await asyncio.sleep(self.seal_interval)
            try:
                if time.monotonic() - last_throttle_purge >= self.throttle_purge_interval:
                    last_throttle_purge = time.monotonic()
                    await purge_login_throttles()
                if time.monotonic() - last_reminders >= self.reminder_interval:
                    last_reminders = time.monotonic()
                    await send_enrollment_reminders()
                if time.monotonic() - last_purge >= self.retention_interval:
                    last_purge = time.monotonic()
                    await purge_all()
                await seal_all()
            except Exception:  # keep going: the next round retries
                log.exception("audit sealing, retention, the throttle purge or reminders failed")
