"""Sealing, retention and the login throttles' purge inside the API process, for
deployments without Redis.

With Redis the arq worker runs the same functions as cron jobs (``workers/audit.py``,
``workers/settings.py``).
Nothing here touches a request: sealing never delays the request that writes an event.
"""

import asyncio
import contextlib
import logging
import time

from gql_portal.accounts.throttle import purge_login_throttles
from gql_portal.audit.chain import seal_all
from gql_portal.audit.retention import purge_all

log = logging.getLogger("gql_portal.audit")

SEAL_INTERVAL_SECONDS = 5.0
RETENTION_INTERVAL_SECONDS = 3600.0
THROTTLE_PURGE_INTERVAL_SECONDS = 60.0


class AuditMaintenance:
    """A background task: seal every few seconds, purge expired login throttles every
    minute and expired events every hour."""

    def __init__(
        self,
        *,
        seal_interval: float = SEAL_INTERVAL_SECONDS,
        retention_interval: float = RETENTION_INTERVAL_SECONDS,
        throttle_purge_interval: float = THROTTLE_PURGE_INTERVAL_SECONDS,
    ) -> None:
        self.seal_interval = seal_interval
        self.retention_interval = retention_interval
        self.throttle_purge_interval = throttle_purge_interval
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
        while True:
            await asyncio.sleep(self.seal_interval)
            try:
                if time.monotonic() - last_throttle_purge >= self.throttle_purge_interval:
                    last_throttle_purge = time.monotonic()
                    await purge_login_throttles()
                if time.monotonic() - last_purge >= self.retention_interval:
                    last_purge = time.monotonic()
                    await purge_all()
                await seal_all()
            except Exception:  # keep going: the next round retries
                log.exception("audit sealing, retention or the throttle purge failed")
