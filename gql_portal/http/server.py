"""``gql-portal serve``: uvicorn with the portal's limits at the HTTP edge (issue 11.6).

uvicorn's httptools protocol (what ``http=auto`` picks) bounds neither the size nor the
number of request headers (a 64 MB header was read whole), and nothing times out a client
that never finishes its headers or a new connection that sends nothing; its
``limit_concurrency`` answers a plain-text 503 only once a request's headers are in.
(``h11_max_incomplete_event_size`` applies to the slower h11 protocol only.)
``EdgeProtocol`` adds, per process:

- headers (request line included) over ``max_header_bytes``: 431, counted as they arrive,
  so no more than one read (256 kB) beyond the limit is ever buffered;
- more than ``max_header_count`` headers: 431;
- headers not complete ``header_timeout_seconds`` after the connection opened or the
  previous response ended (slowloris, idle sockets): 408;
- a connection beyond ``max_connections`` (HTTP and WebSocket): 503 with Retry-After.

Each is answered in the contract's JSON error shape, then the connection is closed. Slow
bodies are the app's to time out (http/limits.py ``BodyTimeoutMiddleware``).
"""

import asyncio
import os
import secrets
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from gql_portal.http.limits import error_body
from gql_portal.http.middleware import NO_STORE, SECURITY_HEADERS
from gql_portal.settings import Settings, get_settings

# `serve` flags and the settings they override (written to the environment, so the
# worker processes uvicorn spawns read the same values).
FLAGS = {
    "max_connections": "GQL_PORTAL_MAX_CONNECTIONS",
    "max_header_bytes": "GQL_PORTAL_MAX_HEADER_BYTES",
    "max_header_count": "GQL_PORTAL_MAX_HEADER_COUNT",
    "header_timeout": "GQL_PORTAL_HEADER_TIMEOUT_SECONDS",
    "body_timeout": "GQL_PORTAL_BODY_TIMEOUT_SECONDS",
}


LINGER_SECONDS = 1.0


class _Refused(Exception):
    """Raised in a parser callback; the parser hands it back from feed_data."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


class EdgeProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_header_bytes = settings.max_header_bytes
        self.max_header_count = settings.max_header_count
        self.header_timeout = settings.header_timeout_seconds
        self.max_connections = settings.max_connections
        self.header_deadline: asyncio.TimerHandle | None = None
        self.in_headers = True
        self.header_bytes = 0  # what the parser callbacks delivered
        self.unparsed_bytes = 0  # reads that did not complete the headers
        self.header_count = 0
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            self.transport = transport
            self.answer(
                503,
                "The server is at its connection limit",
                [(b"retry-after", b"1")],
                code="SERVICE_UNAVAILABLE",
            )
            return
        super().connection_made(transport)
        self.arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        self._unset_keepalive_if_required()
        reading_headers = self.in_headers
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as error:
            refused = error.__context__
            if isinstance(refused, _Refused):
                self.answer(refused.status, refused.message)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.answer(400, "Invalid HTTP request received")
            return
        if reading_headers and self.in_headers:
            self.unparsed_bytes += len(data)
            if self.unparsed_bytes > self.max_header_bytes:
                self.answer(431, self.too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_headers = True
        self.header_bytes = self.unparsed_bytes = self.header_count = 0
        if self.header_deadline is None:
            self.arm_header_deadline()

    def on_url(self, url: bytes) -> None:
        self.count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > self.max_header_count:
            raise _Refused(431, f"A request may carry at most {self.max_header_count} headers")
        self.count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_headers = False
        self.disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.header_deadline is None:
            # The keep-alive timeout closes an idle connection; this one, a slow next request.
            self.arm_header_deadline()

    def count_header_bytes(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > self.max_header_bytes:
            raise _Refused(431, self.too_large())

    def too_large(self) -> str:
        return f"The request headers exceed {self.max_header_bytes} bytes"

    def arm_header_deadline(self) -> None:
        self.disarm_header_deadline()
        self.header_deadline = self.loop.call_later(self.header_timeout, self.headers_too_slow)

    def disarm_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def headers_too_slow(self) -> None:
        self.header_deadline = None
        if self.in_headers and not self.transport.is_closing():
            self.answer(408, f"The request headers took more than {self.header_timeout:g} s")

    def answer(
        self,
        status: int,
        message: str,
        extra: list[tuple[bytes, bytes]] | None = None,
        *,
        code: str = "BAD_USER_INPUT",
    ) -> None:
        """A refusal in the contract's shape, written straight to the socket, then close."""
        request_id = secrets.token_hex(8)
        body = error_body(message, code, request_id=request_id)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"x-request-id", request_id.encode()),
            NO_STORE,
            *SECURITY_HEADERS,
            *(extra or []),
        ]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.refused = True
        self.disarm_header_deadline()
        self.transport.write(STATUS_LINE[status] + head + b"\r\n" + body)
        # Closing with the client's bytes unread would reset the connection, and the
        # client might never read the answer: end our side, discard what still comes,
        # close a moment later.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def apply_flags(values: dict[str, object]) -> Settings:
    """The flags given on the command line, as settings for this process and its workers."""
    for flag, variable in FLAGS.items():
        value = values.get(flag)
        if value is not None:
            os.environ[variable] = str(value)
    get_settings.cache_clear()
    return get_settings()


def default_public_url(host: str, port: int) -> None:
    """In development, the links in mail point at the address served (``make run PORT=8108``
    mails links to :8108), unless GQL_PORTAL_PUBLIC_URL says otherwise; production uses the
    setting as given (behind a proxy the served address is not the public one)."""
    if "GQL_PORTAL_PUBLIC_URL" in os.environ or get_settings().environment != "development":
        return
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    os.environ["GQL_PORTAL_PUBLIC_URL"] = f"http://{shown}:{port}"
    get_settings.cache_clear()


def serve(*, host: str, port: int, workers: int) -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from gql_portal.http.supervisor import (
        MetricsMultiprocess,
        check_address_free,
        metrics_directory,
    )

    check_address_free(host, port)
    settings = get_settings()
    config = uvicorn.Config(
        "gql_portal.asgi:app",
        host=host,
        port=port,
        workers=workers,
        http=EdgeProtocol,
        proxy_headers=False,  # the client IP comes from GQL_PORTAL_TRUSTED_PROXIES only
        ws_max_size=settings.max_body_bytes,  # a WebSocket message is capped like a body
        log_level=settings.log_level.lower(),
    )
    with metrics_directory(workers):
        if workers == 1:
            server = uvicorn.Server(config)
            server.run()
            return 0 if server.started else STARTUP_FAILURE
        # uvicorn.run's own branch for several workers, with a supervisor that tells
        # prometheus_client when a server process ends.
        MetricsMultiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
