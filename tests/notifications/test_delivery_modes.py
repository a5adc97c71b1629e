"""Where mail goes without SMTP (the Maildir), production's refusal to start without it, and
an API that answers normally while its own sender waits on a mail server that hangs."""

import asyncio
import mailbox
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gql_portal.app import create_app
from gql_portal.notifications.delivery import MailDelivery, RateLimiter, deliver_batch
from gql_portal.notifications.models import Notification
from gql_portal.notifications.transport import MaildirTransport, MailSettingsError, transport_for
from gql_portal.settings import Settings
from tests.graphql import GraphQLClient
from tests.notifications.smtp_servers import silent_server
from tests.notifications.support import queue, row_id, smtp_settings

pytestmark = pytest.mark.usefixtures("database")


async def test_without_smtp_url_mail_goes_to_an_owner_only_maildir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mail_rate=0)
    transport = transport_for(settings)
    assert isinstance(transport, MaildirTransport) and transport.path == tmp_path / "mail"
    ids = await queue(3)
    result = await deliver_batch(transport, settings, RateLimiter(0))
    assert result.sent == 3
    folder = tmp_path / "mail"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted((folder / "new").iterdir())
    assert len(files) == 3 and not list((folder / "tmp").iterdir())
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o600}
    box = mailbox.Maildir(folder, create=False)
    assert sorted(row_id(str(message["Message-ID"])) for message in box) == ids
    assert {str(message["To"]) for message in box} == {f"user{i}@example.com" for i in range(3)}
    assert await Notification.filter(status="SENT").count() == 3


def test_production_refuses_to_start_without_smtp_url() -> None:
    keys = Fernet.generate_key().decode()
    with pytest.raises(MailSettingsError, match="GQL_PORTAL_SMTP_URL is required in production"):
        create_app(Settings(environment="production", encryption_keys=keys))
    with pytest.raises(MailSettingsError, match="must look like smtp://"):
        create_app(Settings(encryption_keys=keys, smtp_url="http://mail.example"))
    create_app(
        Settings(environment="production", encryption_keys=keys, smtp_url="smtp://mail.example")
    )


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"]])
def test_the_commands_refuse_production_without_smtp_url_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GQL_PORTAL_")}
    env.update(
        GQL_PORTAL_ENVIRONMENT="production",
        GQL_PORTAL_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        GQL_PORTAL_DATA_DIR=str(tmp_path),
        GQL_PORTAL_REDIS_URL="redis://127.0.0.1:1/0",
    )
    result = subprocess.run(
        [sys.executable, "-m", "gql_portal.cli", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "gql-portal: GQL_PORTAL_SMTP_URL is required in production (without it mail would "
        "only reach a local Maildir)"
    ]


async def test_the_api_answers_normally_while_its_sender_waits_on_a_hanging_server(
    client: GraphQLClient,
) -> None:
    await queue(5)
    with silent_server() as port:
        delivery = MailDelivery(smtp_settings(port, smtp_timeout_seconds=3))
        delivery.start()
        try:
            await asyncio.sleep(0.3)  # the sender is now waiting for the greeting
            for _ in range(5):
                started = time.monotonic()
                answer = await client.execute("{ __typename }")
                assert answer.ok() == {"__typename": "Query"}
                ready = await client.http.get("/readyz")
                assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
                assert time.monotonic() - started < 1.0
            scraped = (await client.http.get("/metrics")).text
            assert "gql_portal_notifications_queued 5.0" in scraped
            assert "gql_portal_notifications_backlog_age_seconds" in scraped
        finally:
            await delivery.stop()
    rows = await Notification.all()
    assert {row.status for row in rows} == {"QUEUED"}
    assert all(row.last_error and "SMTP" in row.last_error for row in rows)
