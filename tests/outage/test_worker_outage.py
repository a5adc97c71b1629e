"""``gql-portal worker`` through a Redis outage and a database outage (CONTRACT section 8):
a real worker process, a redis-server of the test's own killed and restarted on its port,
and the test database cut off while a bulk job runs."""

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from gql_portal.accounts.models import Role, User
from gql_portal.app import create_app
from gql_portal.bulk.models import BulkJob
from gql_portal.settings import Settings
from tests.bulk.api import START, sign_in
from tests.bulk.helpers import enabled_event_counts, make_many_users
from tests.conftest import TEST_DATABASE_URL
from tests.database import TestDatabase
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.outage.support import database_cut_off, redis_server
from tests.workers.worker_process import WorkerProcess

pytestmark = [
    pytest.mark.skipif(TEST_DATABASE_URL is None, reason="needs PostgreSQL to cut off"),
    pytest.mark.usefixtures("database"),
]
USERS = 12_000


async def _until(condition: object, failure: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        value = condition() if callable(condition) else condition
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        assert time.monotonic() < deadline, f"{failure}\n{log.read_text()[-4000:]}"
        await asyncio.sleep(0.1)


def _log_lines(log: Path) -> list[dict[str, object]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    # Every line the worker writes is a JSON object, like the API's.
    return [json.loads(line) for line in lines]


async def test_the_worker_survives_redis_and_database_outages(
    database: TestDatabase, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    domain = await make_domain(two_factor=True)
    ids = await make_many_users(domain, USERS)
    with redis_server() as redis:
        app = create_app(Settings(redis_url=redis.url), manage_database=False)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client = GraphQLClient(http)
            token = await sign_in(client, domain, Role.SECURITY_ADMIN)
            assert (await http.get("/readyz")).json()["checks"]["workers"] == 0
            worker = WorkerProcess(
                database,
                redis.url,
                log,
                bulk_chunk_size="50",
                bulk_stale_seconds="2",
                bulk_slice_seconds="1",
            )
            try:
                await _until(lambda: _workers(http), "the worker never showed up in /readyz", log)
                metrics = (await http.get("/metrics")).text
                assert "gql_portal_workers_alive 1.0" in metrics
                started = await client.execute(START, {"filter": {"roles": ["USER"]}}, token=token)
                job_id = started.ok()["startBulkTwoFactorEnablement"]["id"]
                await _until(lambda: _processed(job_id, 200), "the job never started", log)

                # Redis dies mid-job: the queue entry and the slice's requeue are lost.
                redis.kill()
                down = await http.get("/readyz")
                assert down.status_code == 503
                assert down.json()["checks"] == {
                    "database": "ok",
                    "redis": "down",
                    "workers": "down",
                }
                await asyncio.sleep(3)
                assert worker.process.poll() is None, log.read_text()[-3000:]
                redis.start()  # same port, empty: nothing of the old queue survives
                redis_back = time.monotonic()
                before = (await BulkJob.get(id=job_id)).processed
                assert before < USERS

                # The database goes away while the job (resumed by the sweeper) runs.
                await _until(lambda: _processed(job_id, before + 1), "no progress after Redis", log)
                redis_recovery = time.monotonic() - redis_back
                await _until(
                    lambda: _processed(job_id, before + 100), "no progress after Redis", log
                )
                async with database_cut_off(database):
                    await asyncio.sleep(3)
                    assert worker.process.poll() is None, log.read_text()[-3000:]
                database_back = time.monotonic()
                paused_at = (await BulkJob.get(id=job_id)).processed
                await _until(
                    lambda: _processed(job_id, paused_at + 1), "no progress after the database", log
                )
                database_recovery = time.monotonic() - database_back
                await _until(lambda: _succeeded(job_id), "the job never finished", log, 120)
                print(
                    f"\nworker outage: the job moved again {redis_recovery:.1f} s after Redis"
                    f" was back, {database_recovery:.1f} s after the database was"
                )
                assert worker.process.poll() is None
                await _until(lambda: _workers(http), "the worker is gone from /readyz", log)
            finally:
                worker.stop()
            await app.state.bulk_dispatcher.close()

    job = await BulkJob.get(id=job_id)
    assert (job.processed, job.changed, job.skipped) == (USERS, USERS, 0)
    assert await User.filter(id__in=ids, two_factor_enabled=True).count() == USERS
    assert await enabled_event_counts(job_id) == {user_id: 1 for user_id in ids}

    lines = _log_lines(log)
    messages = [str(line["message"]) for line in lines]
    assert any("could not poll the queue" in m for m in messages), messages[-20:]
    assert any(f"bulk job {job_id} paused" in m for m in messages), messages[-40:]
    assert any(f"→ bulk:{job_id}" in m for m in messages)  # arq's line per job start
    assert any(f"bulk:{job_id}" in m and "←" in m for m in messages)  # and per job end
    assert worker.process.returncode == 0


async def _workers(http: httpx.AsyncClient) -> bool:
    body = (await http.get("/readyz")).json()
    return body["checks"]["workers"] == 1


async def _processed(job_id: str, at_least: int) -> bool:
    job = await BulkJob.get(id=job_id)
    return job.processed >= at_least


async def _succeeded(job_id: str) -> bool:
    job = await BulkJob.get(id=job_id)
    return job.status == "SUCCEEDED"
