"""createScimToken / scimTokens / revokeScimToken: SYSTEM_ADMIN only, shown once, stored as a
hash, scoped to the domain, audited with details.via "graphql"."""

import hashlib

import pytest

from gql_portal.accounts.models import Role
from gql_portal.audit.models import AuditEvent
from gql_portal.scim.models import ScimToken
from tests.audit.helpers import signed_in
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.scim.helpers import auth

CREATE = "mutation($label: String!) { createScimToken(label: $label) }"
LIST = "{ scimTokens { id label createdAt createdByEmail lastUsedAt revokedAt } }"
REVOKE = "mutation($id: ID!) { revokeScimToken(id: $id) { id label revokedAt } }"


async def test_a_token_is_shown_once_stored_as_its_hash_and_listed(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    admin, session = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    token = (await client.execute(CREATE, {"label": " Okta "}, token=session)).ok()[
        "createScimToken"
    ]
    assert token.startswith("gqlps_") and len(token) > 40
    record = await ScimToken.get(domain_id=domain.id)
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(await ScimToken.all().values())
    listed = (await client.execute(LIST, token=session)).ok()["scimTokens"]
    assert [(item["label"], item["createdByEmail"], item["revokedAt"]) for item in listed] == [
        ("Okta", admin.email, None)
    ]
    assert listed[0]["lastUsedAt"] is None
    response = await client.http.get("/scim/v2/Users", headers=auth(token))
    assert response.status_code == 200
    listed = (await client.execute(LIST, token=session)).ok()["scimTokens"]
    assert listed[0]["lastUsedAt"] is not None
    event = await AuditEvent.get(action="SCIM_TOKEN_CREATED")
    assert event.actor_id == admin.id and event.domain_id == domain.id
    assert event.details == {"via": "graphql", "tokenId": record.id, "label": "Okta"}
    assert token not in str(event.details)


async def test_a_revoked_token_answers_401_and_revoking_again_changes_nothing(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    _, session = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    token = (await client.execute(CREATE, {"label": "Entra"}, token=session)).ok()[
        "createScimToken"
    ]
    token_id = (await client.execute(LIST, token=session)).ok()["scimTokens"][0]["id"]
    revoked = (await client.execute(REVOKE, {"id": token_id}, token=session)).ok()
    assert revoked["revokeScimToken"]["revokedAt"] is not None
    response = await client.http.get("/scim/v2/Users", headers=auth(token))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert response.json()["status"] == "401"
    again = (await client.execute(REVOKE, {"id": token_id}, token=session)).ok()
    assert again["revokeScimToken"]["revokedAt"] == revoked["revokeScimToken"]["revokedAt"]
    assert await AuditEvent.filter(action="SCIM_TOKEN_REVOKED").count() == 1
    event = await AuditEvent.get(action="SCIM_TOKEN_REVOKED")
    assert event.details == {"via": "graphql", "tokenId": int(token_id), "label": "Entra"}


async def test_another_domains_token_is_not_found_and_not_listed(client: GraphQLClient) -> None:
    ours, theirs = await make_domain(), await make_domain()
    _, their_session = await signed_in(client, theirs, Role.SYSTEM_ADMIN)
    their_token = (await client.execute(CREATE, {"label": "x"}, token=their_session)).ok()[
        "createScimToken"
    ]
    _, session = await signed_in(client, ours, Role.SYSTEM_ADMIN)
    their_id = (await ScimToken.get(domain_id=theirs.id)).id
    for token_id in (str(their_id), "0", "-1", "abc", "99999999999999999999"):
        result = await client.execute(REVOKE, {"id": token_id}, token=session)
        assert result.code == "NOT_FOUND", token_id
    assert (await client.execute(LIST, token=session)).ok()["scimTokens"] == []
    assert (await ScimToken.get(id=their_id)).revoked_at is None
    response = await client.http.get("/scim/v2/Users", headers=auth(their_token))
    assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.USER, Role.SECURITY_ADMIN, Role.AUDITOR])
async def test_only_a_system_admin_manages_tokens(client: GraphQLClient, role: Role) -> None:
    domain = await make_domain()
    user, session = await signed_in(client, domain, role)
    for query, variables in ((CREATE, {"label": "x"}), (LIST, {}), (REVOKE, {"id": "1"})):
        result = await client.execute(query, variables, token=session)
        assert result.code == "FORBIDDEN", query
    assert await ScimToken.all().count() == 0
    assert await AuditEvent.filter(action="ACCESS_DENIED", actor_id=user.id).count() == 3


async def test_unauthenticated_and_pending_sessions_are_refused(client: GraphQLClient) -> None:
    assert (await client.execute(CREATE, {"label": "x"})).code == "UNAUTHENTICATED"
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SYSTEM_ADMIN], two_factor_enabled=True)
    login = await client.login(admin.email, PASSWORD)
    assert login["status"] == "ENROLLMENT_REQUIRED"
    for query, variables in ((CREATE, {"label": "x"}), (LIST, {}), (REVOKE, {"id": "1"})):
        result = await client.execute(query, variables, token=login["token"])
        assert result.code == "TWO_FACTOR_REQUIRED", query
    assert await ScimToken.all().count() == 0


@pytest.mark.parametrize("label", ["", "   ", "x" * 101, "bad\x00label"])
async def test_a_bad_label_is_bad_user_input(client: GraphQLClient, label: str) -> None:
    domain = await make_domain()
    _, session = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    result = await client.execute(CREATE, {"label": label}, token=session)
    assert result.code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "label"
    assert await ScimToken.all().count() == 0
