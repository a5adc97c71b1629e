"""Without Redis the API process is the sender: a real ``gql-portal serve`` delivers the
outbox to a real SMTP server, and /metrics shows it."""

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from gql_portal.notifications.models import Notification
from tests.database import TestDatabase
from tests.http.server_process import ServerProcess
from tests.notifications.smtp_servers import smtp_server
from tests.notifications.support import queue, row_id


@pytest.mark.usefixtures("database")
async def test_the_api_process_delivers_without_redis(
    database: TestDatabase, tmp_path: Path
) -> None:
    ids = await queue(20)
    with smtp_server() as mailbox:
        server = ServerProcess(
            database,
            tmp_path / "serve.log",
            smtp_url=f"smtp://127.0.0.1:{mailbox.port}",
            mail_rate="0",
            data_dir=str(tmp_path),
        )
        try:
            deadline = time.monotonic() + 60
            while await Notification.filter(status="SENT").count() < 20:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-2000:]
                await asyncio.sleep(0.1)
            async with httpx.AsyncClient(base_url=server.url) as http:
                scraped = (await http.get("/metrics")).text
        finally:
            server.stop()
    assert sorted(row_id(message_id) for message_id in mailbox.message_ids()) == ids
    assert "gql_portal_notifications_sent_total 20.0" in scraped
    assert "gql_portal_notifications_queued 0.0" in scraped
    assert not (tmp_path / "mail").exists()  # SMTP configured: no Maildir
