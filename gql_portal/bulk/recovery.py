"""Jobs whose runner died (SIGKILL, lost queue entry): found by their heartbeat, resumed."""

from datetime import timedelta
from typing import Protocol
from uuid import UUID

from tortoise.expressions import Q

from gql_portal.bulk.models import ACTIVE_STATUSES, BulkJob
from gql_portal.clock import utcnow
from gql_portal.errors import QueueUnavailableError


class Resumer(Protocol):
    """Hands a job to a runner again: a JobDispatcher, or the worker's own queue."""

    async def dispatch(self, job_id: UUID, *, resume: bool = False) -> None: ...


async def stale_active_jobs(stale_seconds: float) -> list[UUID]:
    cutoff = utcnow() - timedelta(seconds=stale_seconds)
    jobs = await BulkJob.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None, created_at__lt=cutoff),
        status__in=ACTIVE_STATUSES,
    ).only("id")
    return [job.id for job in jobs]


async def resume_stale_jobs(dispatcher: Resumer, stale_seconds: float) -> int:
    """Safe to run anywhere and often: a job run twice at once still does each chunk once."""
    resumed = 0
    for job_id in await stale_active_jobs(stale_seconds):
        try:
            await dispatcher.dispatch(job_id, resume=True)
        except QueueUnavailableError:
            break
        resumed += 1
    return resumed
