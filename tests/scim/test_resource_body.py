"""The SCIM answers scim/resources.py writes from the stored rows are what scim2-models
writes for the same rows: every shape a row can take, every context an answer is written
in, single resources and pages, with and without selected attributes."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from scim2_models import Context, ListResponse, ResponseParameters
from scim2_models import User as ScimUser
from starlette.applications import Starlette

from gql_portal.accounts.models import Domain, Role
from gql_portal.accounts.models import User as PortalUser
from gql_portal.scim.resources import resource_body, timestamp, to_resource
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.scim.helpers import BASE_URL, auth, scim_token

CONTEXTS = [
    Context.RESOURCE_QUERY_RESPONSE,
    Context.SEARCH_RESPONSE,
    Context.RESOURCE_CREATION_RESPONSE,
    Context.RESOURCE_REPLACEMENT_RESPONSE,
    Context.RESOURCE_PATCH_RESPONSE,
]


async def _every_shape(domain: Domain) -> list[PortalUser]:
    """Rows as the database gives them back: no display name, one, an externalId, several
    roles, inactive, changed with and without microseconds."""
    plain = await make_user(domain, "plain@example.org", display_name="")
    named = await make_user(
        domain, "Named.Person@example.org", display_name="Ada Lovelace", roles=[Role.AUDITOR]
    )
    admin = await make_user(
        domain,
        "admin@example.org",
        display_name="Zoë “Admin” <x>",
        roles=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.USER],
    )
    moment = datetime(2026, 2, 1, 1, 2, 3, 456000, tzinfo=UTC)
    await PortalUser.filter(id=named.id).update(external_id="00u1abcd", updated_at=moment)
    await PortalUser.filter(id=admin.id).update(
        active=False, external_id="", updated_at=moment.replace(microsecond=0)
    )
    await PortalUser.filter(id=plain.id).update(updated_at=moment + timedelta(microseconds=1))
    return await PortalUser.filter(id__in=[plain.id, named.id, admin.id]).order_by("id")


def _validated(user: PortalUser, context: Context, **selected: Any) -> dict[str, Any]:
    location = f"{BASE_URL}/Users/{user.id}"
    return to_resource(user, location=location).model_dump(
        scim_ctx=context, response_parameters=ResponseParameters(**selected) if selected else None
    )


@pytest.mark.parametrize("context", CONTEXTS)
async def test_a_row_is_written_as_scim2_models_writes_it(context: Context) -> None:
    domain = await make_domain()
    users = await _every_shape(domain)
    for user in users:
        written = resource_body(user, location=f"{BASE_URL}/Users/{user.id}")
        assert written == _validated(user, context), user.email
    assert {"externalId" in resource_body(user, location="") for user in users} == {True, False}


def test_timestamps_are_utc_with_z_and_microseconds_only_when_there_are_some() -> None:
    assert timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
    assert timestamp(datetime(2026, 1, 1, 0, 0, 0, 120, tzinfo=UTC)) == (
        "2026-01-01T00:00:00.000120Z"
    )
    two_hours_east = datetime(2026, 1, 1, 2, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    assert timestamp(two_hours_east) == "2026-01-01T02:00:00Z"


async def _library_page(users: list[PortalUser], total: int, **selected: Any) -> dict[str, Any]:
    listed = ListResponse[ScimUser[Any]](
        total_results=total,
        start_index=1,
        items_per_page=len(users),
        resources=[to_resource(user, location=f"{BASE_URL}/Users/{user.id}") for user in users],
    )
    return listed.model_dump(
        scim_ctx=Context.SEARCH_RESPONSE,
        response_parameters=ResponseParameters(**selected) if selected else None,
    )


@pytest.mark.parametrize(
    ("query", "selected"),
    [
        ("", {}),
        ("&attributes=userName,emails.value", {"attributes": ["userName", "emails.value"]}),
        ("&excludedAttributes=meta,roles", {"excluded_attributes": ["meta", "roles"]}),
    ],
)
async def test_a_page_is_written_as_scim2_models_writes_it(
    client: GraphQLClient, query: str, selected: dict[str, Any]
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    await _every_shape(domain)
    everyone = await PortalUser.filter(domain_id=domain.id).order_by("id")
    response = await client.http.get(f"/scim/v2/Users?count=100{query}", headers=auth(token))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json() == await _library_page(everyone, len(everyone), **selected)
    # The last page but not the first: a COUNT, and an empty page still has Resources.
    beyond = await client.http.get(f"/scim/v2/Users?startIndex=50{query}", headers=auth(token))
    assert beyond.json() == {**await _library_page([], len(everyone)), "startIndex": 50}


async def test_a_stored_address_that_email_validator_refuses_is_still_listed(
    app: Starlette, client: GraphQLClient
) -> None:
    """The portal accepted it (CONTRACT section 10 only asks for one @ and a dot after it);
    re-validating rows on the way out refused the whole page with a 400."""
    domain = await make_domain()
    token = await scim_token(domain)
    odd = await make_user(domain, "first..last@Example.ORG")
    listed = await client.http.get(
        "/scim/v2/Users",
        params={"filter": 'userName eq "first..last@example.org"'},
        headers=auth(token),
    )
    assert listed.status_code == 200, listed.text
    (resource,) = listed.json()["Resources"]
    assert resource["userName"] == "first..last@Example.ORG"
    assert resource["emails"] == [
        {"value": "first..last@Example.ORG", "type": "work", "primary": True}
    ]
    one = await client.http.get(f"/scim/v2/Users/{odd.id}", headers=auth(token))
    assert one.status_code == 200 and one.json() == resource
    selected = await client.http.get(
        f"/scim/v2/Users/{odd.id}?attributes=userName,emails", headers=auth(token)
    )
    assert selected.status_code == 200, selected.text
    assert selected.json()["emails"] == resource["emails"]
    # Okta deprovisions with PATCH active false: the stored address must not stop it.
    deactivated = await client.http.patch(
        f"/scim/v2/Users/{odd.id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
        headers=auth(token),
    )
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["active"] is False
    assert (await PortalUser.get(id=odd.id)).active is False
