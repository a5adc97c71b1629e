"""Documents and sign-ins shared by the user-management and own-account tests."""

from typing import Any

from gql_portal.accounts.models import Domain, Role, User
from gql_portal.audit.models import AuditEvent
from tests.factories import PASSWORD, make_user
from tests.graphql import GraphQLClient

USER_FIELDS = "id email displayName roles active deactivatedAt loginLockedUntil externalId"
CREATE = f"mutation($input: CreateUserInput!) {{ createUser(input: $input) {{ {USER_FIELDS} }} }}"
UPDATE = (
    "mutation($id: ID!, $input: UpdateUserInput!) {"
    f" updateUser(userId: $id, input: $input) {{ {USER_FIELDS} }} }}"
)
DEACTIVATE = f"mutation($id: ID!) {{ deactivateUser(userId: $id) {{ {USER_FIELDS} }} }}"
REACTIVATE = f"mutation($id: ID!) {{ reactivateUser(userId: $id) {{ {USER_FIELDS} }} }}"
UNLOCK = f"mutation($id: ID!) {{ unlockUserLogin(userId: $id) {{ {USER_FIELDS} }} }}"
ME = "{ me { email } }"


async def signed_in(client: GraphQLClient, domain: Domain, *roles: Role) -> tuple[User, str]:
    user = await make_user(domain, roles=list(roles) or [Role.USER])
    return user, (await client.login(user.email, PASSWORD))["token"]


async def events(domain: Domain, action: str) -> list[AuditEvent]:
    return await AuditEvent.filter(domain_id=domain.id, action=action).order_by("id")


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    extensions: dict[str, Any] = errors[0]["extensions"]
    return extensions
