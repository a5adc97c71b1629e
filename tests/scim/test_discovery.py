"""The discovery endpoints (RFC 7644 section 4), read by scim2-client, and the protocol's
answers to requests without a valid token."""

import pytest
from scim2_models import ResourceType, Schema, ServiceProviderConfig
from starlette.applications import Starlette

from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.scim.helpers import SCIM_JSON, auth, scim_client, scim_token

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def test_scim2_client_discovers_the_service(app: Starlette) -> None:
    token = await scim_token(await make_domain())
    scim = scim_client(app, token)
    await scim.discover()
    config = await scim.query(ServiceProviderConfig)
    assert isinstance(config, ServiceProviderConfig)
    assert config.patch and config.patch.supported is True
    assert config.filter and config.filter.supported is True and config.filter.max_results == 1000
    assert config.bulk and config.bulk.supported is False
    assert config.sort and config.sort.supported is False
    assert [scheme.type for scheme in config.authentication_schemes or []] == ["oauthbearertoken"]
    types = await scim.query(ResourceType)
    assert [item.endpoint for item in types.resources] == ["/Users"]
    schemas = await scim.query(Schema)
    (user_schema,) = schemas.resources
    assert user_schema.id == "urn:ietf:params:scim:schemas:core:2.0:User"
    names = {attribute.name for attribute in user_schema.attributes or []}
    assert names == {"userName", "name", "displayName", "active", "emails", "roles"}


async def test_one_resource_type_and_one_schema_by_id(client: GraphQLClient) -> None:
    token = await scim_token(await make_domain())
    response = await client.http.get("/scim/v2/ResourceTypes/User", headers=auth(token))
    assert response.status_code == 200 and response.json()["endpoint"] == "/Users"
    assert response.json()["meta"]["location"] == "http://testserver/scim/v2/ResourceTypes/User"
    response = await client.http.get(
        "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", headers=auth(token)
    )
    assert response.status_code == 200 and response.json()["name"] == "User"
    for path in ("/scim/v2/ResourceTypes/Group", "/scim/v2/Schemas/urn:x", "/scim/v2/Groups"):
        response = await client.http.get(path, headers=auth(token))
        assert response.status_code == 404, path
        assert response.json()["schemas"] == [ERROR]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic Zm9vOmJhcg==",
        "Bearer gqlps_unknown",
        "Bearer gqlp_a-session-token",
        "Bearer gqlps_" + "x" * 5000,
    ],
)
@pytest.mark.parametrize(
    "path",
    ["/scim/v2/ServiceProviderConfig", "/scim/v2/Users", "/scim/v2/Users/1", "/scim/v2/nowhere"],
)
async def test_no_valid_token_is_401_with_a_scim_body(
    client: GraphQLClient, authorization: str | None, path: str
) -> None:
    await scim_token(await make_domain())
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.http.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == SCIM_JSON
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "401"
