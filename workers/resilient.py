"""arq's Worker, made to outlive Redis and database outages (CONTRACT section 8).

arq's own loop ends at the first ``ConnectionError`` from Redis, and its start-up gives up
after ``conn_retries``. This worker retries both with a capped back-off, one JSON log line
per failed attempt, and exits only on a signal or on an error that is not a dependency
fault. Jobs that were running keep running (the bulk runner needs only the database); a
job whose end could not be written to Redis is run again by arq or resumed by the stale
job sweeper, and every job is idempotent.

It also keeps this process's presence key (gql_portal/worker_presence.py), which the API
counts for ``/readyz``, ``/metrics`` and ``gql-portal bulk-enable``.
"""

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import random
import secrets
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from arq.connections import create_pool
from arq.utils import poll
from arq.worker import Worker
from redis.exceptions import RedisError

from gql_portal import worker_presence
from gql_portal.dependencies import fault_name, is_unavailable

log = logging.getLogger("gql_portal.worker")

CronFunction = TypeVar("CronFunction", bound=Callable[..., Coroutine[Any, Any, Any]])

FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 10.0


def retry_delay(attempt: int) -> float:
    """Doubles from FIRST_RETRY_SECONDS up to MAX_RETRY_SECONDS (attempt counts from 1)."""
    delay = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** min(attempt - 1, 16))
    # A little jitter, so workers that lost Redis together do not return in lockstep.
    return float(delay * random.uniform(0.8, 1.0))


def skips_outages(job: CronFunction) -> CronFunction:
    """A cron tick that meets a dependency fault logs one line and waits for the next tick
    (arq would log a traceback for each)."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any]) -> Any:
        try:
            return await job(ctx)
        except Exception as error:
            if not is_unavailable(error):
                raise
            log.warning("%s skipped: %s", job.__name__, fault_name(error))
            return None

    return cast(CronFunction, run)


class Backoff:
    """The failures in a row of one loop; a success resets it."""

    def __init__(self) -> None:
        self.attempt = 0

    def next_delay(self) -> float:
        self.attempt += 1
        return retry_delay(self.attempt)

    def reset(self) -> bool:
        """True when this ends a run of failures."""
        failed, self.attempt = self.attempt > 0, 0
        return failed


class ResilientWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.backoff = Backoff()
        self._started = False
        self._last_presence = 0.0

    async def main(self) -> None:
        await self._start()
        async for _ in poll(self.poll_delay_s):
            try:
                await self._poll_iteration()
            except Exception as error:
                await self._failed("poll the queue", error)
            else:
                if self.backoff.reset():
                    log.info("worker %s: the queue answers again", self.worker_id)

    async def _start(self) -> None:
        while True:
            try:
                if self._pool is None:
                    assert self.redis_settings is not None
                    # One attempt per call: the back-off below is the retry policy.
                    settings = dataclasses.replace(self.redis_settings, conn_retries=0)
                    self._pool = await create_pool(
                        settings,
                        job_deserializer=self.job_deserializer,
                        job_serializer=self.job_serializer,
                        default_queue_name=self.queue_name,
                        expires_extra_ms=self.expires_extra_ms,
                    )
                self.ctx["redis"] = self.pool
                if not self._started and self.on_startup:
                    await self.on_startup(self.ctx)
                self._started = True
                self.backoff.reset()
                log.info(
                    "worker %s started: %d functions, queue %s",
                    self.worker_id,
                    len(self.functions),
                    self.queue_name,
                )
                return
            except Exception as error:
                await self._failed("start", error)

    async def _failed(self, doing: str, error: Exception) -> None:
        if not is_unavailable(error):
            raise error
        delay = self.backoff.next_delay()
        log.warning(
            "worker %s could not %s (attempt %d): %s; retrying in %.1fs",
            self.worker_id,
            doing,
            self.backoff.attempt,
            fault_name(error),
            delay,
        )
        await asyncio.sleep(delay)

    async def heart_beat(self) -> None:
        await super().heart_beat()
        now = time.monotonic()
        if now - self._last_presence >= worker_presence.BEAT_SECONDS:
            info = f"pid={os.getpid()} jobs_complete={self.jobs_complete} ongoing={len(self.tasks)}"
            await worker_presence.beat(self.pool, self.worker_id, info)
            self._last_presence = now

    async def close(self) -> None:
        """arq's close, minus what fails when Redis is gone at shutdown."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGTERM)
        if self._pool is None:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await worker_presence.forget(self.pool, self.worker_id)
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown and self._started:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(RedisError, OSError):
            await self.pool.close(close_connection_pool=True)
        self._pool = None
        log.info("worker %s stopped", self.worker_id)
