"""Handing a bulk job to a runner: the arq queue when Redis is configured, else this process."""

import asyncio
import dataclasses
import logging
import time
from typing import Any, Protocol
from uuid import UUID

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from gql_portal.bulk.recovery import Resumer, resume_stale_jobs
from gql_portal.dependencies import fault_name, is_unavailable
from gql_portal.errors import QueueUnavailableError
from gql_portal.settings import Settings

log = logging.getLogger("gql_portal.bulk")

QUEUE_NAME = "gql_portal"
# Runs every kind of bulk job; named when enablement was the only kind (queued jobs keep it).
ENABLE_JOB_FUNCTION = "enable_two_factor_job"


class JobDispatcher(Resumer, Protocol):
    async def close(self) -> None: ...


def arq_job_id(job_id: UUID, *, resume: bool = False, window_seconds: float = 60) -> str:
    """Deterministic, so a double enqueue is one arq job. A resume gets a fresh id per
    time window: the first id may still be held by the worker that died running it."""
    if not resume:
        return f"bulk:{job_id}"
    return f"bulk:{job_id}:resume:{int(time.time() // window_seconds)}"


async def enqueue(redis: ArqRedis, job_id: UUID, *, resume: bool, window_seconds: float) -> None:
    await redis.enqueue_job(
        ENABLE_JOB_FUNCTION,
        str(job_id),
        _job_id=arq_job_id(job_id, resume=resume, window_seconds=window_seconds),
        _queue_name=QUEUE_NAME,
    )


class QueueDispatcher:
    """Creates its Redis pool at the first job; a Redis that does not answer is
    QUEUE_UNAVAILABLE at once, and the next job tries again."""

    def __init__(self, redis_url: str, *, stale_seconds: float = 60) -> None:
        settings = RedisSettings.from_dsn(redis_url)
        self._settings = dataclasses.replace(settings, conn_retries=0, conn_timeout=2)
        self._stale_seconds = stale_seconds
        self._pool: ArqRedis | None = None
        self._lock = asyncio.Lock()

    async def _redis(self) -> ArqRedis:
        async with self._lock:
            if self._pool is None:
                self._pool = await create_pool(self._settings, default_queue_name=QUEUE_NAME)
            return self._pool

    async def dispatch(self, job_id: UUID, *, resume: bool = False) -> None:
        try:
            redis = await self._redis()
            await asyncio.wait_for(
                enqueue(redis, job_id, resume=resume, window_seconds=self._stale_seconds),
                timeout=5,
            )
        except (RedisError, OSError, TimeoutError) as error:
            log.warning("bulk job %s not queued: %s: %s", job_id, type(error).__name__, error)
            raise QueueUnavailableError() from None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None


class InProcessDispatcher:
    """No Redis (``make run``): the same runner as an asyncio task of the API process."""

    def __init__(self, *, stale_seconds: float = 60) -> None:
        self._tasks: dict[UUID, asyncio.Task[Any]] = {}
        self._stale_seconds = stale_seconds
        self._sweeper: asyncio.Task[None] | None = None

    def start_sweeper(self) -> None:
        """Resume jobs whose runner died with an earlier process (or another API process)."""
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await resume_stale_jobs(self, self._stale_seconds)
            except Exception as error:
                if not is_unavailable(error):
                    log.exception("resuming stale bulk jobs failed")
                else:  # one line per attempt while the database is down, no traceback
                    log.warning("resuming stale bulk jobs skipped: %s", fault_name(error))
            await asyncio.sleep(max(1.0, self._stale_seconds / 2))

    async def dispatch(self, job_id: UUID, *, resume: bool = False) -> None:
        running = self._tasks.get(job_id)
        if running is not None and not running.done():
            return
        task = asyncio.get_running_loop().create_task(self._run(job_id))
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _run(self, job_id: UUID) -> None:
        from gql_portal.bulk.runner import run_bulk_job

        try:
            await run_bulk_job(job_id)
        except Exception:
            # The job stays active; its stale heartbeat lets the next start resume it.
            log.exception("bulk job %s stopped in-process", job_id)

    async def drain(self) -> None:
        """Wait for every job this process runs (tests, shutdown of the CLI)."""
        while pending := [task for task in self._tasks.values() if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks.values()) + ([self._sweeper] if self._sweeper else [])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def dispatcher_for(settings: Settings) -> JobDispatcher:
    if settings.redis_url:
        return QueueDispatcher(settings.redis_url, stale_seconds=settings.bulk_stale_seconds)
    return InProcessDispatcher(stale_seconds=settings.bulk_stale_seconds)
