"""A password change and a deactivation each tell the user once, in their transaction."""

from gql_portal.accounts.models import Role
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.notifications.helpers import kinds_for, rows
from tests.two_factor.helpers import admin_token, login

CHANGE = (
    "mutation($current: String!, $new: String!) "
    "{ changePassword(currentPassword: $current, newPassword: $new) }"
)
DEACTIVATE = "mutation($id: ID!) { deactivateUser(userId: $id) { id active } }"
REACTIVATE = "mutation($id: ID!) { reactivateUser(userId: $id) { id active } }"


async def test_a_password_change_tells_the_user_and_a_refused_one_does_not(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    token = (await login(client, user.email))["token"]
    refused = await client.execute(
        CHANGE, {"current": "not-my-password", "new": "a-brand-new-password"}, token=token
    )
    assert refused.code == "BAD_USER_INPUT"
    assert await rows() == []
    changed = await client.execute(
        CHANGE, {"current": PASSWORD, "new": "a-brand-new-password"}, token=token
    )
    assert changed.ok()["changePassword"] is True
    [row] = await rows()
    assert (row.kind, row.recipient, row.params) == (
        "PASSWORD_CHANGED",
        user.email,
        {"ip": "203.0.113.7"},
    )
    for stored in await rows():
        assert "a-brand-new-password" not in repr(stored.params)


async def test_a_deactivation_tells_the_user_once_and_names_the_administrator(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    admin, token = await admin_token(client, domain, roles=[Role.SYSTEM_ADMIN])
    await make_user(domain, roles=[Role.SYSTEM_ADMIN])  # not the last one either way
    user = await make_user(domain)
    for mutation in (DEACTIVATE, DEACTIVATE, REACTIVATE):  # the repeat and a reactivation: none
        (await client.execute(mutation, {"id": str(user.id)}, token=token)).ok()
    assert await kinds_for(user.id) == ["ACCOUNT_DEACTIVATED"]
    [row] = await rows()
    assert row.params == {"byName": None, "byEmail": admin.email}
    # Another domain's user is NOT_FOUND and tells no one.
    stranger = await make_user(await make_domain())
    refused = await client.execute(DEACTIVATE, {"id": str(stranger.id)}, token=token)
    assert refused.code == "NOT_FOUND"
    assert len(await rows()) == 1
