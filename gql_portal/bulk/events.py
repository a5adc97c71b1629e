"""Audit events about a bulk job, attributed to its requester and the request that started it."""

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import EventFields, record_audit_event
from gql_portal.bulk.models import BulkJob, BulkJobKind
from gql_portal.request_meta import RequestMeta


def job_summary(job: BulkJob) -> dict[str, Any]:
    summary = {
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "changed": job.changed,
        "skipped": job.skipped,
        "failed": job.failed,
    }
    if job.kind == BulkJobKind.IMPORT_USERS.value:
        summary.update(created=job.created, updated=job.updated)
    return summary


def job_meta(job: BulkJob) -> RequestMeta:
    """The request that started the job. The events a runner writes later (in a worker, with
    no request of its own) are that request's doing: they carry its ip and request id, so
    the ``ip`` filter of ``auditEvents`` finds every event of a job started from there."""
    return RequestMeta(
        ip=job.request_ip, user_agent=job.request_user_agent, request_id=job.request_id
    )


def job_fields(job: BulkJob, details: dict[str, Any]) -> EventFields:
    """Who a job's events name: its requester (kept by email after the user is deleted)."""
    return EventFields(
        domain_id=job.domain_id,
        actor_id=job.requested_by_id,
        actor_email=job.requested_by_email,
        job_id=job.id,
        details=details,
    )


async def record_job_event(
    job: BulkJob,
    action: AuditAction,
    *,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    details: dict[str, Any] | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> None:
    fields = job_fields(job, {**job_summary(job), **(details or {})})
    fields["outcome"] = outcome
    await record_audit_event(action=action, meta=job_meta(job), using_db=using_db, **fields)
