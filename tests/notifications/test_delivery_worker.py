"""Real ``gql-portal worker`` processes delivering the outbox to a real SMTP server (run when
GQL_PORTAL_TEST_REDIS_URL is set): 10,000 messages with a worker SIGKILLed in the middle,
and an SMTP server that is down for a while."""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gql_portal.notifications.models import Notification
from tests.conftest import TEST_REDIS_URL
from tests.database import TestDatabase
from tests.notifications.smtp_servers import Mailbox, free_port, smtp_server
from tests.notifications.support import queue, row_id
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
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


def start(
    started: list[WorkerProcess],
    database: TestDatabase,
    redis_url: str,
    log: Path,
    port: int,
    **s: str,
) -> WorkerProcess:
    settings = {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "mail_from": "Portal <no-reply@portal.example>",
        "mail_rate": "0",
        **s,
    }
    worker = WorkerProcess(database, redis_url, log, **settings)
    started.append(worker)
    return worker


async def wait_for(predicate: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-3000:]}")


async def test_ten_thousand_messages_survive_a_sigkilled_worker(
    database: TestDatabase, redis_url: str, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    ids = await queue(10_000)
    log = tmp_path / "worker.log"
    with smtp_server() as mailbox:
        lease = {"mail_lease_seconds": "3", "mail_batch_size": "200"}
        first = start(workers, database, redis_url, log, mailbox.port, **lease)
        start(workers, database, redis_url, log, mailbox.port, **lease)
        await wait_for(lambda: mailbox.count >= 3000, 120, "3,000 messages", log)
        first.kill()  # mid-batch: its claimed rows wait for their lease
        start(workers, database, redis_url, log, mailbox.port, **lease)

        async def all_sent() -> bool:
            return await Notification.filter(status="SENT").count() == 10_000

        await wait_for(all_sent, 180, "every row SENT", log)
        seen = Counter(row_id(message_id) for message_id in mailbox.message_ids())
    # Every row went out, every Message-ID the server saw names a row; a message the killed
    # worker had sent but not yet marked went out again, with the same Message-ID.
    assert set(seen) == set(ids)
    duplicates = sum(count - 1 for count in seen.values())
    print(f"\n10,000 messages, one worker SIGKILLed: {duplicates} redelivered")
    assert duplicates <= 200  # at most the killed worker's batch
    assert await Notification.filter(status="SENT", attempts=1).count() == 10_000


async def test_smtp_down_for_a_while_then_back(
    database: TestDatabase, redis_url: str, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    ids = await queue(50)
    log = tmp_path / "worker.log"
    port = free_port()  # nothing listens yet
    start(workers, database, redis_url, log, port, mail_retry_seconds="0.5")

    async def all_retried() -> bool:
        return await Notification.filter(status="QUEUED", attempts__gte=2).count() == 50

    await wait_for(all_retried, 60, "two failed attempts of each", log)
    assert '"mail server smtp://127.0.0.1:' in log.read_text()  # one JSON line per batch
    with smtp_server(Mailbox(), port=port) as mailbox:

        async def all_sent() -> bool:
            return await Notification.filter(status="SENT").count() == 50

        await wait_for(all_sent, 60, "every row SENT", log)
    assert sorted(row_id(message_id) for message_id in mailbox.message_ids()) == ids
