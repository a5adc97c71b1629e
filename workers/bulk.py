"""arq jobs for bulk jobs of every kind: thin wrappers around ``gql_portal.bulk.runner``."""

import logging
from typing import Any
from uuid import UUID

from arq import Retry, cron, func
from arq.connections import ArqRedis

from gql_portal.bulk.dispatch import ENABLE_JOB_FUNCTION, enqueue
from gql_portal.bulk.recovery import resume_stale_jobs
from gql_portal.bulk.runner import run_bulk_job
from gql_portal.dependencies import fault_name, is_unavailable
from gql_portal.settings import get_settings
from workers.resilient import retry_delay, skips_outages

log = logging.getLogger("gql_portal.worker")


async def enable_two_factor_job(ctx: dict[str, Any], job_id: str) -> str | None:
    # Any kind of bulk job (the name stays: jobs already queued carry it). Work in slices
    # below arq's job timeout; Retry puts the job straight back in the
    # queue, where it resumes from its checkpoint (here or on another worker).
    try:
        result = await run_bulk_job(job_id, time_limit=get_settings().bulk_slice_seconds)
    except Exception as error:
        if not is_unavailable(error):
            raise
        # The database is down: the chunk in flight rolled back; try again later, capped.
        delay = retry_delay(ctx.get("job_try", 1))
        log.warning("bulk job %s paused: %s; retrying in %.1fs", job_id, fault_name(error), delay)
        raise Retry(defer=delay) from None
    if not result.finished:
        raise Retry(defer=0)
    return result.job.status if result.job is not None else None


class _QueueResumer:
    def __init__(self, redis: ArqRedis, window_seconds: float) -> None:
        self._redis = redis
        self._window_seconds = window_seconds

    async def dispatch(self, job_id: UUID, *, resume: bool = False) -> None:
        await enqueue(self._redis, job_id, resume=resume, window_seconds=self._window_seconds)

    async def close(self) -> None:
        return None


@skips_outages
async def resume_stale_bulk_jobs(ctx: dict[str, Any]) -> int:
    """A worker killed mid-job keeps arq's lock on it for the whole job timeout; this
    hands the job to a live worker as soon as its heartbeat is stale."""
    stale = get_settings().bulk_stale_seconds
    return await resume_stale_jobs(_QueueResumer(ctx["redis"], stale), stale)


BULK_FUNCTIONS = [func(enable_two_factor_job, name=ENABLE_JOB_FUNCTION, max_tries=100_000)]
BULK_CRON_JOBS = [
    cron(resume_stale_bulk_jobs, second=set(range(0, 60, 5)), run_at_startup=True, max_tries=1)
]
