"""The chunk walker behind every bulk job, shared by the arq worker and the API.

Every chunk is one transaction that first locks the job row (a no-op UPDATE: a row lock
on PostgreSQL, the write lock on SQLite), re-reads the checkpoint, runs its kind's step
(bulk/steps.py: enabling 2FA for users, or applying import rows), which changes the users
and writes their audit events, and moves the checkpoint. Any number of runners may therefore
run the same job, again or at once, after any crash: each chunk is done exactly once.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from gql_portal import metrics
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.bulk.chunk import enablement_step
from gql_portal.bulk.events import record_job_event
from gql_portal.bulk.import_chunk import import_step
from gql_portal.bulk.models import BulkJob, BulkJobKind, BulkJobStatus
from gql_portal.bulk.statistics import TableGrowth
from gql_portal.bulk.steps import ChunkRaceError, Step
from gql_portal.clock import utcnow
from gql_portal.errors import PortalError
from gql_portal.notifications import notices
from gql_portal.settings import get_settings
from gql_portal.sql import execute

log = logging.getLogger("gql_portal.bulk")

ProgressCallback = Callable[[BulkJob], Awaitable[None]]
RUNNING = BulkJobStatus.RUNNING.value
CHUNK_ATTEMPTS = 3
STEPS: dict[str, Step] = {
    BulkJobKind.ENABLE_TWO_FACTOR.value: enablement_step,
    BulkJobKind.IMPORT_USERS.value: import_step,
}


@dataclass(frozen=True, slots=True)
class RunResult:
    job: BulkJob | None
    finished: bool


async def run_bulk_job(
    job_id: UUID | str,
    *,
    chunk_size: int | None = None,
    time_limit: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    """Walk the job to its end, or until ``time_limit`` seconds have passed."""
    size = chunk_size or get_settings().bulk_chunk_size
    stop_at = time.monotonic() + time_limit if time_limit is not None else None
    job = await BulkJob.get_or_none(id=job_id)
    if job is None or job.is_final:
        return RunResult(job, True)
    key = job.id
    await _claim(key)
    growth = TableGrowth()
    while True:
        if stop_at is not None and time.monotonic() >= stop_at:
            return RunResult(await BulkJob.get_or_none(id=key), False)
        try:
            current, done = await _chunk_with_retries(key, size)
        except Exception as error:
            # Every failure ends as a FAILED job with a readable error.
            return RunResult(await fail_job(key, error), True)
        if current is not None:
            _report(current, done)
            await growth.after_chunk(current)
            if on_progress is not None:
                await on_progress(current)
        if done or current is None:
            return RunResult(current, True)


def _report(job: BulkJob, done: bool) -> None:
    """After the chunk committed: the gauge and counters never count a rolled-back chunk."""
    if done:
        metrics.clear_bulk_job(job.id)
        metrics.BULK_JOB_USERS.labels(result="changed").inc(job.changed)
        metrics.BULK_JOB_USERS.labels(result="skipped").inc(job.skipped)
    else:
        metrics.set_bulk_job_progress(job.id, job.processed, job.total)


async def _claim(job_id: UUID) -> None:
    now = utcnow()
    await BulkJob.filter(id=job_id, status=BulkJobStatus.QUEUED.value).update(
        status=RUNNING, started_at=now, heartbeat_at=now
    )


async def _chunk_with_retries(job_id: UUID, size: int) -> tuple[BulkJob | None, bool]:
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            async with in_transaction() as connection:
                return await _run_chunk(job_id, size, connection)
        except ChunkRaceError:
            log.info("bulk job %s: chunk raced with another writer (attempt %d)", job_id, attempt)
    raise ChunkRaceError("Users kept changing under the job; try again")


async def _run_chunk(
    job_id: UUID, size: int, connection: BaseDBAsyncClient
) -> tuple[BulkJob | None, bool]:
    now = utcnow()
    # Hand-written: the two job-row UPDATEs run for every chunk, and building them through
    # the ORM cost as much as running them (bench/bulk_enable.py).
    locked = await execute(
        connection,
        "UPDATE bulk_jobs SET heartbeat_at = ? WHERE id = ? AND status = ?",
        [now, job_id, RUNNING],
    )
    job = await BulkJob.filter(id=job_id).using_db(connection).first()
    if not locked or job is None:
        return job, True  # finished, cancelled or failed by someone else
    if job.cancel_requested:
        return await _finish(job, BulkJobStatus.CANCELLED, connection), True
    counts = await STEPS[job.kind](job, size, now, connection)
    if counts is None:
        return await _finish(job, BulkJobStatus.SUCCEEDED, connection), True
    await execute(
        connection,
        "UPDATE bulk_jobs SET checkpoint_user_id = ?, processed = processed + ?, "
        "changed = changed + ?, skipped = skipped + ?, failed = failed + ?, "
        "created = created + ?, updated = updated + ?, heartbeat_at = ? WHERE id = ?",
        [
            counts.checkpoint,
            counts.processed,
            counts.changed,
            counts.skipped,
            counts.failed,
            counts.created,
            counts.updated,
            now,
            job_id,
        ],
    )
    job.checkpoint_user_id = counts.checkpoint
    job.processed += counts.processed
    job.changed += counts.changed
    job.skipped += counts.skipped
    job.failed += counts.failed
    job.created += counts.created
    job.updated += counts.updated
    job.heartbeat_at = now
    return job, False


async def _finish(job: BulkJob, status: BulkJobStatus, connection: BaseDBAsyncClient) -> BulkJob:
    now = utcnow()
    values: dict[str, object] = {"status": status.value, "finished_at": now}
    if status is BulkJobStatus.SUCCEEDED:
        # Users created while the job ran may have joined the selection.
        values["total"] = job.processed
    await (
        BulkJob.filter(id=job.id, status=RUNNING)
        .using_db(connection)
        .update(active_domain_id=None, **values)
    )
    await job.refresh_from_db(using_db=connection)
    if job.dry_run:  # a dry run changed nothing
        return job
    if status is BulkJobStatus.SUCCEEDED:
        await record_job_event(job, AuditAction.BULK_JOB_FINISHED, using_db=connection)
        await notices.job_finished(job, connection)
    elif status is BulkJobStatus.CANCELLED:
        # BULK_JOB_CANCELLED said who asked, while the job still ran; this says where it
        # stopped (details.status CANCELLED, the counts of what its chunks committed).
        await record_job_event(job, AuditAction.BULK_JOB_FINISHED, using_db=connection)
    return job


async def fail_job(job_id: UUID, error: BaseException | str) -> BulkJob | None:
    """FAILED with a readable error; what earlier chunks committed stays committed."""
    if isinstance(error, str):
        message = error
    elif isinstance(error, PortalError):
        message = error.message
    else:
        log.error("bulk job %s failed", job_id, exc_info=error)
        message = f"Unexpected {type(error).__name__}; the details are in the server log"
    async with in_transaction() as connection:
        failed = (
            await BulkJob.filter(id=job_id, status__in=[BulkJobStatus.QUEUED.value, RUNNING])
            .using_db(connection)
            .update(
                status=BulkJobStatus.FAILED.value,
                error=message,
                finished_at=utcnow(),
                active_domain_id=None,
            )
        )
        job = await BulkJob.filter(id=job_id).using_db(connection).first()
        if failed and job is not None and not job.dry_run:
            await record_job_event(
                job,
                AuditAction.BULK_JOB_FINISHED,
                outcome=AuditOutcome.FAILURE,
                details={"error": message},
                using_db=connection,
            )
            await notices.job_finished(job, connection)
    return job
