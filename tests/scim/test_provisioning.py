"""Okta's and Entra ID's documented provisioning sequences, sent by scim2-client and as the
raw bodies those identity providers send: create, find by userName, PATCH active false,
replace, paginate; every change audited with details.via "scim" and the token."""

import asyncio
from typing import Any

import httpx
from scim2_models import ListResponse, PatchOp, PatchOperation, SearchRequest, User
from starlette.applications import Starlette

from gql_portal.accounts.models import Role, Session
from gql_portal.accounts.models import User as PortalUser
from gql_portal.audit.models import AuditEvent
from gql_portal.scim.models import ScimToken
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.scim.helpers import SCIM_JSON, auth, scim_client, scim_token

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def okta_user(email: str, **extra: Any) -> dict[str, Any]:
    """What Okta POSTs (developer.okta.com, "SCIM 2.0 protocol reference")."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": email,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": "00u1dhhb1fkIGP7RL1d8",
        "groups": [],
        "active": True,
        **extra,
    }


async def _send(
    http: httpx.AsyncClient, method: str, path: str, token: str, body: Any = None
) -> httpx.Response:
    return await http.request(method, f"/scim/v2{path}", headers=auth(token), json=body)


async def test_oktas_sequence(client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    record = await ScimToken.get(domain_id=domain.id)
    http = client.http
    # Okta first looks the user up, then creates it.
    found = await _send(
        http, "GET", '/Users?filter=userName eq "ada@example.org"&startIndex=1&count=100', token
    )
    assert found.status_code == 200 and found.json()["totalResults"] == 0
    created = await _send(http, "POST", "/Users", token, okta_user("Ada@Example.org"))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == SCIM_JSON
    body = created.json()
    user_id = body["id"]
    assert created.headers["location"] == f"http://testserver/scim/v2/Users/{user_id}"
    assert body["userName"] == "Ada@Example.org" and body["displayName"] == "Ada Lovelace"
    assert body["externalId"] == "00u1dhhb1fkIGP7RL1d8" and body["active"] is True
    assert body["roles"] == [{"value": "USER"}]
    assert "password" not in body
    user = await PortalUser.get(id=int(user_id))
    assert user.domain_id == domain.id and user.password_hash == "", "invited, no password"
    assert user.email_normalized == "ada@example.org"
    # A second POST of the same userName (any case) is a uniqueness conflict.
    again = await _send(http, "POST", "/Users", token, okta_user("ADA@example.org"))
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    found = await _send(http, "GET", '/Users?filter=userName eq "ada@example.org"', token)
    assert [item["id"] for item in found.json()["Resources"]] == [user_id]
    # Okta's profile push is a PUT of the whole user.
    replaced = await _send(
        http, "PUT", f"/Users/{user_id}", token,
        okta_user("ada.king@example.org", displayName="Ada King", id=user_id),
    )  # fmt: skip
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["userName"] == "ada.king@example.org"
    assert replaced.json()["displayName"] == "Ada King"
    # Okta deactivates with a PATCH without path.
    patch = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    patched = await _send(http, "PATCH", f"/Users/{user_id}", token, patch)
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False
    user = await PortalUser.get(id=int(user_id))
    assert user.active is False and user.deactivated_at is not None
    assert user.email == "ada.king@example.org" and user.display_name == "Ada King"
    # Reactivation, the same way.
    patch["Operations"][0]["value"] = {"active": True}
    patched = await _send(http, "PATCH", f"/Users/{user_id}", token, patch)
    assert patched.json()["active"] is True

    events = await AuditEvent.filter(target_id=int(user_id)).order_by("id")
    assert [event.action for event in events] == [
        "USER_CREATED",
        "USER_UPDATED",
        "USER_DEACTIVATED",
        "USER_REACTIVATED",
    ]
    for event in events:
        assert event.actor_id is None and event.domain_id == domain.id
        assert event.details and event.details["via"] == "scim"
        assert event.details["tokenId"] == record.id and event.details["tokenLabel"] == "Okta"


async def test_entras_sequence(client: GraphQLClient) -> None:
    """learn.microsoft.com, "Tutorial: Develop and plan provisioning for a SCIM endpoint"."""
    domain = await make_domain()
    token = await scim_token(domain)
    http = client.http
    probe = await _send(
        http,
        "GET",
        '/Users?filter=userName eq "non-existent user"&excludedAttributes=emails',
        token,
    )
    assert probe.status_code == 200 and probe.json()["totalResults"] == 0
    created = await _send(
        http, "POST", "/Users", token,
        {
            "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee@example.org",
            "active": True,
            "emails": [{"primary": True, "type": "work",
                        "value": "Test_User_ab6490ee@example.org"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName",
                     "givenName": "givenName"},
            "roles": [],
        },
    )  # fmt: skip
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.json()["displayName"] == "givenName familyName"
    assert created.json()["roles"] == [{"value": "USER"}]
    by_external = await _send(
        http, "GET", '/Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"', token
    )
    assert [item["id"] for item in by_external.json()["Resources"]] == [user_id]
    # Entra's PATCH: capitalised ops, a path, string booleans, a filtered email path.
    patch = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Replace", "path": "displayName", "value": "Updated Name"},
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "x@example.org"},
            {"op": "Replace", "path": "userName", "value": "renamed@example.org"},
        ],
    }
    patched = await _send(http, "PATCH", f"/Users/{user_id}", token, patch)
    assert patched.status_code == 200, patched.text
    assert patched.json()["displayName"] == "Updated Name"
    assert patched.json()["userName"] == "renamed@example.org"
    deactivate = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    patched = await _send(http, "PATCH", f"/Users/{user_id}", token, deactivate)
    assert patched.status_code == 200 and patched.json()["active"] is False
    again = await _send(http, "PATCH", f"/Users/{user_id}", token, deactivate)
    assert again.status_code == 200
    assert await AuditEvent.filter(action="USER_DEACTIVATED").count() == 1, "idempotent"
    deleted = await _send(http, "DELETE", f"/Users/{user_id}", token)
    assert deleted.status_code == 204 and deleted.content == b""
    user = await PortalUser.get(id=int(user_id))
    assert user.active is False and user.display_name == "Updated Name"
    assert user.email == "renamed@example.org"


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


async def test_entras_enterprise_extension_is_accepted_and_not_stored(
    client: GraphQLClient,
) -> None:
    """Entra sends the manager as a plain string (learn.microsoft.com, "Known issues and
    resolutions with SCIM 2.0 protocol compliance"), not RFC 7643's {"value", "$ref"}."""
    domain = await make_domain()
    token = await scim_token(domain)
    http = client.http
    extension = {"employeeNumber": "701984", "department": "Tour", "manager": {"value": "m-1"}}
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "mgr.report@example.org",
        "displayName": "Report",
        ENTERPRISE: extension,
    }
    created = await _send(http, "POST", "/Users", token, body)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert ENTERPRISE not in created.json()  # not stored, so not answered
    replaced = await _send(http, "PUT", f"/Users/{user_id}", token, body)
    assert replaced.status_code == 200, replaced.text
    # Entra's manager update: the manager's objectId as a plain string.
    manager = {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "2819c223-7f76-453a"}
    department = {"op": "Replace", "value": {f"{ENTERPRISE}:department": "Sales"}}
    manager_only = {"schemas": [PATCH_SCHEMA], "Operations": [manager, department]}
    patched = await _send(http, "PATCH", f"/Users/{user_id}", token, manager_only)
    assert patched.status_code == 200, patched.text
    rename = {"op": "Replace", "path": "displayName", "value": "Renamed"}
    with_a_change = {"schemas": [PATCH_SCHEMA], "Operations": [manager, rename]}
    patched = await _send(http, "PATCH", f"/Users/{user_id}", token, with_a_change)
    assert patched.status_code == 200, patched.text
    assert patched.json()["displayName"] == "Renamed"
    updates = await AuditEvent.filter(action="USER_UPDATED", target_id=int(user_id)).count()
    assert updates == 1, "the manager-only PATCH changed nothing"
    # What the extension does not hide: the rest of the body is still checked.
    bad = {**body, "userName": "mgr2@example.org", "active": "maybe"}
    assert (await _send(http, "POST", "/Users", token, bad)).status_code == 400


