"""Delivery of the outbox to real SMTP servers (aiosmtpd), in this process: batches over one
connection, every failure mode a real server has, back-off, give-up, leases, rate."""

import asyncio
import time
from datetime import timedelta

import pytest

from gql_portal import clock
from gql_portal.crypto import encrypt_secret
from gql_portal.notifications.delivery import (
    GIVE_UP_AFTER,
    BatchResult,
    RateLimiter,
    claim_batch,
    deliver_batch,
)
from gql_portal.notifications.models import Notification, NotificationKind
from gql_portal.notifications.transport import SmtpTransport, transport_for
from tests.notifications.smtp_servers import Mailbox, free_port, silent_server, smtp_server
from tests.notifications.support import queue, row_id, smtp_settings

pytestmark = pytest.mark.usefixtures("database")


async def deliver(port: int, **changes: object) -> BatchResult:
    settings = smtp_settings(port, **changes)
    return await deliver_batch(transport_for(settings), settings, RateLimiter(settings.mail_rate))


async def test_a_batch_goes_out_over_one_connection_as_text_and_html() -> None:
    ids = await queue(5)
    with smtp_server() as mailbox:
        result = await deliver(mailbox.port)
    assert (result.claimed, result.sent) == (5, 5)
    assert mailbox.connections() == 1
    assert sorted(row_id(mid) for mid in mailbox.message_ids()) == ids
    first = mailbox.received[0]
    assert first.sender == "no-reply@portal.example"
    assert first.recipients == ["user0@example.com"]
    message = first.message
    assert message["From"] == "Portal <no-reply@portal.example>"
    assert message["To"] == "user0@example.com"
    assert message["Message-ID"] == f"<notification-{ids[0]}.1@portal.example>"
    assert message["Date"] and message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    rows = await Notification.all()
    assert {(row.status, row.attempts, row.claimed_until) for row in rows} == {("SENT", 1, None)}
    assert all(row.sent_at is not None for row in rows)


async def test_a_closed_port_keeps_the_rows_queued_with_back_off() -> None:
    await queue(3)
    port = free_port()  # nothing listens
    result = await deliver(port, mail_retry_seconds=30)
    assert (result.claimed, result.retried, result.sent) == (3, 3, 0)
    rows = await Notification.all()
    assert {(row.status, row.attempts) for row in rows} == {("QUEUED", 1)}
    assert all("SMTPConnect" in (row.last_error or "") for row in rows)
    first_retry = rows[0].next_attempt_at - clock.utcnow()
    assert timedelta(seconds=25) < first_retry <= timedelta(seconds=30)
    assert (await deliver(port)).claimed == 0  # not yet due
    clock.travel(timedelta(seconds=31))
    await deliver(port, mail_retry_seconds=30)
    row = await Notification.first()
    assert row is not None and row.attempts == 2
    assert timedelta(seconds=55) < row.next_attempt_at - clock.utcnow() <= timedelta(seconds=60)


async def test_smtp_down_for_a_while_then_back_delivers_everything_once() -> None:
    ids = await queue(20)
    port = free_port()
    for _ in range(3):  # three failed rounds
        await deliver(port, mail_retry_seconds=1)
        clock.travel(timedelta(seconds=10))
    assert await Notification.filter(status="QUEUED", attempts=3).count() == 20
    with smtp_server(port=port) as mailbox:
        await deliver(port)
    assert sorted(row_id(mid) for mid in mailbox.message_ids()) == ids
    assert await Notification.filter(status="SENT").count() == 20


async def test_a_connection_dropped_mid_data_is_reopened_for_the_rest_of_the_batch() -> None:
    ids = await queue(4)
    with smtp_server(Mailbox(drops=1)) as mailbox:
        result = await deliver(mailbox.port)
    assert result.sent == 4
    assert sorted(row_id(mid) for mid in mailbox.message_ids()) == ids
    assert mailbox.connections() == 2


async def test_a_server_that_always_drops_leaves_the_rows_for_later() -> None:
    await queue(3)
    with smtp_server(Mailbox(drops=1000)) as mailbox:
        result = await deliver(mailbox.port)
    assert (result.sent, result.retried) == (0, 3)
    assert mailbox.count == 0
    rows = await Notification.all()
    assert {(row.status, row.attempts) for row in rows} == {("QUEUED", 1)}
    assert all("SMTPServerDisconnected" in (row.last_error or "") for row in rows)


async def test_a_4xx_answer_is_retried_and_then_accepted() -> None:
    await queue(1)
    with smtp_server(Mailbox(transient_failures=1)) as mailbox:
        port = mailbox.port
        first = await deliver(port, mail_retry_seconds=5)
        row = await Notification.get()
        assert (first.retried, row.status, row.attempts) == (1, "QUEUED", 1)
        assert row.last_error == "SMTPDataError: 451 4.3.0 try again later"
        clock.travel(timedelta(seconds=6))
        await deliver(port)
    row = await Notification.get()
    assert (row.status, row.attempts, mailbox.count) == ("SENT", 2, 1)


async def test_a_5xx_refused_recipient_fails_at_once_and_the_batch_goes_on() -> None:
    await queue(3)
    with smtp_server(Mailbox(unknown={"user1@example.com"})) as mailbox:
        result = await deliver(mailbox.port)
    assert (result.sent, result.failed) == (2, 1)
    failed = await Notification.get(recipient="user1@example.com")
    assert (failed.status, failed.attempts) == ("FAILED", 1)
    assert failed.last_error is not None and "550 5.1.1" in failed.last_error
    assert [item.recipients for item in mailbox.received] == [
        ["user0@example.com"],
        ["user2@example.com"],
    ]


