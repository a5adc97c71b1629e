"""One pending-token gate on every path (CONTRACT 3.2 and 3.6): a GraphQL query, a mutation,
the export and the subscription refuse a pending token with the same code, message and step,
and change nothing. (A running subscription meets it at its next poll: test_websocket.py.)"""

import asyncio
from typing import Any

from starlette.applications import Starlette

from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.models import BulkJob
from gql_portal.clock import utcnow
from tests.bulk.test_subscription import _subscribe, websocket
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient

REFUSAL = {
    "message": "Complete two-factor authentication first",
    "code": "TWO_FACTOR_REQUIRED",
    "status": "ENROLLMENT_REQUIRED",
}
QUERIES = [
    "{ users { edges { node { email } } } }",
    "{ auditEvents { edges { node { id } } } }",
    "{ bulkJobs { edges { node { id } } } }",
]
MUTATIONS = [
    "mutation { setDomainTwoFactor(enabled: false) { twoFactorEnabled } }",
    "mutation { startBulkTwoFactorEnablement { id } }",
    # Open without a token, but not to a pending one: it must finish its step first.
    'mutation { login(email: "a@b.example", password: "x") { status } }',
]


def refusal(error: dict[str, Any]) -> dict[str, Any]:
    extensions = error["extensions"]
    return {"message": error["message"], "code": extensions["code"], "status": extensions["status"]}


async def _pending_admin(client: GraphQLClient) -> tuple[Domain, str]:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN], two_factor_enabled=True)
    payload = await client.login(admin.email, PASSWORD)
    assert payload["status"] == "ENROLLMENT_REQUIRED"
    token: str = payload["token"]
    return domain, token


async def test_queries_and_mutations_refuse_a_pending_token_alike(client: GraphQLClient) -> None:
    domain, token = await _pending_admin(client)
    events = await AuditEvent.filter(domain_id=domain.id).count()
    for document in QUERIES + MUTATIONS:
        result = await client.execute(document, token=token)
        assert [refusal(error) for error in result.errors] == [REFUSAL], document
    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    assert rules.two_factor_enabled and not await BulkJob.filter(domain_id=domain.id).exists()
    assert await AuditEvent.filter(domain_id=domain.id).count() == events


async def test_the_export_refuses_a_pending_token_alike(client: GraphQLClient) -> None:
    _, token = await _pending_admin(client)
    for format in ("csv", "ndjson"):
        response = await client.http.get(
            f"/audit/export?format={format}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 403
        assert [refusal(error) for error in response.json()["errors"]] == [REFUSAL]


async def _subscription_errors(ws: Any) -> list[dict[str, Any]]:
    message = await asyncio.wait_for(ws.receive_json(), timeout=10)
    assert message["type"] in {"next", "error"}, message
    payload = message["payload"]
    return list(payload if message["type"] == "error" else payload["errors"])


async def test_the_subscription_refuses_a_pending_token_alike(
    client: GraphQLClient, app: Starlette
) -> None:
    domain, token = await _pending_admin(client)
    job = await BulkJob.create(domain_id=domain.id, status="FAILED", created_at=utcnow())
    async with websocket(app) as ws:
        await _subscribe(ws, token, str(job.id))
        assert [refusal(error) for error in await _subscription_errors(ws)] == [REFUSAL]
