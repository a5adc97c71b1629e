"""Audit events about a bulk job and the users it changes, attributed to its requester."""

import json
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import PasswordSecurityRules
from gql_portal.audit.models import AuditAction, AuditEvent, AuditOutcome
from gql_portal.bulk.models import BulkJob
from gql_portal.clock import utcnow
from gql_portal.sql import execute, fetch, in_ids, json_parameter
from gql_portal.two_factor.admin import enrollment_deadline_for


def job_summary(job: BulkJob) -> dict[str, Any]:
    return {
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "changed": job.changed,
        "skipped": job.skipped,
        "failed": job.failed,
    }


async def record_job_event(
    job: BulkJob,
    action: AuditAction,
    *,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    details: dict[str, Any] | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> None:
    await AuditEvent.create(
        domain_id=job.domain_id,
        occurred_at=utcnow(),
        action=action.value,
        outcome=outcome.value,
        actor_id=job.requested_by_id,
        actor_email=job.requested_by_email,
        job_id=job.id,
        details={**job_summary(job), **(details or {})},
        using_db=using_db,
    )


async def enable_chunk(
    job: BulkJob,
    rules: PasswordSecurityRules,
    user_ids: list[int],
    now: datetime,
    connection: BaseDBAsyncClient,
) -> int:
    """Two set-based statements for a chunk: enable the users not yet enabled (exactly as
    one-by-one enabling does), then one INSERT ... SELECT of their audit events.

    UPDATE ... RETURNING names exactly the users this chunk changed; the unique
    (job_id, action, target_id) key makes a repeated chunk insert nothing.
    """
    deadline = enrollment_deadline_for(rules, now)
    chunk, chunk_values = in_ids(connection, "id", user_ids)
    changed = await fetch(
        connection,
        "UPDATE users SET two_factor_enabled = ?, two_factor_enabled_at = ?, "
        f"enrollment_deadline = ? WHERE {chunk} AND two_factor_enabled = ? RETURNING id",
        [True, now, deadline, *chunk_values, False],
    )
    changed_ids = [int(row["id"]) for row in changed]
    if not changed_ids:
        return 0
    details = json.dumps({"enrollmentDeadline": deadline.isoformat() if deadline else None})
    targets, target_values = in_ids(connection, "id", changed_ids)
    await execute(
        connection,
        "INSERT INTO audit_events (domain_id, occurred_at, action, outcome, actor_id, "
        "actor_email, target_id, target_email, job_id, details) "
        f"SELECT domain_id, ?, ?, ?, ?, ?, id, email, ?, {json_parameter(connection)} "
        f"FROM users WHERE {targets} "
        "ON CONFLICT (job_id, action, target_id) DO NOTHING",
        [
            now,
            AuditAction.USER_TWO_FACTOR_ENABLED.value,
            AuditOutcome.SUCCESS.value,
            job.requested_by_id,
            job.requested_by_email,
            job.id,
            details,
            *target_values,
        ],
    )
    return len(changed_ids)