async def test_a_message_is_failed_after_24_hours_of_attempts() -> None:
    await queue(1)
    port = free_port()
    await deliver(port)
    clock.travel(GIVE_UP_AFTER)
    result = await deliver(port)
    assert result.failed == 1
    row = await Notification.get()
    assert (row.status, row.attempts) == ("FAILED", 2)
    clock.travel(timedelta(days=1))
    assert (await deliver(port)).claimed == 0


async def test_names_with_cr_lf_cannot_add_headers_or_recipients() -> None:
    await queue(
        1,
        kind=NotificationKind.ACCOUNT_DEACTIVATED,
        params={"byName": "Eve\r\nBcc: victim@evil.example\r\n\r\nfake body", "byEmail": "e@x"},
    )
    await queue(1, recipient="user{}@example.com\r\nBcc: victim@evil.example")
    with smtp_server() as mailbox:
        result = await deliver(mailbox.port)
    assert (result.sent, result.failed) == (1, 1)
    (item,) = mailbox.received
    assert item.recipients == ["user0@example.com"]
    assert "Bcc" not in item.message and item.message["To"] == "user0@example.com"
    for part in item.message.iter_parts():
        assert "\nBcc:" not in part.get_content()
    refused = await Notification.get(status="FAILED")
    assert refused.last_error is not None and refused.last_error.startswith("not sendable")


async def test_a_link_token_is_erased_once_sent() -> None:
    await queue(
        1,
        kind=NotificationKind.PASSWORD_RESET,
        params={
            "token": encrypt_secret("raw-link-token"),
            "expiresAt": "2026-12-02T05:00:00+00:00",
        },
    )
    with smtp_server() as mailbox:
        await deliver(mailbox.port)
    body = mailbox.received[0].message.get_body(("plain",))
    assert body is not None and "token=raw-link-token" in body.get_content()
    row = await Notification.get()
    assert row.status == "SENT" and "token" not in row.params
    assert row.params["expiresAt"] == "2026-12-02T05:00:00+00:00"


async def test_a_killed_senders_claim_expires_and_the_redelivery_keeps_its_message_id() -> None:
    ids = await queue(3)
    from tortoise import connections

    claimed = await claim_batch(
        connections.get("default"), now=clock.utcnow(), limit=10, lease_seconds=60
    )
    assert [row.id for row in claimed] == ids  # ... and this sender dies here
    with smtp_server() as mailbox:
        port = mailbox.port
        assert (await deliver(port)).claimed == 0
        clock.travel(timedelta(seconds=61))
        assert (await deliver(port)).sent == 3
    assert sorted(row_id(mid) for mid in mailbox.message_ids()) == ids


async def test_concurrent_senders_deliver_each_message_once() -> None:
    ids = await queue(60)
    with smtp_server() as mailbox:
        settings = smtp_settings(mailbox.port, mail_batch_size=7)

        async def sender() -> int:
            sent = 0
            while (
                result := await deliver_batch(transport_for(settings), settings, RateLimiter(0))
            ).claimed:
                sent += result.sent
            return sent

        counts = await asyncio.gather(*(sender() for _ in range(4)))
    assert sum(counts) == 60
    assert sorted(row_id(mid) for mid in mailbox.message_ids()) == ids


async def test_mail_rate_spaces_the_messages() -> None:
    await queue(30)
    with smtp_server() as mailbox:
        started = time.monotonic()
        result = await deliver(mailbox.port, mail_rate=20)
        elapsed = time.monotonic() - started
    # A burst of one second's worth (20), then 10 more at 20 a second.
    assert result.sent == 30 and elapsed >= 0.45


async def test_a_silent_server_times_out_without_holding_the_batch() -> None:
    await queue(2)
    with silent_server() as port:
        started = time.monotonic()
        result = await deliver(port, smtp_timeout_seconds=0.5)
        assert time.monotonic() - started < 5
    assert result.retried == 2
    row = await Notification.first()
    assert row is not None and "SMTP" in (row.last_error or "")


async def test_a_batch_stops_before_its_lease_runs_out() -> None:
    await queue(5)
    with smtp_server() as mailbox:
        # 5 a second with a 1 s lease: the budget (0.8 s) covers the burst of 5, or fewer.
        result = await deliver(
            mailbox.port,
            mail_rate=2,
            mail_lease_seconds=1,
        )
    assert result.released > 0 and result.sent + result.released == 5
    released = await Notification.filter(status="QUEUED")
    assert {(row.attempts, row.claimed_until) for row in released} == {(0, None)}


def test_smtp_transport_from_url_hides_the_password() -> None:
    from gql_portal.notifications.transport import SmtpServer

    server = SmtpServer.from_url("smtps://mailer:s3cr%40t@mail.example:2465")
    assert (server.host, server.port, server.username, server.password) == (
        "mail.example",
        2465,
        "mailer",
        "s3cr@t",
    )
    assert server.implicit_tls and not server.starttls
    assert "s3cr" not in repr(server) and "s3cr" not in server.display()
    starttls = SmtpServer.from_url("smtp://mail.example:587?starttls=true")
    assert starttls.starttls and not starttls.implicit_tls and starttls.port == 587
    transport = transport_for(smtp_settings(25))
    assert isinstance(transport, SmtpTransport)
