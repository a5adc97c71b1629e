"""Invitations where users are created: createUser without a password writes the link and
its mail in the user's transaction; with a password, or when the creation fails, none."""

from gql_portal.accounts.models import AccountLink, Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.notifications.models import Notification
from tests.accounts.links_helpers import NEW_PASSWORD, SET_PASSWORD, mailed_token
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.scim.helpers import auth, scim_token

CREATE = """
mutation($input: CreateUserInput!) { createUser(input: $input) { id email } }
"""


async def _admin_token(client: GraphQLClient) -> str:
    domain = await make_domain()
    admin = await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    token: str = (await client.login(admin.email, PASSWORD))["token"]
    return token


async def test_create_user_without_a_password_invites(client: GraphQLClient) -> None:
    token = await _admin_token(client)
    created = await client.execute(
        CREATE, {"input": {"email": "New.Person@x.example", "displayName": "New"}}, token=token
    )
    user = await User.get(id=int(created.ok()["createUser"]["id"]))
    link = await AccountLink.get(user_id=user.id)
    assert link.purpose == "INVITATION"
    mail = await Notification.get(user_id=user.id)
    assert (mail.kind, mail.recipient, mail.domain_id) == ("INVITATION", user.email, user.domain_id)
    event = await AuditEvent.get(action="USER_CREATED", target_id=user.id)
    assert event.details is not None and event.details["invited"] is True
    # The invited user cannot log in until the link sets a password; then they can.
    refused = await client.execute(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status } }",
        {"e": user.email, "p": NEW_PASSWORD},
    )
    assert refused.code == "INVALID_CREDENTIALS"
    invitation = await mailed_token(user, "INVITATION")
    (await client.execute(SET_PASSWORD, {"token": invitation, "password": NEW_PASSWORD})).ok()
    assert (await client.login(user.email, NEW_PASSWORD))["status"] == "AUTHENTICATED"


async def test_create_user_with_a_password_or_refused_invites_nobody(
    client: GraphQLClient,
) -> None:
    token = await _admin_token(client)
    with_password = {"email": "pw@x.example", "password": "a-long-enough-password"}
    (await client.execute(CREATE, {"input": with_password}, token=token)).ok()
    duplicate = await client.execute(CREATE, {"input": {"email": "PW@x.example"}}, token=token)
    assert duplicate.code == "BAD_USER_INPUT"
    assert not await AccountLink.exists()
    assert not await Notification.filter(kind="INVITATION").exists()


async def test_a_scim_created_user_is_invited(client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "grace@example.org",
        "displayName": "Grace Hopper",
        "active": True,
    }
    created = await client.http.post("/scim/v2/Users", headers=auth(token), json=body)
    assert created.status_code == 201, created.text
    user = await User.get(id=int(created.json()["id"]))
    assert (await AccountLink.get(user_id=user.id)).purpose == "INVITATION"
    mail = await Notification.get(user_id=user.id)
    assert (mail.kind, mail.recipient) == ("INVITATION", "grace@example.org")
    # The same userName again is refused (409) and invites nobody more.
    again = await client.http.post("/scim/v2/Users", headers=auth(token), json=body)
    assert again.status_code == 409
    assert await Notification.filter(kind="INVITATION").count() == 1
