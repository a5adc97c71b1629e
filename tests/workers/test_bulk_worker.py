"""Bulk jobs through Redis and real worker processes (run when GQL_PORTAL_TEST_REDIS_URL is set)."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from arq.connections import RedisSettings, create_pool
from arq.jobs import Job
from redis.asyncio import Redis

from gql_portal.accounts.models import Role, User
from gql_portal.app import create_app
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.dispatch import QUEUE_NAME
from gql_portal.bulk.models import BulkJob
from gql_portal.settings import Settings
from tests.bulk.api import START, sign_in
from tests.bulk.helpers import enabled_event_counts, make_many_users
from tests.conftest import TEST_REDIS_URL
from tests.database import TestDatabase
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.workers.worker_process import WorkerProcess

pytestmark = [
    pytest.mark.skipif(TEST_REDIS_URL is None, reason="GQL_PORTAL_TEST_REDIS_URL is not set"),
    pytest.mark.usefixtures("database"),
]


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    assert TEST_REDIS_URL is not None
    redis = Redis.from_url(TEST_REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    yield TEST_REDIS_URL


@pytest.fixture
async def queued_client(redis_url: str) -> AsyncIterator[GraphQLClient]:
    app = create_app(Settings(redis_url=redis_url), manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)
    await app.state.bulk_dispatcher.close()


@pytest.fixture
def workers(
    database: TestDatabase, redis_url: str, tmp_path: Path
) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


def start_worker(
    started: list[WorkerProcess],
    database: TestDatabase,
    redis_url: str,
    tmp_path: Path,
    **settings: str,
) -> WorkerProcess:
    worker = WorkerProcess(database, redis_url, tmp_path / "worker.log", **settings)
    started.append(worker)
    return worker


async def wait_for(job_id: str, predicate: str, timeout: float, log: Path) -> BulkJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await BulkJob.get(id=job_id)
        if eval(predicate, {}, {"job": job}):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job never reached {predicate}: {job!r}\n{log.read_text()[-3000:]}")


async def enable_with_a_worker(
    client: GraphQLClient,
    started: list[WorkerProcess],
    database: TestDatabase,
    redis_url: str,
    tmp_path: Path,
    *,
    users: int,
    already: int,
    **settings: str,
) -> BulkJob:
    """``users`` USERs, the first ``already`` of them enabled, enabled by one worker process:
    each user exactly once, by one event."""
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    ids = await make_many_users(domain, users)
    await User.filter(id__in=ids[:already]).update(two_factor_enabled=True)
    worker = start_worker(started, database, redis_url, tmp_path, **settings)
    result = await client.execute(START, {"filter": {"roles": ["USER"]}}, token=token)
    job_id = result.ok()["startBulkTwoFactorEnablement"]["id"]
    job = await wait_for(job_id, "job.status == 'SUCCEEDED'", 90, worker.log)
    assert (job.total, job.processed, job.changed, job.skipped) == (
        users,
        users,
        users - already,
        already,
    )
    assert await User.filter(id__in=ids, two_factor_enabled=True).count() == users
    counts = await enabled_event_counts(job_id)
    assert set(counts) == set(ids[already:]) and set(counts.values()) == {1}
    assert await AuditEvent.filter(job_id=job_id, action="BULK_JOB_FINISHED").count() == 1
    return job


async def test_a_worker_process_enables_ten_thousand_users(
    queued_client: GraphQLClient,
    workers: list[WorkerProcess],
    database: TestDatabase,
    redis_url: str,
    tmp_path: Path,
) -> None:
    await enable_with_a_worker(
        queued_client, workers, database, redis_url, tmp_path, users=10_000, already=100
    )


async def test_a_killed_worker_is_resumed_by_the_next_one(
    queued_client: GraphQLClient,
    workers: list[WorkerProcess],
    database: TestDatabase,
    redis_url: str,
    tmp_path: Path,
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(queued_client, domain, Role.SECURITY_ADMIN)
    ids = await make_many_users(domain, 10_000)
    settings = {"bulk_chunk_size": "100", "bulk_stale_seconds": "2"}
    first = start_worker(workers, database, redis_url, tmp_path, **settings)
    result = await queued_client.execute(START, {"filter": {"roles": ["USER"]}}, token=token)
    job_id = result.ok()["startBulkTwoFactorEnablement"]["id"]
    await wait_for(job_id, "job.processed >= 1000", 60, first.log)
    first.kill()
    killed = await BulkJob.get(id=job_id)
    assert killed.status == "RUNNING" and 0 < killed.processed < 10_000
    assert killed.changed == await User.filter(id__in=ids, two_factor_enabled=True).count()
    second = start_worker(workers, database, redis_url, tmp_path, **settings)
    job = await wait_for(job_id, "job.status == 'SUCCEEDED'", 90, second.log)
    assert (job.processed, job.changed, job.skipped) == (10_000, 10_000, 0)
    assert await User.filter(id__in=ids, two_factor_enabled=True).count() == 10_000
    assert await enabled_event_counts(job_id) == {user_id: 1 for user_id in ids}


async def test_a_double_click_queues_one_job(queued_client: GraphQLClient, redis_url: str) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(queued_client, domain, Role.SECURITY_ADMIN)
    results = await asyncio.gather(
        queued_client.execute(START, token=token), queued_client.execute(START, token=token)
    )
    assert sorted(result.codes[0] if result.errors else "OK" for result in results) == [
        "JOB_CONFLICT",
        "OK",
    ]
    jobs = await BulkJob.filter(domain_id=domain.id)
    assert len(jobs) == 1 and jobs[0].status == "QUEUED"
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        queued = await redis.queued_jobs(queue_name=QUEUE_NAME)
        assert [job.job_id for job in queued] == [f"bulk:{jobs[0].id}"]
    finally:
        await redis.aclose()


async def test_a_job_longer_than_a_slice_requeues_itself_and_finishes(
    queued_client: GraphQLClient,
    workers: list[WorkerProcess],
    database: TestDatabase,
    redis_url: str,
    tmp_path: Path,
) -> None:
    # Chunks of 50 for at most 0.2 s a slice: the job cannot end in one arq run. Each slice
    # resumes from the checkpoint (the helper checks every user changed once).
    job = await enable_with_a_worker(
        queued_client,
        workers,
        database,
        redis_url,
        tmp_path,
        users=3000,
        already=10,
        bulk_chunk_size="50",
        bulk_slice_seconds="0.2",
    )
    # arq ran the job more than once (each Retry is one more try) and kept its last answer.
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        info = await Job(f"bulk:{job.id}", redis, _queue_name=QUEUE_NAME).result_info()
    finally:
        await redis.aclose()
    assert info is not None and info.success and info.result == "SUCCEEDED"
    assert info.job_try >= 2, info
