"""One chunk of a bulk enablement job: the set-based UPDATE that enables 2FA for its users
(also what an import with ``enableTwoFactor`` runs for the users of its chunk)."""

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import PasswordSecurityRules, User
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_user_audit_events
from gql_portal.bulk.events import job_fields, job_meta
from gql_portal.bulk.models import BulkJob, BulkJobKind
from gql_portal.bulk.selection import UserSelection, selection_condition
from gql_portal.bulk.steps import ChunkCounts, JobStoppedError
from gql_portal.notifications import notices
from gql_portal.sql import fetch, in_ids
from gql_portal.two_factor.admin import enrollment_deadline_for


async def enable_chunk(
    job: BulkJob,
    rules: PasswordSecurityRules,
    user_ids: list[int],
    now: datetime,
    connection: BaseDBAsyncClient,
) -> int:
    """Three set-based statements for a chunk: enable the users not yet enabled (exactly as
    one-by-one enabling does), then one INSERT ... SELECT of their audit events and one of
    their messages.

    UPDATE ... RETURNING names exactly the users this chunk changed; the unique
    (job_id, action, target_id) key and the messages' dedupe keys make a repeated chunk
    insert nothing.
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
    await record_user_audit_events(
        connection,
        action=AuditAction.USER_TWO_FACTOR_ENABLED,
        meta=job_meta(job),
        user_ids=changed_ids,
        **job_fields(job, {"enrollmentDeadline": deadline.isoformat() if deadline else None}),
    )
    # An import with enableTwoFactor runs this chunk for the users it imported.
    via = "import" if job.kind == BulkJobKind.IMPORT_USERS.value else "bulk"
    await notices.two_factor_enabled_for_users(
        changed_ids, deadline=deadline, via=via, job=job, connection=connection
    )
    return len(changed_ids)


async def enablement_step(
    job: BulkJob, size: int, now: datetime, connection: BaseDBAsyncClient
) -> ChunkCounts | None:
    """The next ``size`` selected users after the checkpoint (a user id), enabled."""
    rules = await PasswordSecurityRules.filter(domain_id=job.domain_id).using_db(connection).get()
    if not rules.two_factor_enabled:
        raise JobStoppedError("Two-Factor Authentication was turned off for the domain")
    condition = selection_condition(job.domain_id, UserSelection.from_json(job.user_filter), rules)
    ids = await (
        User.filter(condition, id__gt=job.checkpoint_user_id)
        .using_db(connection)
        .order_by("id")
        .limit(size)
        .values_list("id", flat=True)
    )
    if not ids:
        return None
    user_ids: list[int] = [int(value) for value in ids]  # type: ignore[call-overload]
    changed = await enable_chunk(job, rules, user_ids, now, connection)
    return ChunkCounts(
        checkpoint=user_ids[-1],
        processed=len(user_ids),
        changed=changed,
        skipped=len(user_ids) - changed,
    )
