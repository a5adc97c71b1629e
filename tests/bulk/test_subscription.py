import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from gql_portal.accounts.models import Role
from gql_portal.bulk.models import BulkJob
from gql_portal.bulk.runner import run_bulk_job
from gql_portal.clock import utcnow
from tests.bulk.api import sign_in
from tests.bulk.helpers import make_many_users
from tests.factories import make_domain
from tests.graphql import GraphQLClient

PROTOCOL = "graphql-transport-ws"
SUBSCRIBE = "subscription Watch($id: ID!) { bulkJob(id: $id) { id status processed progress } }"


@contextlib.asynccontextmanager
async def websocket(app: Starlette) -> AsyncIterator[AsyncWebSocketSession]:
    # Opened and closed inside the test's task: the transport's cancel scopes require it.
    transport = ASGIWebSocketTransport(app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        aconnect_ws("http://testserver/graphql", http, subprotocols=[PROTOCOL]) as ws,
    ):
        yield ws


async def _subscribe(ws: AsyncWebSocketSession, token: str | None, job_id: str) -> None:
    params = {"Authorization": f"Bearer {token}"} if token else {}
    await ws.send_json({"type": "connection_init", "payload": params})
    assert (await ws.receive_json())["type"] == "connection_ack"
    payload = {"query": SUBSCRIBE, "variables": {"id": job_id}}
    await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})


async def _messages_until_done(ws: AsyncWebSocketSession) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        message = await asyncio.wait_for(ws.receive_json(), timeout=20)
        messages.append(message)
        if message["type"] in {"complete", "error"}:
            return messages


async def test_the_subscription_pushes_progress_until_the_job_ends(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    await make_many_users(domain, 30)
    job = await BulkJob.create(
        domain_id=domain.id,
        status="QUEUED",
        active_domain_id=domain.id,
        created_at=utcnow(),
        total=30,
        user_filter={"roles": ["USER"]},
    )

    async def slowly(_: BulkJob) -> None:
        await asyncio.sleep(0.7)  # longer than the subscription's poll

    async with websocket(app) as ws:
        await _subscribe(ws, token, str(job.id))
        first = await asyncio.wait_for(ws.receive_json(), timeout=10)
        assert first["payload"]["data"]["bulkJob"]["status"] == "QUEUED"
        runner = asyncio.create_task(run_bulk_job(job.id, chunk_size=10, on_progress=slowly))
        messages = await _messages_until_done(ws)
        await runner
    assert messages[-1] == {"id": "1", "type": "complete"}
    pushed = [message["payload"]["data"]["bulkJob"] for message in messages[:-1]]
    progress = [job["progress"] for job in pushed]
    assert progress == sorted(progress) and any(0 < value < 1 for value in progress)
    assert pushed[-1]["status"] == "SUCCEEDED" and pushed[-1]["processed"] == 30


async def test_the_subscription_needs_a_token_and_the_own_domain(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    job = await BulkJob.create(domain_id=domain.id, status="FAILED", created_at=utcnow())
    outsider = await sign_in(client, await make_domain(), Role.SECURITY_ADMIN)
    user = await sign_in(client, domain, Role.USER)
    for token, code in ((None, "UNAUTHENTICATED"), (outsider, "NOT_FOUND"), (user, "FORBIDDEN")):
        async with websocket(app) as ws:
            await _subscribe(ws, token, str(job.id))
            messages = await _messages_until_done(ws)
        assert messages[0]["type"] in {"error", "next"}, messages
        first = messages[0]["payload"]
        errors = first if messages[0]["type"] == "error" else first["errors"]
        assert [error["extensions"]["code"] for error in errors] == [code]