async def test_scim2_client_creates_finds_patches_replaces_and_pages(app: Starlette) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    scim = scim_client(app, token)
    created = await scim.create(
        User(user_name="grace@example.org", display_name="Grace Hopper", external_id="g-1")
    )
    assert isinstance(created, User) and created.id
    listed = await scim.query(
        User, query_parameters=SearchRequest(filter='userName eq "grace@example.org"')
    )
    assert isinstance(listed, ListResponse) and [r.id for r in listed.resources or []] == [
        created.id
    ]
    operation = PatchOp[User](
        operations=[PatchOperation[User](op="replace", path="active", value=False)]
    )
    await scim.modify(User, created.id, operation)
    read = await scim.query(User, created.id)
    assert isinstance(read, User) and read.active is False
    read.display_name = "Rear Admiral Hopper"
    read.active = True
    replaced = await scim.replace(read)
    assert isinstance(replaced, User) and replaced.display_name == "Rear Admiral Hopper"
    assert replaced.active is True
    for number in range(7):
        await scim.create(User(user_name=f"page{number}@example.org"))
    ids: list[str] = []
    start = 1
    while True:
        page = await scim.query(User, query_parameters=SearchRequest(start_index=start, count=3))
        assert isinstance(page, ListResponse)
        ids += [resource.id or "" for resource in page.resources or []]
        start += 3
        if start > (page.total_results or 0):
            break
    assert len(ids) == len(set(ids)) == await PortalUser.filter(domain_id=domain.id).count()
    await scim.delete(User, created.id)
    assert (await PortalUser.get(id=int(created.id))).active is False


