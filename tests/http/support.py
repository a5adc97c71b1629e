"""Apps with their own settings, and a user who is half-way through the second factor."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from cryptography.fernet import Fernet
from starlette.applications import Starlette

from gql_portal.accounts.models import User
from gql_portal.api.view import GraphQLView
from gql_portal.app import create_app
from gql_portal.settings import Settings, get_settings
from tests.factories import PASSWORD, code_for, make_domain, make_user, secret_from_uri
from tests.graphql import GraphQLClient

BEGIN = "mutation { beginTotpEnrollment { otpauthUri } }"
CONFIRM = "mutation($code: String!) { confirmTotpEnrollment(code: $code) { status token } }"
VERIFY = "mutation($code: String!) { verifyTotp(code: $code) { status token } }"


def settings_with(**changes: Any) -> Settings:
    """The test settings (database, data folder) with a few values changed."""
    return get_settings().model_copy(update=changes)


def production_settings(**changes: Any) -> Settings:
    return settings_with(
        environment="production",
        encryption_keys=Fernet.generate_key().decode(),
        smtp_url="smtp://127.0.0.1:25",  # production needs one; these tests send nothing
        **changes,
    )


def graphql_view(app: Starlette) -> GraphQLView:
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(endpoint, GraphQLView):
            return endpoint
    raise AssertionError("no GraphQL route")


@contextlib.asynccontextmanager
async def client_for(app: Starlette) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


@contextlib.asynccontextmanager
async def client_with(**changes: Any) -> AsyncIterator[GraphQLClient]:
    async with client_for(create_app(settings_with(**changes), manage_database=False)) as client:
        yield client


async def enrolled_user_with_pending_token(client: GraphQLClient) -> tuple[User, str, str]:
    """An enrolled user logged in again: (user, TOTP secret, TOTP_REQUIRED token)."""
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    first = await client.login(user.email, PASSWORD)
    assert first["status"] == "ENROLLMENT_REQUIRED"
    begun = (await client.execute(BEGIN, token=first["token"])).ok()
    secret = secret_from_uri(begun["beginTotpEnrollment"]["otpauthUri"])
    confirmed = await client.execute(CONFIRM, {"code": code_for(secret)}, token=first["token"])
    assert confirmed.ok()["confirmTotpEnrollment"]["status"] == "AUTHENTICATED"
    again = await client.login(user.email, PASSWORD)
    assert again["status"] == "TOTP_REQUIRED"
    return user, secret, again["token"]


async def code_failures(user: User) -> int:
    await user.refresh_from_db(fields=["code_failures"])
    return user.code_failures
