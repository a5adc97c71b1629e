"""Imports run by real ``gql-portal worker`` processes over Redis, one of them SIGKILLed."""

from pathlib import Path

import pytest

from gql_portal.accounts.models import User
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.models import BulkJob, ImportRow
from tests.bulk.imports import IMPORT, admin_token, many_rows
from tests.database import TestDatabase
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.workers.test_bulk_worker import (  # noqa: F401 (fixtures)
    queued_client,
    redis_url,
    start_worker,
    wait_for,
    workers,
)
from tests.workers.worker_process import WorkerProcess

pytestmark = pytest.mark.usefixtures("database")

ROWS = 3000


async def start(client: GraphQLClient, domain_rows: int) -> tuple[str, int]:
    domain = await make_domain()
    token = await admin_token(client, domain)
    answer = await client.http.post(
        "/graphql/import",
        json={"query": IMPORT, "variables": {"csv": many_rows(domain, domain_rows)}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["importUsers"]["id"], domain.id


async def each_row_applied_once(job_id: str, domain_id: int) -> None:
    assert await User.filter(domain_id=domain_id, email__startswith="imp-").count() == ROWS
    created = await AuditEvent.filter(job_id=job_id, action="USER_CREATED").values_list(
        "target_id", flat=True
    )
    assert len(created) == len(set(created)) == ROWS
    assert not await ImportRow.filter(job_id=job_id, outcome=None).exists()
    assert await ImportRow.filter(job_id=job_id, outcome="CREATED").count() == ROWS
    assert await AuditEvent.filter(job_id=job_id, action="BULK_JOB_FINISHED").count() == 1


async def test_a_worker_process_imports_three_thousand_users(
    queued_client: GraphQLClient,  # noqa: F811
    workers: list[WorkerProcess],  # noqa: F811
    database: TestDatabase,
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    worker = start_worker(workers, database, redis_url, tmp_path)
    job_id, domain_id = await start(queued_client, ROWS)
    job = await wait_for(job_id, "job.status == 'SUCCEEDED'", 90, worker.log)
    assert (job.total, job.processed, job.created, job.failed) == (ROWS, ROWS, ROWS, 0)
    await each_row_applied_once(job_id, domain_id)


async def test_a_killed_import_is_resumed_and_applies_every_row_once(
    queued_client: GraphQLClient,  # noqa: F811
    workers: list[WorkerProcess],  # noqa: F811
    database: TestDatabase,
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = {"bulk_chunk_size": "50", "bulk_stale_seconds": "2"}
    first = start_worker(workers, database, redis_url, tmp_path, **settings)
    job_id, domain_id = await start(queued_client, ROWS)
    await wait_for(job_id, "job.processed >= 500", 60, first.log)
    first.kill()
    killed = await BulkJob.get(id=job_id)
    assert killed.status == "RUNNING" and 0 < killed.processed < ROWS
    # What the killed worker committed is exactly what its checkpoint says.
    assert (
        killed.created == await User.filter(domain_id=domain_id, email__startswith="imp-").count()
    )
    second = start_worker(workers, database, redis_url, tmp_path, **settings)
    job = await wait_for(job_id, "job.status == 'SUCCEEDED'", 90, second.log)
    assert (job.processed, job.created, job.updated, job.skipped) == (ROWS, ROWS, 0, 0)
    await each_row_applied_once(job_id, domain_id)
