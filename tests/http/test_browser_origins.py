"""Other origins against a real ``gql-portal serve`` (real HTTP and WebSocket clients):
CORS for the listed origins with bearer tokens only, and the cookie only from the server's
own origin, over HTTP and over the WebSocket."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from gql_portal.accounts.models import Role
from gql_portal.bulk.models import BulkJob
from gql_portal.clock import utcnow
from tests.database import TestDatabase
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import LOGIN
from tests.http.server_process import ServerProcess, read_answer

FRONTEND = "http://localhost:5173"  # listed in GQL_PORTAL_CORS_ORIGINS
EVIL = "http://evil.example"
WATCH = "subscription Watch($id: ID!) { bulkJob(id: $id) { id status } }"


@pytest.fixture(scope="module")
def server(
    database: TestDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("cors") / "serve.log"
    process = ServerProcess(database, log, cors_origins=f"{FRONTEND}, https://app.example")
    yield process
    process.stop()


def own(server: ServerProcess) -> str:
    return server.url  # http://127.0.0.1:<port>


async def _admin(server: ServerProcess, *, cookie: bool) -> tuple[int, str]:
    """A security admin signed in over HTTP: (domain id, bearer token or cookie value)."""
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    headers = {"X-Session-Transport": "cookie", "Origin": own(server)} if cookie else {}
    async with httpx.AsyncClient(base_url=server.url) as http:
        body = {"query": LOGIN, "variables": {"email": user.email, "password": PASSWORD}}
        response = await http.post("/graphql", json=body, headers=headers)
    login = response.json()["data"]["login"]
    credential = response.cookies["gqlp_session"] if cookie else login["token"]
    return domain.id, credential


async def test_preflight_answers_listed_origins_only(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        for path, methods in [("/graphql", "GET, POST"), ("/audit/export", "GET")]:
            ok = await http.options(
                path,
                headers={
                    "Origin": FRONTEND,
                    "Access-Control-Request-Method": "POST" if path == "/graphql" else "GET",
                    "Access-Control-Request-Headers": "authorization, content-type",
                },
            )
            assert ok.status_code == 204
            assert ok.headers["access-control-allow-origin"] == FRONTEND
            assert ok.headers["access-control-allow-methods"] == methods
            allowed = ok.headers["access-control-allow-headers"].lower()
            assert allowed == "authorization, content-type"  # not X-Session-Transport
            assert ok.headers["vary"] == "Origin"
            assert "access-control-allow-credentials" not in ok.headers
        for origin in [EVIL, "http://localhost:5174", "http://LOCALHOST:5173.evil.example", "null"]:
            refused = await http.options(
                "/graphql", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
            )
            assert refused.status_code == 403
            assert "access-control-allow-origin" not in refused.headers


async def test_listed_origins_read_bearer_answers(server: ServerProcess) -> None:
    _, token = await _admin(server, cookie=False)
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        me = await http.post(
            "/graphql", json={"query": "{ me { email } }"}, headers={**bearer, "Origin": FRONTEND}
        )
        assert me.json()["data"]["me"]["email"]
        assert me.headers["access-control-allow-origin"] == FRONTEND
        assert "x-request-id" in me.headers["access-control-expose-headers"].lower()
        assert me.headers["vary"] == "Origin"
        assert "access-control-allow-credentials" not in me.headers
        export = await http.get("/audit/export", headers={**bearer, "Origin": FRONTEND})
        assert export.status_code == 200
        assert export.headers["access-control-allow-origin"] == FRONTEND
        unlisted = await http.post(
            "/graphql", json={"query": "{ me { email } }"}, headers={**bearer, "Origin": EVIL}
        )
        assert "access-control-allow-origin" not in unlisted.headers  # the browser hides it
        assert unlisted.headers["vary"] == "Origin"
        # Not a CORS path: no CORS headers at all.
        health = await http.get("/healthz", headers={"Origin": FRONTEND})
        assert "access-control-allow-origin" not in health.headers


async def test_a_cookie_from_a_listed_origin_never_authenticates(server: ServerProcess) -> None:
    _, cookie = await _admin(server, cookie=True)
    async with httpx.AsyncClient(base_url=server.url) as http:
        for origin in [FRONTEND, EVIL]:
            response = await http.post(
                "/graphql",
                json={"query": "{ me { email } }"},
                headers={
                    "Origin": origin,
                    "X-Session-Transport": "cookie",
                    "Cookie": f"gqlp_session={cookie}",
                },
            )
            assert response.status_code == 403
            assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        mine = await http.post(
            "/graphql",
            json={"query": "{ me { email } }"},
            headers={
                "Origin": own(server),
                "Sec-Fetch-Site": "same-origin",
                "X-Session-Transport": "cookie",
                "Cookie": f"gqlp_session={cookie}",
            },
        )
        assert mine.json()["data"]["me"]["email"]


@asynccontextmanager
async def socket(
    server: ServerProcess, origin: str | None, cookie: str | None = None
) -> AsyncIterator[ClientConnection]:
    headers = {"Cookie": f"gqlp_session={cookie}"} if cookie else {}
    async with connect(
        server.url.replace("http", "ws") + "/graphql",
        origin=origin,  # type: ignore[arg-type]
        additional_headers=headers,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        yield ws


async def _watch(ws: ClientConnection, job_id: int, params: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "connection_init", "payload": params}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    payload = {"query": WATCH, "variables": {"id": str(job_id)}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    answer: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    return answer


async def _job(domain_id: int) -> int:
    job = await BulkJob.create(
        domain_id=domain_id, status="QUEUED", active_domain_id=domain_id, created_at=utcnow()
    )
    return job.id


def _code(answer: dict[str, Any]) -> str | None:
    errors = answer["payload"].get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def test_websockets_from_listed_origins_use_the_bearer(server: ServerProcess) -> None:
    domain_id, token = await _admin(server, cookie=False)
    job_id = await _job(domain_id)
    async with socket(server, FRONTEND) as ws:
        answer = await _watch(ws, job_id, {"Authorization": f"Bearer {token}"})
        assert answer["payload"]["data"]["bulkJob"]["status"] == "QUEUED"
    with pytest.raises(InvalidStatus) as refused:
        async with socket(server, EVIL):
            pass
    assert refused.value.response.status_code == 403


async def test_websocket_cookie_only_from_the_own_origin(server: ServerProcess) -> None:
    domain_id, cookie = await _admin(server, cookie=True)
    job_id = await _job(domain_id)
    async with socket(server, own(server), cookie) as ws:
        answer = await _watch(ws, job_id, {})
        assert answer["payload"]["data"]["bulkJob"]["status"] == "QUEUED"
    # A listed origin's page, or a client without Origin: the cookie does not count.
    for origin in [FRONTEND, None]:
        async with socket(server, origin, cookie) as ws:
            assert _code(await _watch(ws, job_id, {})) == "FORBIDDEN"
    # A bearer in connection_init wins over the cookie, also a bad one.
    async with socket(server, own(server), cookie) as ws:
        answer = await _watch(ws, job_id, {"Authorization": "Bearer gqlp_not-a-token"})
        assert _code(answer) == "UNAUTHENTICATED"
    with pytest.raises(InvalidStatus):
        async with socket(server, EVIL, cookie):
            pass


async def test_a_raw_cross_site_form_post_changes_nothing(server: ServerProcess) -> None:
    """What a hostile page's <form method=post enctype=text/plain> makes a browser send."""
    _, cookie = await _admin(server, cookie=True)
    body = b'{"query": "mutation { logout }", "x": "="}'
    for extra in [b"", b"X-Session-Transport: cookie\r\n"]:
        request = (
            b"POST /graphql HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{server.port}\r\n".encode()
            + b"Origin: http://evil.example\r\nSec-Fetch-Site: cross-site\r\n"
            + b"Sec-Fetch-Mode: navigate\r\nContent-Type: text/plain\r\n"
            + f"Cookie: gqlp_session={cookie}\r\n".encode()
            + extra
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        with server.connect() as connection:
            connection.sendall(request)
            answer = read_answer(connection)
        assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
        assert b'"FORBIDDEN"' in answer and b"set-cookie" not in answer.lower()
    async with httpx.AsyncClient(base_url=server.url) as http:
        still = await http.post(
            "/graphql",
            json={"query": "{ me { email } }"},
            headers={"X-Session-Transport": "cookie", "Cookie": f"gqlp_session={cookie}"},
        )
    assert still.json()["data"]["me"]["email"]
