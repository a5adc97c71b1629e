"""SCIM tokens for tests, and scim2-client's own ASGI client against the app."""

from typing import Any

from scim2_client.engines.asgi import ASGISCIMClient
from scim2_models import ScimProvider, User
from starlette.applications import Starlette

from gql_portal.accounts.models import Domain, Role
from gql_portal.request_meta import SYSTEM
from gql_portal.scim.tokens import create_token
from tests.factories import make_user

BASE_URL = "http://testserver/scim/v2"
SCIM_JSON = "application/scim+json"


async def scim_token(domain: Domain) -> str:
    admin = await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    return (await create_token(actor=admin, label="Okta", meta=SYSTEM)).token


def scim_client(app: Starlette, token: str, **options: Any) -> ASGISCIMClient:
    return ASGISCIMClient(
        app,
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {token}"},
        provider=ScimProvider(models=[User]),
        **options,
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
