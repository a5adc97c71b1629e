"""GET /Users and /Users/{id} through scim2-client: the mapping, filters, pages,
attributes, the token's domain only, and a fixed number of statements per page."""

from typing import Any

import pytest
from scim2_client.engines.asgi import ASGISCIMClient
from scim2_models import ListResponse, SearchRequest, User
from starlette.applications import Starlette

from gql_portal.accounts.models import Role
from gql_portal.accounts.models import User as PortalUser
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.querycount import count_queries
from tests.scim.helpers import auth, scim_client, scim_token


async def _listed(
    scim: ASGISCIMClient, filter: str | None = None, **parameters: Any
) -> ListResponse[User]:
    found = await scim.query(User, query_parameters=SearchRequest(filter=filter, **parameters))
    assert isinstance(found, ListResponse)
    return found


async def test_a_user_reads_back_as_the_scim_mapping(app: Starlette) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    user = await make_user(
        domain, "Ada.Lovelace@Example.org", display_name="Ada Lovelace", roles=[Role.AUDITOR]
    )
    await PortalUser.filter(id=user.id).update(external_id="00u1abcd")
    read = await scim_client(app, token).query(User, str(user.id))
    assert isinstance(read, User)
    assert read.id == str(user.id)
    assert read.user_name == "Ada.Lovelace@Example.org"
    assert (
        read.display_name == "Ada Lovelace" and read.name and read.name.formatted == "Ada Lovelace"
    )
    assert read.active is True
    assert read.external_id == "00u1abcd"
    assert [(email.value, email.primary) for email in read.emails or []] == [
        ("Ada.Lovelace@example.org", True)
    ]
    assert [role.value for role in read.roles or []] == ["AUDITOR"]
    assert read.meta and read.meta.resource_type == "User"
    assert read.meta.location == f"http://testserver/scim/v2/Users/{user.id}"
    assert read.meta.created == read.meta.last_modified


async def test_filters_select_on_username_email_active_and_external_id(app: Starlette) -> None:
    domain = await make_domain()
    token = await scim_token(domain)  # the token's creator is a user of the domain too
    ada = await make_user(domain, "ada@example.org")
    bob = await make_user(domain, "bob@example.org")
    await PortalUser.filter(id=bob.id).update(active=False, external_id="ext-Bob")
    scim = scim_client(app, token)

    async def ids(filter: str) -> list[str]:
        listed = await _listed(scim, filter)
        assert listed.total_results == len(listed.resources or [])
        return [resource.id for resource in listed.resources or []]

    assert await ids('userName eq "ADA@example.org"') == [str(ada.id)]
    assert await ids('emails.value eq "bob@EXAMPLE.org"') == [str(bob.id)]
    assert await ids('emails[value eq "bob@example.org"]') == [str(bob.id)]
    assert await ids('emails eq "bob@example.org"') == [str(bob.id)]
    assert await ids("active eq false") == [str(bob.id)]
    assert await ids('externalId eq "ext-Bob"') == [str(bob.id)]
    assert await ids('externalId eq "ext-bob"') == [], "externalId is caseExact"
    assert await ids('userName eq "ada@example.org" and active eq true') == [str(ada.id)]
    assert await ids('userName eq "ada@example.org" and active eq false') == []
    assert await ids('userName eq "ada@example.org" or userName eq "bob@example.org"') == [
        str(ada.id),
        str(bob.id),
    ]
    assert await ids('userName sw "bo"') == [str(bob.id)]
    assert await ids('userName co "b@ex"') == [str(bob.id)]
    assert await ids("not (active eq true)") == [str(bob.id)]
    assert await ids(f'id eq "{ada.id}"') == [str(ada.id)]
    assert await ids('id eq "99999999999999999999"') == []
    assert await ids(
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada@example.org"'
    ) == [str(ada.id)]
    assert await ids('userName eq "nobody@example.org"') == []
    # A quote inside the value stays inside the value: nothing is matched, nothing widened.
    assert await ids('userName eq "ada@example.org\\" or userName pr"') == []
    assert await ids("userName eq \"ada@example.org' OR '1'='1\"") == []
    assert await ids('userName co "%"') == []
    assert await ids('userName sw "_"') == []


async def test_pages_follow_start_index_and_count(app: Starlette) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    for number in range(11):
        await make_user(domain, f"u{number:02}@example.org")
    scim = scim_client(app, token)
    everyone = [user.id for user in await PortalUser.filter(domain_id=domain.id).order_by("id")]
    assert len(everyone) == 12
    seen: list[str] = []
    start = 1
    while True:
        page = await _listed(scim, start_index=start, count=5)
        assert page.total_results == 12 and page.start_index == start
        resources = page.resources or []
        assert page.items_per_page == len(resources)
        seen += [resource.id or "" for resource in resources]
        if start + len(resources) > 12 or not resources:
            break
        start += len(resources)
    assert seen == [str(user_id) for user_id in everyone]
    only_total = await _listed(scim, count=0)
    assert only_total.total_results == 12 and not only_total.resources
    beyond = await _listed(scim, start_index=50, count=5)
    assert beyond.total_results == 12 and not beyond.resources


