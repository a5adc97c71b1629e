"""WebSocket (graphql-transport-ws) holds to the same rules as HTTP: each operation meets
the session as it is now, errors carry contract codes, and only subscriptions run there."""

import asyncio
from typing import Any

from httpx_ws import AsyncWebSocketSession
from starlette.applications import Starlette

from gql_portal.accounts.models import Role
from gql_portal.bulk.models import BulkJob
from gql_portal.clock import utcnow
from tests.bulk.api import sign_in
from tests.bulk.test_subscription import websocket
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.two_factor.test_pending_gate import REFUSAL, refusal

WATCH = "subscription Watch($id: ID!) { bulkJob(id: $id) { id status } }"
ENABLE = "mutation($id: ID!) { enableUserTwoFactor(userId: $id) { id } }"


async def _init(ws: AsyncWebSocketSession, token: str) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await ws.receive_json())["type"] == "connection_ack"


async def _send(
    ws: AsyncWebSocketSession, op_id: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    payload = {"query": query, "variables": variables or {}}
    await ws.send_json({"id": op_id, "type": "subscribe", "payload": payload})
    return dict(await asyncio.wait_for(ws.receive_json(), timeout=10))


async def _queued_job(domain_id: int) -> BulkJob:
    return await BulkJob.create(
        domain_id=domain_id, status="QUEUED", active_domain_id=domain_id, created_at=utcnow()
    )


async def test_queries_and_mutations_are_refused_over_websocket(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    async with websocket(app) as ws:
        await _init(ws, token)
        for op_id, query in [("q", "{ me { email } }"), ("m", "mutation { logout }")]:
            answer = await _send(ws, op_id, query)
            assert answer["type"] == "error"
            assert answer["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        broken = await _send(ws, "s", "subscription { bulkJob(")
        assert broken["type"] == "error"
        assert broken["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # The refused logout did not run: the token still works over HTTP.
    assert (await client.execute("{ me { email } }", token=token)).ok()["me"]


async def test_a_subscription_after_logout_is_unauthenticated(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    job = await _queued_job(domain.id)
    async with websocket(app) as ws:
        await _init(ws, token)
        first = await _send(ws, "1", WATCH, {"id": str(job.id)})
        assert first["payload"]["data"]["bulkJob"]["status"] == "QUEUED"
        assert (await client.execute("mutation { logout }", token=token)).ok()["logout"]
        # The running subscription ends at its next poll ...
        ended = await asyncio.wait_for(ws.receive_json(), timeout=10)
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        # ... and a new one on the same connection is refused.
        again = await _send(ws, "2", WATCH, {"id": str(job.id)})
        while again["type"] == "complete":
            again = dict(await asyncio.wait_for(ws.receive_json(), timeout=10))
        assert again["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_session_sent_through_the_gate_loses_its_subscription(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    admin_token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    auditor = await make_user(domain, roles=[Role.AUDITOR])
    auditor_token = (await client.login(auditor.email, "a-long-test-password"))["token"]
    job = await _queued_job(domain.id)
    async with websocket(app) as ws:
        await _init(ws, auditor_token)
        first = await _send(ws, "1", WATCH, {"id": str(job.id)})
        assert first["payload"]["data"]["bulkJob"]["status"] == "QUEUED"
        enabled = await client.execute(ENABLE, {"id": str(auditor.id)}, token=admin_token)
        assert not enabled.errors
        ended = await asyncio.wait_for(ws.receive_json(), timeout=10)
        # The same refusal as on every other path (tests/two_factor/test_pending_gate.py).
        assert [refusal(error) for error in ended["payload"]["errors"]] == [REFUSAL]


async def test_a_subscription_over_http_is_refused(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    job = await _queued_job(domain.id)
    result = await client.execute(WATCH, {"id": str(job.id)}, token=token)
    assert result.codes and result.codes[0] == "BAD_USER_INPUT"
