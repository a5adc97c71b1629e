"""SMTP over TLS against real aiosmtpd servers with a self-signed certificate: STARTTLS and
implicit TLS (smtps://) deliver; an untrusted certificate or a server that wants STARTTLS
from a plain URL leaves the rows queued for a retry; a password never reaches a row or a log."""

import logging
from pathlib import Path

import pytest

from gql_portal.notifications.delivery import RateLimiter, deliver_batch
from gql_portal.notifications.models import Notification
from gql_portal.notifications.transport import SmtpServer, SmtpTransport, transport_for
from tests.notifications.smtp_servers import free_port, smtp_server
from tests.notifications.support import queue, smtp_settings
from tests.notifications.tls import self_signed

pytestmark = pytest.mark.usefixtures("database")


async def _deliver(url: str, tls_client: object = None) -> int:
    settings = smtp_settings(0, smtp_url=url)
    transport = SmtpTransport(
        SmtpServer.from_url(url),
        sender="no-reply@portal.example",
        timeout=5,
        tls_context=tls_client,  # type: ignore[arg-type]
    )
    return (await deliver_batch(transport, settings, RateLimiter(0))).sent


async def test_starttls_delivers(tmp_path: Path) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    await queue(2)
    with smtp_server(tls_context=server_tls, require_starttls=True) as mailbox:
        sent = await _deliver(f"smtp://127.0.0.1:{mailbox.port}?starttls=true", client_tls)
    assert sent == 2 and mailbox.count == 2


async def test_implicit_tls_delivers(tmp_path: Path) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    await queue(2)
    with smtp_server(ssl_context=server_tls) as mailbox:
        sent = await _deliver(f"smtps://127.0.0.1:{mailbox.port}", client_tls)
    assert sent == 2 and mailbox.count == 2


async def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    server_tls, _ = self_signed(tmp_path)
    await queue(1)
    with smtp_server(ssl_context=server_tls) as mailbox:
        settings = smtp_settings(0, smtp_url=f"smtps://127.0.0.1:{mailbox.port}")
        result = await deliver_batch(transport_for(settings), settings, RateLimiter(0))
    assert (result.sent, result.retried, mailbox.count) == (0, 1, 0)
    row = await Notification.get()
    assert row.status == "QUEUED" and "CERTIFICATE_VERIFY_FAILED" in (row.last_error or "")


async def test_a_server_that_requires_starttls_is_not_sent_plain_text(tmp_path: Path) -> None:
    server_tls, _ = self_signed(tmp_path)
    await queue(1)
    with smtp_server(tls_context=server_tls, require_starttls=True) as mailbox:
        settings = smtp_settings(mailbox.port)
        result = await deliver_batch(transport_for(settings), settings, RateLimiter(0))
    assert (result.sent, result.retried, mailbox.count) == (0, 1, 0)
    row = await Notification.get()
    assert row.last_error is not None and "STARTTLS" in row.last_error


async def test_the_smtp_password_reaches_no_row_and_no_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await queue(2)
    url = f"smtp://mailer:Sup3r-s3cret@127.0.0.1:{free_port()}"
    settings = smtp_settings(0, smtp_url=url)
    with caplog.at_level(logging.DEBUG):
        result = await deliver_batch(transport_for(settings), settings, RateLimiter(0))
    assert result.retried == 2
    assert caplog.records and "Sup3r-s3cret" not in caplog.text
    assert "smtp://mailer@127.0.0.1:" in caplog.text
    assert all("Sup3r" not in (row.last_error or "") for row in await Notification.all())
    assert "Sup3r" not in repr(settings)