async def test_count_defaults_and_is_capped(app: Starlette, client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    for _ in range(3):
        await make_user(domain)
    settings = app.state.settings
    default, maximum = settings.scim_default_count, settings.scim_max_count
    settings.scim_default_count, settings.scim_max_count = 2, 3
    try:
        body = (await client.http.get("/scim/v2/Users", headers=auth(token))).json()
        assert body["itemsPerPage"] == 2 and body["totalResults"] == 4
        body = (await client.http.get("/scim/v2/Users?count=500", headers=auth(token))).json()
        assert body["itemsPerPage"] == 3
        body = (
            await client.http.get("/scim/v2/Users?count=-4&startIndex=-3", headers=auth(token))
        ).json()
        assert body["itemsPerPage"] == 0 and body["startIndex"] == 1 and not body["Resources"]
    finally:
        settings.scim_default_count, settings.scim_max_count = default, maximum


async def test_attributes_and_excluded_attributes_select_what_is_returned(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    user = await make_user(domain, "ada@example.org", display_name="Ada")
    response = await client.http.get(
        f"/scim/v2/Users/{user.id}?attributes=userName,emails.value", headers=auth(token)
    )
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": str(user.id),
        "userName": "ada@example.org",
        "emails": [{"value": "ada@example.org"}],
    }
    response = await client.http.get(
        '/scim/v2/Users?filter=userName eq "ada@example.org"&excludedAttributes=emails,meta,roles',
        headers=auth(token),
    )
    (resource,) = response.json()["Resources"]
    assert set(resource) == {"schemas", "id", "userName", "name", "displayName", "active"}


async def test_a_token_sees_only_its_domain(app: Starlette, client: GraphQLClient) -> None:
    ours, theirs = await make_domain(), await make_domain()
    token = await scim_token(ours)
    stranger = await make_user(theirs, "stranger@example.org")
    await make_user(theirs, "ada@example.org")
    mine = await make_user(ours, "ada@example.org")
    for path in (
        f"/scim/v2/Users/{stranger.id}",
        "/scim/v2/Users/0",
        "/scim/v2/Users/abc",
        "/scim/v2/Users/99999999999999999999",
    ):
        response = await client.http.get(path, headers=auth(token))
        assert response.status_code == 404, path
        assert response.json()["status"] == "404"
        assert "stranger" not in response.text
    listed = await _listed(scim_client(app, token), 'userName eq "ada@example.org"')
    assert [resource.id for resource in listed.resources or []] == [str(mine.id)]
    # `or` across anything still stays inside the token's domain.
    listed = await _listed(
        scim_client(app, token), 'userName eq "stranger@example.org" or active eq true'
    )
    assert str(stranger.id) not in [resource.id for resource in listed.resources or []]
    assert listed.total_results == await PortalUser.filter(domain_id=ours.id).count()


@pytest.mark.parametrize(
    "filter",
    [
        'userName eq "x" or 1 eq 1',
        "userName eq 'x'",
        'userName eq "x"; DROP TABLE users',
        'userName eq "x") or (active eq true',
        '((((userName eq "x"',
        'password eq "x"',
        'roles eq "SYSTEM_ADMIN"',
        'domain_id eq "1"',
        'userName gt "a"',
        'active eq "true"',
        "active co true",
        "title pr",
        'emails[type eq "work"]',
        'urn:example:other:userName eq "x"',
        " ",
        "and",
        'userName eq "' + "x" * 1100 + '"',
        " or ".join(['userName eq "x"'] * 21),
        'userName eq "\\u0000"',
    ],
)
async def test_filters_outside_the_whitelist_are_invalid_filter(
    client: GraphQLClient, filter: str
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    response = await client.http.get(
        "/scim/v2/Users", params={"filter": filter}, headers=auth(token)
    )
    if filter.strip() == "":
        assert response.status_code == 200, "a blank filter selects everyone"
        return
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["scimType"] == "invalidFilter" and body["status"] == "400"
    assert "Traceback" not in response.text and "sqlite" not in response.text.lower()
    assert await PortalUser.filter(domain_id=domain.id).count() == 1


@pytest.mark.parametrize("parameter", ["count=abc", "startIndex=1.5", "count=9" * 30])
async def test_bad_paging_parameters_are_invalid_value(
    client: GraphQLClient, parameter: str
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    response = await client.http.get(f"/scim/v2/Users?{parameter}", headers=auth(token))
    assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"


async def test_a_page_costs_the_same_statements_whatever_its_size(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    await client.http.get("/scim/v2/Users?count=1", headers=auth(token))  # last_used_at
    counts = []
    for size in (1, 40):
        while await PortalUser.filter(domain_id=domain.id).count() < size:
            await make_user(domain)
        with count_queries() as statements:
            response = await client.http.get(
                f"/scim/v2/Users?count={size}&filter=active eq true", headers=auth(token)
            )
        assert response.status_code == 200 and len(response.json()["Resources"]) == size
        counts.append(len(statements))
    # The token, the COUNT, the page.
    assert counts == [3, 3]
