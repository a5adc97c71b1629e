"""Starting a user import: the file read and checked whole, its rows stored with the job.

The job and every row go in one transaction (one set-based INSERT per batch of rows), so
a job never exists with half its file; the runner then walks the rows in chunks
(bulk/import_chunk.py) like an enablement walks users.
"""

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.authorization import SYSTEM_ADMINS, require_role
from gql_portal.accounts.models import User
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import stored_meta
from gql_portal.bulk.dispatch import JobDispatcher
from gql_portal.bulk.import_chunk import ENABLE_TWO_FACTOR_OPTION
from gql_portal.bulk.import_csv import ImportLine, parse_import
from gql_portal.bulk.models import BulkJob, BulkJobKind, ImportRowOutcome
from gql_portal.bulk.services import launch_job
from gql_portal.clock import utcnow
from gql_portal.request_meta import RequestMeta
from gql_portal.rules.services import require_two_factor_available
from gql_portal.settings import get_settings
from gql_portal.sql import execute, json_records

# Parsed on the event loop below this size (well under a millisecond), in a thread above.
INLINE_CSV = 20_000
# Rows per INSERT when the job is stored: one JSON parameter of about 1 MB.
STORE_BATCH = 10_000
_STORED = (
    ("line", "int"),
    ("email", "text"),
    ("email_normalized", "text"),
    ("display_name", "text"),
    ("roles", "text"),
    ("outcome", "text"),
    ("error", "text"),
)


@dataclass(frozen=True, slots=True)
class PreparedImport:
    rows: int
    # The rows as the JSON arrays ``store_rows`` inserts, one per statement.
    batches: list[str]


def prepare_import(text: str, max_bytes: int) -> PreparedImport:
    """The whole file checked, then its rows encoded: both CPU work on one string, done
    together (in a thread for a big file: encoding 10,000 rows alone takes ~15 ms)."""
    rows = parse_import(text, max_bytes=max_bytes)
    batches = [
        json.dumps([_stored(row) for row in rows[start : start + STORE_BATCH]])
        for start in range(0, len(rows), STORE_BATCH)
    ]
    return PreparedImport(len(rows), batches)


async def read_import(text: str) -> PreparedImport:
    max_bytes = get_settings().import_max_bytes
    if len(text) <= INLINE_CSV:
        return prepare_import(text, max_bytes)
    return await asyncio.to_thread(prepare_import, text, max_bytes)


def _stored(row: ImportLine) -> dict[str, Any]:
    return {
        "line": row.line,
        # A refused row keeps what it said, cut to the columns (its error says why).
        "email": row.email[:320],
        "email_normalized": row.email_normalized[:320],
        "display_name": row.display_name[:200],
        "roles": row.roles,
        "outcome": ImportRowOutcome.REFUSED.value if row.error else None,
        "error": row.error[:300] if row.error else None,
    }


async def store_rows(connection: BaseDBAsyncClient, job_id: UUID, batches: list[str]) -> None:
    names = ", ".join(name for name, _ in _STORED)
    sql = (
        f"INSERT INTO import_rows (job_id, {names}) "
        f"SELECT ?, {names} FROM {json_records(connection, _STORED)}"
    )
    for batch in batches:
        await execute(connection, sql, [job_id, batch])


async def start_import(
    *,
    actor: User | None,
    domain_id: int,
    csv_text: str,
    dry_run: bool,
    enable_two_factor: bool,
    meta: RequestMeta,
    dispatcher: JobDispatcher,
) -> BulkJob:
    """``actor`` is None for an operator at the command line. Order: the role, the domain's
    2FA switch (when asked to enable it), the whole file, then the job."""
    if actor is not None:
        await require_role(actor, SYSTEM_ADMINS, operation="importUsers", meta=meta)
    if enable_two_factor:
        await require_two_factor_available(
            domain_id=domain_id, action=AuditAction.BULK_JOB_STARTED, meta=meta, actor=actor
        )
    prepared = await read_import(csv_text)
    origin = stored_meta(meta)
    job = BulkJob(
        id=uuid4(),
        domain_id=domain_id,
        kind=BulkJobKind.IMPORT_USERS.value,
        user_filter={ENABLE_TWO_FACTOR_OPTION: enable_two_factor},
        dry_run=dry_run,
        total=prepared.rows,
        requested_by_id=actor.id if actor else None,
        requested_by_email=actor.email if actor else None,
        request_ip=origin.ip,
        request_user_agent=origin.user_agent,
        request_id=origin.request_id,
        created_at=utcnow(),
        # A dry run changes nothing: it does not hold the domain against other jobs.
        active_domain_id=None if dry_run else domain_id,
    )

    async def store(connection: BaseDBAsyncClient) -> None:
        await store_rows(connection, job.id, prepared.batches)

    details = {"enableTwoFactor": enable_two_factor, "rows": prepared.rows}
    return await launch_job(job, dispatcher, details=details, store_with=store)
