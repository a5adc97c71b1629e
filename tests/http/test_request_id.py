"""A client's X-Request-ID is kept only when it is a short token of safe characters
(8 to 64 of A-Z a-z 0-9 . _ -); anything else is replaced by a fresh id, everywhere the
id goes: the response header, audit rows (fast path, strawberry's view, WebSocket), error
extensions and log lines."""

import asyncio
import io
import json
import re
from typing import Any

import pytest
from starlette.applications import Starlette

from gql_portal.accounts.models import Role, User
from gql_portal.audit.models import AuditEvent
from tests.audit.helpers import signed_in
from tests.factories import make_domain, make_user
from tests.graphql import LOGIN, GraphQLClient
from tests.http.support import client_for
from tests.http.test_errors import broken_app

FRESH = re.compile(r"[0-9a-f]{16}")
KEPT = ["req-12345678", "A1b2.C3d4_e5-F6", "x" * 64]
REPLACED = [
    "abcdefgh\n",  # a regex anchored with $ lets one trailing newline through
    "abcdefgh\r",
    "x" * 65,
    "short",
    "has a space",
    "abc\x00defgh",
    "caf\xe9-12345",
    "abcdefgh;x=1",
    "",
]


async def _login_failure_row(client: GraphQLClient, request_id: str) -> tuple[str, str | None]:
    """A refused login (the fast path): the echoed id and the id on its audit row. The
    account exists: refusals of unknown emails write no audit row."""
    if not await User.filter(email="known@ids.example").exists():
        await make_user(await make_domain(), email="known@ids.example")
    response = await client.http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": "known@ids.example", "password": "wrong"}},
        headers={"X-Request-ID": request_id.encode("latin-1")},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    event = await AuditEvent.filter(action="LOGIN_FAILED").order_by("-id").first()
    assert event is not None
    return response.headers["x-request-id"], event.request_id


@pytest.mark.parametrize("request_id", KEPT)
async def test_a_safe_client_id_is_kept(client: GraphQLClient, request_id: str) -> None:
    assert await _login_failure_row(client, request_id) == (request_id, request_id)


@pytest.mark.parametrize("request_id", REPLACED, ids=repr)
async def test_an_unsafe_client_id_is_replaced_on_the_fast_path(
    client: GraphQLClient, request_id: str
) -> None:
    echoed, stored = await _login_failure_row(client, request_id)
    assert FRESH.fullmatch(echoed), echoed
    assert stored == echoed


@pytest.mark.parametrize("request_id", REPLACED, ids=repr)
async def test_an_unsafe_client_id_is_replaced_in_the_view(
    client: GraphQLClient, request_id: str
) -> None:
    """A GET goes through strawberry's view, not the fast path; ACCESS_DENIED keeps the id."""
    domain = await make_domain()
    viewer, token = await signed_in(client, domain, Role.USER)
    response = await client.http.get(
        "/graphql",
        params={"query": "{ users { edges { cursor } } }"},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id.encode("latin-1")},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    echoed = response.headers["x-request-id"]
    assert FRESH.fullmatch(echoed), echoed
    event = await AuditEvent.get(action="ACCESS_DENIED", actor_id=viewer.id)
    assert event.request_id == echoed


async def _websocket_conversation(
    app: Starlette, request_id: str, token: str, subscribe: dict[str, object]
) -> dict[str, Any]:
    """graphql-transport-ws spoken to the app in raw ASGI messages: a WebSocket client
    library (h11) refuses to send a header value with a newline, a hostile proxy may not."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"sec-websocket-protocol", b"graphql-transport-ws"),
            (b"x-request-id", request_id.encode("latin-1")),
        ],
        "subprotocols": ["graphql-transport-ws"],
        "client": ("203.0.113.7", 50000),
        "server": ("testserver", 80),
    }

    async def next_text() -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(outbox.get(), timeout=10)
            if message["type"] == "websocket.send":
                return dict(json.loads(message["text"]))
            assert message["type"] == "websocket.accept", message

    served = asyncio.create_task(app(scope, inbox.get, outbox.put))
    try:
        await inbox.put({"type": "websocket.connect"})
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await inbox.put({"type": "websocket.receive", "text": json.dumps(init)})
        assert (await next_text())["type"] == "connection_ack"
        message = {"id": "1", "type": "subscribe", "payload": subscribe}
        await inbox.put({"type": "websocket.receive", "text": json.dumps(message)})
        return await next_text()
    finally:
        await inbox.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(served, timeout=10)


@pytest.mark.parametrize("request_id", ["abcdefgh\n", "x" * 65, "has a space", "kept-12345"])
async def test_the_websocket_path_checks_the_id_too(
    client: GraphQLClient, app: Starlette, request_id: str
) -> None:
    domain = await make_domain()
    viewer, token = await signed_in(client, domain, Role.USER)
    job = "00000000-0000-0000-0000-000000000000"
    answer = await _websocket_conversation(
        app, request_id, token, {"query": f'subscription {{ bulkJob(id: "{job}") {{ id }} }}'}
    )
    assert answer["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN", answer
    event = await AuditEvent.get(action="ACCESS_DENIED", actor_id=viewer.id)
    if request_id == "kept-12345":
        assert event.request_id == request_id
    else:
        assert event.request_id is not None and FRESH.fullmatch(event.request_id)


@pytest.mark.parametrize("request_id", ["abcdefgh\n", "y" * 500], ids=repr)
async def test_log_lines_and_error_extensions_carry_the_replacement(
    log_lines: io.StringIO, request_id: str
) -> None:
    async with client_for(broken_app()) as client:
        result = await client.execute(
            "{ broken }", headers={"X-Request-ID": request_id.encode("latin-1")}
        )
    echoed = result.headers["x-request-id"]
    assert FRESH.fullmatch(echoed), echoed
    assert result.errors[0]["extensions"]["requestId"] == echoed
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    served = [line for line in lines if not line["logger"].startswith("httpx")]
    assert served and {line["request_id"] for line in served} == {echoed}
