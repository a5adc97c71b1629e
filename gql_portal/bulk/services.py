"""The rules of bulk jobs: who may start, cancel and read them, and one active job per domain."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from gql_portal.accounts.authorization import (
    DOMAIN_ADMINS,
    READERS,
    SECURITY_ADMINS,
    SYSTEM_ADMINS,
    require_role,
)
from gql_portal.accounts.models import User
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_audit_event, stored_meta
from gql_portal.bulk.dispatch import JobDispatcher
from gql_portal.bulk.events import job_summary, record_job_event
from gql_portal.bulk.models import ACTIVE_STATUSES, BulkJob, BulkJobKind, BulkJobStatus
from gql_portal.bulk.runner import fail_job
from gql_portal.bulk.selection import UserSelection, selection_condition
from gql_portal.clock import utcnow
from gql_portal.errors import (
    JobConflictError,
    NotFoundError,
    QueueUnavailableError,
)
from gql_portal.paging import Key, Keyset, Page, cursor_time, cursor_uuid
from gql_portal.request_meta import RequestMeta
from gql_portal.rules.services import require_two_factor_available
from gql_portal.settings import get_settings

OPERATION_START = "startBulkTwoFactorEnablement"
STARTERS = {
    BulkJobKind.ENABLE_TWO_FACTOR: SECURITY_ADMINS,
    BulkJobKind.IMPORT_USERS: SYSTEM_ADMINS,
}
JOBS = Keyset(
    BulkJob,
    "bulkjob",
    Key("created_at", cursor_time, descending=True),
    Key("id", cursor_uuid, descending=True),
)


def parse_job_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFoundError("Bulk job not found") from None


async def find_job_in_domain(domain_id: int, job_id: str) -> BulkJob:
    """Another domain's job answers exactly like one that does not exist."""
    job = await BulkJob.get_or_none(id=parse_job_id(job_id), domain_id=domain_id)
    if job is None:
        raise NotFoundError("Bulk job not found")
    return job


async def start_job(
    *,
    actor: User | None,
    domain_id: int,
    selection: UserSelection,
    dry_run: bool,
    meta: RequestMeta,
    dispatcher: JobDispatcher,
) -> BulkJob:
    """``actor`` is None for an operator at the command line."""
    if actor is not None:
        await require_role(actor, SECURITY_ADMINS, operation=OPERATION_START, meta=meta)
    rules = await require_two_factor_available(
        domain_id=domain_id, action=AuditAction.BULK_JOB_STARTED, meta=meta, actor=actor
    )
    now = utcnow()
    origin = stored_meta(meta)  # the columns are the events' sizes: they fit there too
    total = await User.filter(selection_condition(domain_id, selection, rules)).count()
    job = BulkJob(
        id=uuid4(),
        domain_id=domain_id,
        kind=BulkJobKind.ENABLE_TWO_FACTOR.value,
        user_filter=selection.to_json(),
        dry_run=dry_run,
        total=total,
        requested_by_id=actor.id if actor else None,
        requested_by_email=actor.email if actor else None,
        request_ip=origin.ip,
        request_user_agent=origin.user_agent,
        request_id=origin.request_id,
        created_at=now,
    )
    if dry_run:
        # Counts what would be selected; no change, so no audit event and no lock.
        job.status = BulkJobStatus.SUCCEEDED.value
        job.started_at = job.finished_at = now
        await job.save(force_create=True)
        return job
    job.active_domain_id = domain_id
    return await launch_job(job, dispatcher, details={"filter": job.user_filter})


async def launch_job(
    job: BulkJob,
    dispatcher: JobDispatcher,
    *,
    details: dict[str, Any],
    store_with: Callable[[BaseDBAsyncClient], Awaitable[None]] | None = None,
) -> BulkJob:
    """Store the job (with what ``store_with`` writes in the same transaction) and, unless
    it is a dry run, its BULK_JOB_STARTED event; then hand it to a runner. A job holding
    its domain (``active_domain_id``) while another does is JOB_CONFLICT, nothing stored."""
    try:
        async with in_transaction() as connection:
            await job.save(force_create=True, using_db=connection)
            if store_with is not None:
                await store_with(connection)
            if not job.dry_run:
                await record_job_event(
                    job, AuditAction.BULK_JOB_STARTED, details=details, using_db=connection
                )
    except IntegrityError:
        await _resume_if_stale(job.domain_id, dispatcher)
        raise JobConflictError() from None
    try:
        await dispatcher.dispatch(job.id)
    except QueueUnavailableError as error:
        # Release the domain at once: a job that was never queued must not block the next.
        await fail_job(job.id, error.message)
        raise
    return job


async def _resume_if_stale(domain_id: int, dispatcher: JobDispatcher) -> None:
    """The active job may have lost its queue entry or its runner: hand it out again."""
    active = await BulkJob.get_or_none(active_domain_id=domain_id)
    if active is None:
        return
    beat = active.heartbeat_at or active.created_at
    if utcnow() - beat < timedelta(seconds=get_settings().bulk_stale_seconds):
        return
    try:
        await dispatcher.dispatch(active.id, resume=True)
    except QueueUnavailableError:
        pass


async def cancel_job(*, actor: User, job_id: str, meta: RequestMeta) -> BulkJob:
    """A queued job ends now; a running one stops between two chunks."""
    await require_role(actor, DOMAIN_ADMINS, operation="cancelBulkJob", meta=meta)
    job = await find_job_in_domain(actor.domain_id, job_id)
    # Who may start a kind of job may cancel it: 2FA enablement SECURITY_ADMIN, an import
    # SYSTEM_ADMIN (a job of the other kind is FORBIDDEN, as starting one would be).
    await require_role(actor, STARTERS[BulkJobKind(job.kind)], operation="cancelBulkJob", meta=meta)
    async with in_transaction() as connection:
        requested = (
            await BulkJob.filter(id=job.id, status__in=ACTIVE_STATUSES, cancel_requested=False)
            .using_db(connection)
            .update(cancel_requested=True)
        )
        if requested:
            await (
                BulkJob.filter(id=job.id, status=BulkJobStatus.QUEUED.value)
                .using_db(connection)
                .update(
                    status=BulkJobStatus.CANCELLED.value,
                    finished_at=utcnow(),
                    active_domain_id=None,
                )
            )
            await job.refresh_from_db(using_db=connection)
            await record_audit_event(
                action=AuditAction.BULK_JOB_CANCELLED,
                meta=meta,
                actor=actor,
                job_id=job.id,
                details=job_summary(job),
                using_db=connection,
            )
    return await BulkJob.get(id=job.id)


async def get_job(*, actor: User, job_id: str, meta: RequestMeta) -> BulkJob:
    await require_role(actor, READERS, operation="bulkJob", meta=meta)
    return await find_job_in_domain(actor.domain_id, job_id)


async def list_jobs(
    *, actor: User, first: int | None, after: str | None, meta: RequestMeta
) -> Page[BulkJob]:
    """Newest first."""
    await require_role(actor, READERS, operation="bulkJobs", meta=meta)
    return await JOBS.page(Q(domain_id=actor.domain_id), first=first, after=after)
