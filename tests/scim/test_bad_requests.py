"""Malformed, hostile and huge SCIM requests: each is a SCIM error body with its scimType,
nothing is written, no stack trace leaves the server."""

from typing import Any

import pytest

from gql_portal.accounts.models import User as PortalUser
from gql_portal.audit.models import AuditEvent
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.scim.helpers import SCIM_JSON, auth, scim_token

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _error(response: Any, status: int, scim_type: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == SCIM_JSON
    body: dict[str, Any] = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    assert "Traceback" not in response.text and 'File "' not in response.text
    _one_plain_line(body["detail"])
    return body


def _one_plain_line(detail: str) -> None:
    """What a client shows its admin: no library's name, model, version or link."""
    assert "\n" not in detail and "pydantic" not in detail and "http" not in detail, detail
    assert "validation error for" not in detail and "EnterpriseUser" not in detail, detail


@pytest.mark.parametrize(
    ("raw", "scim_type"),
    [
        (b"", "invalidSyntax"),
        (b"{", "invalidSyntax"),
        (b"[]", "invalidSyntax"),
        (b'"userName"', "invalidSyntax"),
        (b"\xff\xfe", "invalidSyntax"),
        (b"[" * 50_000 + b"]" * 50_000, "invalidSyntax"),
        (b'{"userName": 1' + b"0" * 5000 + b"}", "invalidSyntax"),
        (b'{"userName": "x@example.org", "emails": "no list"}', "invalidValue"),
        (b'{"userName": "x@example.org", "active": "maybe"}', "invalidValue"),
        (b'{"userName": ""}', "invalidValue"),
        (b'{"displayName": "no user name"}', "invalidValue"),
        (b'{"userName": "not an email"}', "invalidValue"),
        (b'{"userName": "' + b"a" * 400 + b'@example.org"}', "invalidValue"),
        (b'{"userName": "x@example.org", "displayName": "' + b"d" * 300 + b'"}', "invalidValue"),
        (b'{"userName": "x@example.org", "externalId": "' + b"e" * 300 + b'"}', "invalidValue"),
        (b'{"userName": "nul\\u0000@example.org"}', "invalidValue"),
    ],
)
async def test_a_bad_create_body_is_refused_and_writes_nothing(
    client: GraphQLClient, raw: bytes, scim_type: str
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    before = await PortalUser.all().count()
    response = await client.http.post("/scim/v2/Users", content=raw, headers=auth(token))
    _error(response, 400, scim_type)
    assert await PortalUser.all().count() == before
    assert await AuditEvent.filter(action="USER_CREATED").count() == 0


async def test_other_content_types_are_refused(client: GraphQLClient) -> None:
    token = await scim_token(await make_domain())
    body = b'{"userName": "x@example.org"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        headers = auth(token) | {"Content-Type": content_type}
        response = await client.http.post("/scim/v2/Users", content=body, headers=headers)
        _error(response, 400, "invalidSyntax")
    headers = auth(token) | {"Content-Type": "application/json; charset=utf-8"}
    response = await client.http.post("/scim/v2/Users", content=body, headers=headers)
    assert response.status_code == 201, "application/json is accepted too"


async def test_a_huge_body_is_413_before_it_is_read(client: GraphQLClient) -> None:
    token = await scim_token(await make_domain())
    huge = b'{"userName": "x@example.org", "displayName": "' + b"x" * 200_000 + b'"}'
    response = await client.http.post("/scim/v2/Users", content=huge, headers=auth(token))
    assert response.status_code == 413
    assert response.headers["content-type"] == SCIM_JSON
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "413"

    async def chunks() -> Any:
        for _ in range(30):
            yield b" " * 10_000

    response = await client.http.post("/scim/v2/Users", content=chunks(), headers=auth(token))
    assert response.status_code == 413 and response.json()["status"] == "413"
    assert await PortalUser.filter(email_normalized="x@example.org").count() == 0


@pytest.mark.parametrize(
    ("operations", "scim_type"),
    [
        ([{"op": "replace", "path": "id", "value": "7"}], "mutability"),
        (
            [{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}],
            "mutability",
        ),
        ([{"op": "replace", "path": "nosuch", "value": "x"}], "invalidPath"),
        ([{"op": "replace", "path": "userName[", "value": "x"}], "invalidPath"),
        (
            [{"op": "replace", "path": 'emails[type eq "home"].value', "value": "x@y.org"}],
            "noTarget",
        ),
        ([{"op": "remove"}], "noTarget"),
        ([{"op": "explode", "path": "active", "value": True}], "invalidValue"),
        ([{"op": "replace", "path": "active", "value": "sometimes"}], "invalidValue"),
        ([{"op": "replace", "path": "userName", "value": "not an email"}], "invalidValue"),
        ([{"op": "replace", "path": "userName", "value": ""}], "invalidValue"),
        ([], "invalidValue"),
        ("not a list", "invalidValue"),
    ],
)
async def test_a_bad_patch_is_refused_and_changes_nothing(
    client: GraphQLClient, operations: Any, scim_type: str | None
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    user = await make_user(domain, "ada@example.org", display_name="Ada")
    response = await client.http.patch(
        f"/scim/v2/Users/{user.id}",
        json={"schemas": [PATCH_SCHEMA], "Operations": operations},
        headers=auth(token),
    )
    assert response.status_code == 400, response.text
    body = response.json()
    if scim_type is not None:
        assert body["scimType"] == scim_type, body
    _one_plain_line(body["detail"])
    after = await PortalUser.get(id=user.id)
    assert (after.email, after.display_name, after.active, after.updated_at) == (
        "ada@example.org",
        "Ada",
        True,
        None,
    )
    assert await AuditEvent.filter(target_id=user.id).count() == 0


async def test_taking_another_users_email_is_a_uniqueness_conflict(client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    ada = await make_user(domain, "ada@example.org")
    await make_user(domain, "bob@example.org")
    rename = {"op": "replace", "path": "userName", "value": "BOB@example.org"}
    for method, body in (
        ("PATCH", {"schemas": [PATCH_SCHEMA], "Operations": [rename]}),
        ("PUT", {"schemas": [USER_SCHEMA], "userName": "bob@example.org"}),
    ):
        response = await client.http.request(
            method, f"/scim/v2/Users/{ada.id}", json=body, headers=auth(token)
        )
        _error(response, 409, "uniqueness")
    assert (await PortalUser.get(id=ada.id)).email == "ada@example.org"


async def test_unknown_endpoints_and_ids_are_404(client: GraphQLClient) -> None:
    token = await scim_token(await make_domain())
    for method, path in (
        ("GET", "/scim/v2/Groups"),
        ("POST", "/scim/v2/Bulk"),
        ("GET", "/scim/v2/Users/1/extra"),
        ("PATCH", "/scim/v2/Users/0"),
        ("DELETE", "/scim/v2/Users/-5"),
        ("PUT", "/scim/v2/Users/99999999999999999999999"),
    ):
        response = await client.http.request(
            method, path, headers=auth(token),
            json={"schemas": [USER_SCHEMA], "userName": "a@b.org"},
        )  # fmt: skip
        _error(response, 404, None)


async def test_head_is_get_without_a_body_and_other_methods_are_scim_405s(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    user = await make_user(domain, "ada@example.org")
    head = await client.http.head(f"/scim/v2/Users/{user.id}", headers=auth(token))
    assert head.status_code == 200 and head.headers["content-type"] == SCIM_JSON
    missing = await client.http.head("/scim/v2/Users/999999", headers=auth(token))
    assert missing.status_code == 404
    for method, path in (("OPTIONS", "/scim/v2/Users"), ("DELETE", "/scim/v2/Users")):
        response = await client.http.request(method, path, headers=auth(token))
        body = _error(response, 405, None)
        assert method in body["detail"]
        assert response.headers["allow"] == "GET, POST, HEAD"
