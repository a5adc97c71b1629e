"""Real SMTP servers for the tests (aiosmtpd, each on a free port in a thread of its own),
scripted to misbehave the ways real servers do: refuse a recipient, answer 4xx, drop the
connection in the middle of DATA, or accept the connection and never answer."""

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


MESSAGE_ID = re.compile(rb"^Message-ID: (.*?)\r?$", re.M | re.I)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    content: bytes
    connection: int

    @property
    def message(self) -> EmailMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message

    @property
    def message_id(self) -> str:
        """Read without parsing the whole message (10,000 of them in one test)."""
        found = MESSAGE_ID.search(self.content)
        assert found is not None
        return found.group(1).decode()


@dataclass
class Mailbox:
    """What the server accepted, and how to misbehave: ``transient_failures`` DATA answers
    of 451 first, ``drops`` DATA commands answered by closing the connection, recipients in
    ``unknown`` refused with 550."""

    transient_failures: int = 0
    drops: int = 0
    unknown: set[str] = field(default_factory=set)
    port: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _connections: dict[int, int] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.unknown:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            connection = self._connections.setdefault(id(session), len(self._connections))
            if self.drops > 0:
                self.drops -= 1
                server.transport.close()
                return "421 closing"
            if self.transient_failures > 0:
                self.transient_failures -= 1
                return "451 4.3.0 try again later"
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, connection)
            )
        return "250 OK"

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def message_ids(self) -> list[str]:
        with self.lock:
            return [item.message_id for item in self.received]

    def connections(self) -> int:
        """Connections that sent DATA (a dropped one included)."""
        with self.lock:
            return len(self._connections)


@contextmanager
def smtp_server(mailbox: Mailbox | None = None, port: int | None = None) -> Iterator[Mailbox]:
    mailbox = mailbox or Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    mailbox.port = controller.port
    try:
        yield mailbox
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections (the kernel's backlog does) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
