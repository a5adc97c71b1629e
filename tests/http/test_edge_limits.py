"""Issue 11.6: the HTTP edge of a real ``gql-portal serve``, probed with raw sockets."""

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gql_portal.settings import get_settings
from tests.database import TestDatabase
from tests.http.server_process import ServerProcess, read_answer

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
MAX_CONNECTIONS = 12


@pytest.fixture(scope="module")
async def server(
    database: TestDatabase, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    process = ServerProcess(
        database,
        tmp_path_factory.mktemp("edge") / "serve.log",
        "--max-connections", str(MAX_CONNECTIONS),
        "--header-timeout", str(HEADER_TIMEOUT),
        "--body-timeout", str(BODY_TIMEOUT),
    )  # fmt: skip
    yield process
    process.stop()


def status_and_error(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    error: dict[str, object] = json.loads(body)["errors"][0]
    return status, error


def request(path: str = "/healthz", *headers: bytes) -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + b"".join(headers) + b"\r\n"


def test_an_oversized_header_is_refused_with_431(server: ServerProcess) -> None:
    with server.connect() as connection:
        connection.sendall(request("/healthz", b"X-Big: " + b"a" * 20_000 + b"\r\n"))
        status, error = status_and_error(read_answer(connection))
    assert status == 431
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "requestId": error["extensions"]["requestId"],
    }  # type: ignore[index]


def _send_huge_unfinished_header(server: ServerProcess, size: int, accepted: list[int]) -> None:
    sent = 0
    chunk = b"a" * (1 << 20)
    try:
        with server.connect() as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
            while sent < size:
                connection.sendall(chunk)
                sent += len(chunk)
            read_answer(connection)
    except OSError:
        pass  # cut off: what the limit is for
    accepted.append(sent)


def test_six_huge_unfinished_headers_are_cut_off_with_memory_bounded(
    server: ServerProcess,
) -> None:
    baseline = server.rss_mb()
    accepted: list[int] = []
    senders = [
        threading.Thread(target=_send_huge_unfinished_header, args=(server, 32 << 20, accepted))
        for _ in range(6)
    ]
    started = time.monotonic()
    for sender in senders:
        sender.start()
    peak = baseline
    while any(sender.is_alive() for sender in senders) and time.monotonic() - started < 60:
        peak = max(peak, server.rss_mb())
        time.sleep(0.05)
    for sender in senders:
        sender.join(timeout=30)
    assert len(accepted) == 6
    assert time.monotonic() - started < 30
    # Six 32 MB headers held 552 MB before; now each is dropped after 16 kB (+ one read).
    assert peak - baseline < 48, (baseline, peak)
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_too_many_headers_are_refused(server: ServerProcess) -> None:
    many = [b"X-H%d: a\r\n" % number for number in range(150)]
    with server.connect() as connection:
        connection.sendall(request("/healthz", *many))
        status, error = status_and_error(read_answer(connection))
    assert status == 431 and "at most 100 headers" in str(error["message"])
    with server.connect() as connection:
        connection.sendall(request("/healthz", *many[:50], b"Connection: close\r\n"))
        assert read_answer(connection).startswith(b"HTTP/1.1 200 ")


def _trickle(connection_bytes: bytes, server: ServerProcess) -> tuple[bytes, float, int]:
    """Send one byte every 0.25 s; return the answer, when it came, and the bytes sent."""
    started = time.monotonic()
    sent = 0
    with server.connect() as connection:
        connection.settimeout(0.25)
        answer = b""
        for byte in connection_bytes:
            try:
                connection.sendall(bytes([byte]))
                sent += 1
                answer = connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer or time.monotonic() - started > 20:
                break
        if answer:
            answer += read_answer(connection)
    return answer, time.monotonic() - started, sent


def test_headers_sent_a_byte_at_a_time_are_cut_off_after_the_timeout(
    server: ServerProcess,
) -> None:
    slow = request("/healthz", b"X-Slow: " + b"s" * 200 + b"\r\n")
    answer, took, sent = _trickle(slow, server)
    assert sent < len(slow)
    assert HEADER_TIMEOUT - 0.5 < took < HEADER_TIMEOUT + 5
    status, error = status_and_error(answer)
    assert status == 408 and "headers" in str(error["message"])


def test_a_connection_that_sends_nothing_is_closed(server: ServerProcess) -> None:
    started = time.monotonic()
    with server.connect() as connection:
        status, _ = status_and_error(read_answer(connection, timeout=HEADER_TIMEOUT + 5))
    assert status == 408 and time.monotonic() - started < HEADER_TIMEOUT + 5


def test_a_body_sent_a_byte_at_a_time_is_cut_off_with_408(server: ServerProcess) -> None:
    body = b'{"query": "{ me { id } }"}' + b" " * 200
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with server.connect() as connection:
        connection.sendall(head)  # the headers in time: only the body is slow
        started = time.monotonic()
        connection.settimeout(0.25)
        answer = b""
        for byte in body:
            try:
                connection.sendall(bytes([byte]))
                answer = connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer or time.monotonic() - started > 20:
                break
        took = time.monotonic() - started
        answer += read_answer(connection)
    assert BODY_TIMEOUT - 0.5 < took < BODY_TIMEOUT + 5
    status, error = status_and_error(answer)
    assert status == 408 and "body" in str(error["message"])
    assert error["extensions"]["requestId"]  # type: ignore[index]


def test_connections_beyond_the_cap_are_refused_while_normal_requests_work(
    server: ServerProcess,
) -> None:
    idle = [server.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)  # accepted by the server
        with server.connect() as extra:
            extra.sendall(request("/healthz"))
            answer = read_answer(extra)
        status, error = status_and_error(answer)
        assert status == 503 and b"retry-after: 1" in answer.lower()
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"  # type: ignore[index]
    finally:
        for connection in idle[:4]:
            connection.close()
    try:
        time.sleep(0.3)
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    finally:
        for connection in idle[4:]:
            connection.close()


async def _init_over_websocket(server: ServerProcess, padding: int) -> str | int:
    """connection_init padded to ``padding`` bytes: the server's first message type, or the
    close code it ended the connection with."""
    message = json.dumps({"type": "connection_init", "payload": {"pad": "x" * padding}})
    async with connect(
        server.url.replace("http", "ws") + "/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_size=None,
    ) as ws:
        await ws.send(message)
        try:
            answer: str = json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code
        return answer


async def test_a_websocket_message_is_capped_like_a_body(server: ServerProcess) -> None:
    # SECURITY.md: serve caps WebSocket messages at MAX_BODY_BYTES (uvicorn's own default is
    # 16 MiB). A message over it ends the connection with 1009, one under it is read.
    limit = get_settings().max_body_bytes
    assert await _init_over_websocket(server, limit + 1_000) == 1009  # message too big
    assert await _init_over_websocket(server, limit - 1_000) == "connection_ack"
