"""What each change tells its user (CONTRACT section 11): the message's kind and params, in
one place. Every function takes the change's connection, so the message commits or rolls
back with the change and its audit event.

Params hold what the message shows and nothing secret: no code, no secret, no token (an
invitation's link token is encrypted, see ``accounts/links.py``), only who did it, when
and from where.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import User
from gql_portal.bulk.models import BulkJob, BulkJobStatus
from gql_portal.notifications import outbox
from gql_portal.notifications.models import NotificationKind as K
from gql_portal.request_meta import RequestMeta

ENABLED_VIA = ("admin", "bulk", "import")


def by(actor: User | None) -> dict[str, Any]:
    """The administrator a message names (rendering escapes both)."""
    if actor is None:
        return {}
    return {"byName": actor.display_name or None, "byEmail": actor.email}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def tell(
    kind: K,
    user: User,
    connection: BaseDBAsyncClient,
    params: dict[str, Any] | None = None,
) -> None:
    await outbox.enqueue(
        kind,
        domain_id=user.domain_id,
        user_id=user.id,
        recipient=user.email,
        params=params or {},
        using_db=connection,
    )


async def two_factor_enabled(
    user: User, deadline: datetime | None, connection: BaseDBAsyncClient
) -> None:
    await tell(K.TWO_FACTOR_ENABLED, user, connection, {"via": "admin", "deadline": _iso(deadline)})


async def two_factor_enabled_for_users(
    user_ids: Sequence[int],
    *,
    deadline: datetime | None,
    via: str,
    job: BulkJob,
    connection: BaseDBAsyncClient,
) -> int:
    """A chunk's users, set-based; the job's key makes a chunk run again write nothing."""
    assert via in ENABLED_VIA
    return await outbox.enqueue_for_users(
        K.TWO_FACTOR_ENABLED,
        user_ids=user_ids,
        params={"via": via, "deadline": _iso(deadline)},
        using_db=connection,
        job_id=job.id,
        dedupe_prefix=f"enabled:{job.id}:",
    )


async def authenticator_added(user: User, meta: RequestMeta, connection: BaseDBAsyncClient) -> None:
    await tell(K.AUTHENTICATOR_ADDED, user, connection, {"ip": meta.ip})


async def two_factor_disabled(user: User, actor: User, connection: BaseDBAsyncClient) -> None:
    await tell(K.TWO_FACTOR_DISABLED, user, connection, by(actor))


async def two_factor_reset(user: User, actor: User, connection: BaseDBAsyncClient) -> None:
    await tell(K.TWO_FACTOR_RESET, user, connection, by(actor))


async def recovery_code_used(
    user: User, remaining: int, meta: RequestMeta, connection: BaseDBAsyncClient
) -> None:
    await tell(K.RECOVERY_CODE_USED, user, connection, {"remaining": remaining, "ip": meta.ip})


async def recovery_codes_regenerated(
    user: User, meta: RequestMeta, connection: BaseDBAsyncClient
) -> None:
    await tell(K.RECOVERY_CODES_REGENERATED, user, connection, {"ip": meta.ip})


async def code_step_locked(
    user: User, locked_until: datetime | None, connection: BaseDBAsyncClient
) -> None:
    await tell(K.CODE_STEP_LOCKED, user, connection, {"lockedUntil": _iso(locked_until)})


async def password_changed(user: User, meta: RequestMeta, connection: BaseDBAsyncClient) -> None:
    await tell(K.PASSWORD_CHANGED, user, connection, {"ip": meta.ip})


async def account_deactivated(
    user: User, actor: User | None, connection: BaseDBAsyncClient
) -> None:
    """``actor`` None: the domain's identity provider (SCIM) did it."""
    await tell(K.ACCOUNT_DEACTIVATED, user, connection, by(actor))


async def job_finished(job: BulkJob, connection: BaseDBAsyncClient) -> None:
    """The requesting administrator's summary of a job that succeeded or failed (a
    cancellation is their own doing; an operator's job at the command line has no one)."""
    if job.requested_by_id is None or not job.requested_by_email or job.dry_run:
        return
    if job.status not in (BulkJobStatus.SUCCEEDED.value, BulkJobStatus.FAILED.value):
        return
    await outbox.enqueue(
        K.JOB_FINISHED,
        domain_id=job.domain_id,
        user_id=job.requested_by_id,
        recipient=job.requested_by_email,
        params={
            "jobKind": job.kind,
            "status": job.status,
            "startedAt": _iso(job.started_at or job.created_at),
            "at": _iso(job.finished_at),
            "processed": job.processed,
            "changed": job.changed,
            "skipped": job.skipped,
            "failed": job.failed,
            "created": job.created,
            "updated": job.updated,
            "error": job.error,
        },
        using_db=connection,
        job_id=job.id,
        dedupe_key=f"job-finished:{job.id}",
    )