async def test_deactivation_revokes_sessions_and_keeps_two_factor(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    token = await scim_token(domain)
    user = await make_user(domain, "ada@example.org", two_factor_enabled=True)
    session = (await client.login(user.email, PASSWORD))["token"]
    assert await Session.filter(user_id=user.id, revoked_at=None).count() == 1
    response = await _send(client.http, "DELETE", f"/Users/{user.id}", token)
    assert response.status_code == 204
    assert await Session.filter(user_id=user.id, revoked_at=None).count() == 0
    me = await client.execute("{ me { email } }", token=session)
    assert me.code == "UNAUTHENTICATED"
    user = await PortalUser.get(id=user.id)
    assert user.two_factor_enabled is True and user.active is False
    login = await client.execute(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        {"e": user.email, "p": PASSWORD},
    )
    assert login.code == "INVALID_CREDENTIALS"


async def test_the_last_admins_cannot_be_removed_over_scim(client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await scim_token(domain)  # its creator is the domain's only SYSTEM_ADMIN
    system_admin = await PortalUser.get(domain_id=domain.id)
    security_admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    http = client.http
    for user, body in (
        (system_admin, {"op": "replace", "path": "active", "value": False}),
        (system_admin, {"op": "replace", "path": "roles", "value": [{"value": "USER"}]}),
        (security_admin, {"op": "remove", "path": 'roles[value eq "SECURITY_ADMIN"]'}),
        (security_admin, {"op": "replace", "value": {"active": False}}),
    ):
        response = await _send(
            http, "PATCH", f"/Users/{user.id}", token,
            {"schemas": [PATCH_SCHEMA], "Operations": [body]},
        )  # fmt: skip
        assert response.status_code == 400, (body, response.text)
        assert response.json()["scimType"] == "mutability"
        assert "at least one active" in response.json()["detail"]
    for user in (system_admin, security_admin):
        response = await _send(http, "DELETE", f"/Users/{user.id}", token)
        assert response.status_code == 400 and response.json()["scimType"] == "mutability"
        response = await _send(
            http, "PUT", f"/Users/{user.id}", token,
            {"schemas": [USER_SCHEMA], "userName": user.email, "active": False},
        )  # fmt: skip
        assert response.status_code == 400 and response.json()["scimType"] == "mutability"
    assert await PortalUser.filter(domain_id=domain.id, active=True).count() == 2
    assert (await PortalUser.get(id=system_admin.id)).role_list == [Role.SYSTEM_ADMIN]
    assert await AuditEvent.filter(action__in=["USER_UPDATED", "USER_DEACTIVATED"]).count() == 0
    # With a second SYSTEM_ADMIN, the first may go.
    await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    response = await _send(http, "DELETE", f"/Users/{system_admin.id}", token)
    assert response.status_code == 204


async def test_roles_are_the_four_role_names_only(client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    http = client.http
    user = await make_user(domain, "ada@example.org")
    for roles in (
        [{"value": "ROOT"}],
        [{"value": "USER"}, {"value": "SUPER_ADMIN"}],
        [{"value": "SYSTEM_ADMIN,USER"}],
        [{"value": ",SYSTEM_ADMIN,"}],
        [{"value": ""}],
        [{"value": "SYSTEM_ADMIN\u0000"}],
    ):
        response = await _send(
            http, "POST", "/Users", token,
            {"schemas": [USER_SCHEMA], "userName": "new@example.org", "roles": roles},
        )  # fmt: skip
        assert response.status_code == 400, (roles, response.text)
        assert response.json()["scimType"] == "invalidValue"
        response = await _send(
            http, "PATCH", f"/Users/{user.id}", token,
            {"schemas": [PATCH_SCHEMA],
             "Operations": [{"op": "add", "path": "roles", "value": roles}]},
        )  # fmt: skip
        assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"
    assert await PortalUser.filter(domain_id=domain.id).count() == 2
    assert (await PortalUser.get(id=user.id)).roles == ",USER,"
    # The four names, in any case, are what SCIM may set (the token acts for SYSTEM_ADMIN).
    response = await _send(
        http, "PATCH", f"/Users/{user.id}", token,
        {"schemas": [PATCH_SCHEMA],
         "Operations": [{"op": "add", "path": "roles", "value": [{"value": "auditor"}]}]},
    )  # fmt: skip
    assert response.status_code == 200
    assert sorted(role["value"] for role in response.json()["roles"]) == ["AUDITOR", "USER"]


async def test_another_domains_users_are_not_found_for_every_verb(
    client: GraphQLClient,
) -> None:
    ours, theirs = await make_domain(), await make_domain()
    token = await scim_token(ours)
    stranger = await make_user(theirs, "stranger@example.org", display_name="Stranger")
    patch = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    put = {"schemas": [USER_SCHEMA], "userName": "taken@example.org", "active": False}
    for method, body in (("GET", None), ("PUT", put), ("PATCH", patch), ("DELETE", None)):
        response = await _send(client.http, method, f"/Users/{stranger.id}", token, body)
        assert response.status_code == 404, method
        assert response.json()["status"] == "404"
    stranger = await PortalUser.get(id=stranger.id)
    assert stranger.active and stranger.email == "stranger@example.org"
    # The same email may exist in another domain: users are per domain.
    created = await _send(client.http, "POST", "/Users", token, okta_user("stranger@example.org"))
    assert created.status_code == 201
    assert await AuditEvent.filter(domain_id=theirs.id).count() == 0


async def test_two_concurrent_deactivations_of_the_last_two_admins_leave_one(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    first = await PortalUser.get(domain_id=domain.id)
    second = await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    answers = await asyncio.gather(
        *(_send(client.http, "DELETE", f"/Users/{user.id}", token) for user in (first, second))
    )
    assert sorted(answer.status_code for answer in answers) == [204, 400]
    refused = next(answer for answer in answers if answer.status_code == 400)
    assert refused.json()["scimType"] == "mutability"
    assert (
        await PortalUser.filter(
            domain_id=domain.id, active=True, roles__contains=",SYSTEM_ADMIN,"
        ).count()
        == 1
    )
    assert await AuditEvent.filter(action="USER_DEACTIVATED").count() == 1


async def test_a_scim_token_is_no_graphql_token(client: GraphQLClient) -> None:
    token = await scim_token(await make_domain())
    result = await client.execute("{ me { email } }", token=token)
    assert result.code == "UNAUTHENTICATED"


async def test_a_password_sent_at_creation_is_the_users_and_never_afterwards(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    http = client.http
    short = await _send(http, "POST", "/Users", token, okta_user("a@example.org", password="short"))
    assert short.status_code == 400 and short.json()["scimType"] == "invalidValue"
    assert await PortalUser.filter(email_normalized="a@example.org").count() == 0
    created = await _send(
        http, "POST", "/Users", token, okta_user("a@example.org", password="long-enough-pass-1")
    )
    assert created.status_code == 201 and "password" not in created.json()
    login = await client.login("a@example.org", "long-enough-pass-1")
    assert login["status"] == "AUTHENTICATED"
    event = await AuditEvent.get(action="USER_CREATED", target_email="a@example.org")
    assert "long-enough-pass-1" not in str(event.details)
    user_id = created.json()["id"]
    for method, body in (
        ("PUT", okta_user("a@example.org", password="another-password-2")),
        ("PATCH", {"schemas": [PATCH_SCHEMA],
                   "Operations": [{"op": "replace", "path": "password", "value": "x" * 20}]}),
    ):  # fmt: skip
        response = await _send(http, method, f"/Users/{user_id}", token, body)
        assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"
    assert (await client.login("a@example.org", "long-enough-pass-1"))["status"] == "AUTHENTICATED"
