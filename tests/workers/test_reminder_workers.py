"""Enrollment reminders from two real worker processes at once: each reminder written once
(run when GQL_PORTAL_TEST_REDIS_URL is set)."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gql_portal.accounts.models import User
from gql_portal.clock import utcnow
from gql_portal.notifications.models import Notification
from tests.bulk.helpers import make_many_users
from tests.conftest import TEST_REDIS_URL
from tests.database import TestDatabase
from tests.factories import make_domain
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


async def test_two_workers_send_each_reminder_once(
    database: TestDatabase, redis_url: str, tmp_path: Path
) -> None:
    domain = await make_domain(two_factor=True)
    ids = await make_many_users(domain, 3000)
    now = utcnow()
    # Deadlines set in the rows: a third 30 h away (72 h reminder), a third 10 h away (24 h),
    # a third 100 h away (none yet).
    thirds = [ids[0::3], ids[1::3], ids[2::3]]
    for users, hours in zip(thirds, (30, 10, 100), strict=True):
        await User.filter(id__in=users).update(
            two_factor_enabled=True,
            two_factor_enabled_at=now - timedelta(days=7),
            enrollment_deadline=now + timedelta(hours=hours),
        )
    log = tmp_path / "workers.log"
    # Both run the reminders cron at start-up, at the same moment.
    workers = [WorkerProcess(database, redis_url, log) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if await Notification.filter(kind="ENROLLMENT_REMINDER").count() >= 2000:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # the slower worker's run has finished writing nothing
    finally:
        for worker in workers:
            worker.stop()
    rows = await Notification.filter(kind="ENROLLMENT_REMINDER").values_list(
        "user_id", "params", "dedupe_key"
    )
    assert log.read_text().count("cron:send_reminders()") >= 2, log.read_text()[-3000:]
    assert len(rows) == 2000, log.read_text()[-3000:]
    by_user = {user_id: params["hours"] for user_id, params, _ in rows}
    assert len(by_user) == 2000
    assert {user: by_user[user] for user in thirds[0]} == dict.fromkeys(thirds[0], 72)
    assert {user: by_user[user] for user in thirds[1]} == dict.fromkeys(thirds[1], 24)
    assert len({key for _, _, key in rows}) == 2000
