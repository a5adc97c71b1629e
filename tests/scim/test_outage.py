"""SCIM while the database is down (CONTRACT section 8): 503 with Retry-After and a SCIM
error body, never a plain 500; the next request after it is back succeeds."""

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.database import TestDatabase
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.outage.support import database_cut_off
from tests.scim.helpers import SCIM_JSON, auth, scim_token

pytestmark = pytest.mark.skipif(TEST_DATABASE_URL is None, reason="needs PostgreSQL to cut off")


async def test_scim_answers_503_while_the_database_is_down(
    client: GraphQLClient, database: TestDatabase
) -> None:
    token = await scim_token(await make_domain())
    async with database_cut_off(database):
        for path in ("/scim/v2/Users", "/scim/v2/Users/1", "/scim/v2/ServiceProviderConfig"):
            response = await client.http.get(path, headers=auth(token))
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == SCIM_JSON
            assert response.headers["retry-after"] == "1"
            body = response.json()
            assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
            assert body["status"] == "503"
            assert "asyncpg" not in response.text and "connection" not in body["detail"].lower()
    response = await client.http.get("/scim/v2/Users", headers=auth(token))
    assert response.status_code == 200
