"""How a message leaves: over SMTP (aiosmtplib, one connection per batch), or into a Maildir
under the data folder when no SMTP server is configured (development: `make run`).

A transport opens a session per batch; the session sends one message at a time and tells
the sender what went wrong in two kinds: ``Refused`` (the server answered no to this
message, the connection is still good) and ``TransportDown`` (no connection: the rest of the
batch would fail the same way).
"""

import asyncio
import contextlib
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from itertools import count
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from gql_portal.files import PRIVATE_FILE, private_dir
from gql_portal.settings import Settings

MAILDIR_FOLDERS = ("tmp", "new", "cur")
MAX_ERROR_LENGTH = 300


class MailSettingsError(RuntimeError):
    """A start-up refusal: one line, like a missing encryption key."""


class Refused(Exception):
    """The server refused this message; ``permanent`` when it refused the recipient with a
    5xx (the address will never take it), so the row fails at once instead of for 24 h."""

    def __init__(self, error: str, *, permanent: bool) -> None:
        super().__init__(error)
        self.permanent = permanent


class TransportDown(Exception):
    """No connection to the server (refused, dropped twice, timed out)."""


def short_error(error: BaseException) -> str:
    """What the row's last_error keeps: the exception's kind and the server's answer, on one
    line. aiosmtplib's messages name the host, the port and the server's reply, never the
    credentials."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        text = f"{error.code} {' '.join(error.message.split())}"
    else:
        text = " ".join(str(error).split())
    line = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return line[:MAX_ERROR_LENGTH]


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool = False
    starttls: bool = False

    @classmethod
    def from_url(cls, url: str) -> "SmtpServer":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailSettingsError(
                "GQL_PORTAL_SMTP_URL must look like smtp://user:password@host:port "
                "(smtps:// for implicit TLS, ?starttls=true)"
            )
        implicit = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["false"])[-1].lower() in ("1", "true", "yes", "on")
        if implicit and starttls:
            raise MailSettingsError("GQL_PORTAL_SMTP_URL: smtps:// is TLS already, no ?starttls")
        try:
            port = parts.port or (465 if implicit else 25)
        except ValueError:
            raise MailSettingsError("GQL_PORTAL_SMTP_URL has a port that is no number") from None
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=starttls,
        )

    def display(self) -> str:
        """For logs: the URL without its password."""
        user = f"{self.username}@" if self.username else ""
        tls = "?starttls=true" if self.starttls else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}{tls}"


def check_mail_settings(settings: Settings) -> None:
    """Production mails real users: a Maildir on the server would swallow every message."""
    if settings.smtp_url:
        SmtpServer.from_url(settings.smtp_url)
    elif settings.is_production:
        raise MailSettingsError(
            "GQL_PORTAL_SMTP_URL is required in production (without it mail would only "
            "reach a local Maildir)"
        )


def envelope_sender(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1] or "no-reply@localhost"


class MailSession(Protocol):
    async def send(self, message: EmailMessage, recipient: str) -> None: ...


class Transport(Protocol):
    def session(self) -> contextlib.AbstractAsyncContextManager[MailSession]: ...

    def describe(self) -> str: ...


class SmtpSession:
    """One connection for a batch, reconnected once when the server dropped it."""

    def __init__(self, transport: "SmtpTransport") -> None:
        self._transport = transport
        self._client: aiosmtplib.SMTP | None = None

    async def connect(self) -> None:
        await self.close()
        client = self._transport.client()
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise TransportDown(short_error(error)) from None
        self._client = client

    async def send(self, message: EmailMessage, recipient: str) -> None:
        for attempt in (1, 2):
            if self._client is None or not self._client.is_connected:
                await self.connect()
            assert self._client is not None
            try:
                await self._client.send_message(
                    message, sender=self._transport.sender, recipients=[recipient]
                )
                return
            except aiosmtplib.SMTPRecipientsRefused as error:
                refusals = error.recipients
                permanent = bool(refusals) and all(refusal.code >= 500 for refusal in refusals)
                reason = short_error(refusals[0]) if refusals else short_error(error)
                raise Refused(reason, permanent=permanent) from None
            except aiosmtplib.SMTPRecipientRefused as error:
                raise Refused(short_error(error), permanent=error.code >= 500) from None
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as error:
                # Dropped (mid-DATA too: the server kept nothing it did not accept with
                # 250): once more on a fresh connection, then the batch stops.
                self._client = None
                if attempt == 2:
                    raise TransportDown(short_error(error)) from None
            except aiosmtplib.SMTPResponseException as error:
                # MAIL FROM, DATA or an auth answer: about us or the server, not the
                # recipient, so retried with back-off even when it is a 5xx.
                raise Refused(short_error(error), permanent=False) from None
            except OSError as error:
                self._client = None
                if attempt == 2:
                    raise TransportDown(short_error(error)) from None

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await asyncio.wait_for(client.quit(), self._transport.timeout)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()


class SmtpTransport:
    def __init__(
        self,
        server: SmtpServer,
        *,
        sender: str,
        timeout: float,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.server = server
        self.sender = sender
        self.timeout = timeout
        # Tests pass a context that trusts their self-signed certificate; otherwise the
        # system's trust store and hostname checks apply.
        self.tls_context = tls_context

    def client(self) -> aiosmtplib.SMTP:
        server = self.server
        return aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            start_tls=server.starttls,
            timeout=self.timeout,
            tls_context=self.tls_context,
        )

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        session = SmtpSession(self)
        await session.connect()
        try:
            yield session
        finally:
            await session.close()

    def describe(self) -> str:
        return self.server.display()


class MaildirTransport:
    """Development mail: one file per message in ``<data_dir>/mail/new`` (the Maildir
    layout: written to tmp/, then renamed, so a reader never sees half a message), owner-only
    like the data folder's other files. Any mail reader opens it (``mutt -f var/mail``,
    Python's ``mailbox.Maildir``)."""

    _counter = count()

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        await asyncio.to_thread(self._prepare)
        yield self

    def _prepare(self) -> None:
        private_dir(self.path)
        for folder in MAILDIR_FOLDERS:
            private_dir(self.path / folder)

    async def send(self, message: EmailMessage, recipient: str) -> None:
        await asyncio.to_thread(self._write, message.as_bytes())

    def _write(self, data: bytes) -> None:
        name = (
            f"{time.time_ns() // 1000}.P{os.getpid()}Q{next(self._counter)}"
            f".{socket.gethostname().replace('/', '_').replace(':', '_')}"
        )
        temporary = self.path / "tmp" / name
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.rename(temporary, self.path / "new" / name)

    def describe(self) -> str:
        return f"maildir {self.path}"


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SmtpTransport(
            SmtpServer.from_url(settings.smtp_url),
            sender=envelope_sender(settings),
            timeout=settings.smtp_timeout_seconds,
        )
    return MaildirTransport(settings.mail_dir)
