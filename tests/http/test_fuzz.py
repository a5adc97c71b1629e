"""Schemathesis generates documents from the schema; the app must never fail or mask an error.

Hypothesis runs in a worker thread and sends each case through the ASGI app on the test's
event loop, so the run shares the test database on SQLite and PostgreSQL alike.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from gql_portal.accounts.models import Role
from gql_portal.api.schema import build_schema
from gql_portal.errors import ErrorCode
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient

CONTRACT_CODES = {code.value for code in ErrorCode} - {"INTERNAL_SERVER_ERROR"}
EXAMPLES = 60


def fuzz_schema() -> Any:
    return schemathesis.graphql.from_dict(dict(build_schema().introspect()))


def run_cases(
    loop: asyncio.AbstractEventLoop, send: Callable[[str], Awaitable[tuple[int, dict[str, Any]]]]
) -> None:
    cases = fuzz_schema().as_strategy(generation_mode=GenerationMode.POSITIVE)
    answered: list[bool] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def check(case: Any) -> None:
        query = case.body
        status, body = asyncio.run_coroutine_threadsafe(send(query), loop).result(timeout=60)
        answered.append(body.get("data") is not None)
        assert status < 500, (query, body)
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code in CONTRACT_CODES, (query, error)

    check()
    # The run must have reached the resolvers, not only the validation rules.
    assert len(answered) >= EXAMPLES and any(answered), answered


async def fuzz(client: GraphQLClient, login: Callable[[], Awaitable[str]]) -> None:
    async def send(query: str) -> tuple[int, dict[str, Any]]:
        # A fresh session per case: a generated logout or reset must not end the run.
        token = await login()
        response = await client.http.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.json()

    await asyncio.to_thread(run_cases, asyncio.get_running_loop(), send)


async def test_fuzz_with_a_full_session(client: GraphQLClient) -> None:
    domain = await make_domain()
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR])
    await make_user(domain)

    async def login() -> str:
        payload = await client.login(admin.email, PASSWORD)
        return str(payload["token"])

    await fuzz(client, login)


async def test_fuzz_with_a_pending_session(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, roles=[Role.SECURITY_ADMIN], two_factor_enabled=True)

    async def login() -> str:
        payload = await client.login(user.email, PASSWORD)
        return str(payload["token"])

    await fuzz(client, login)
