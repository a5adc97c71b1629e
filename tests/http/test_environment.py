"""Production hides the schema (no IDE, introspection or suggestions); development shows it."""

import pytest

from gql_portal.app import create_app
from gql_portal.crypto import EncryptionKeyError
from tests.graphql import GraphQLClient
from tests.http.support import client_for, production_settings, settings_with

INTROSPECTION = "{ __schema { queryType { name } } }"
TYPE_LOOKUP = '{ __type(name: "User") { name } }'
TYPO = "{ mee { id } }"
ENUM_TYPO = "query($b: TimeBucket!) { auditSummary(bucket: $b) { count } }"


async def test_development_shows_ide_introspection_and_suggestions(client: GraphQLClient) -> None:
    ide = await client.http.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200
    assert "graphiql" in ide.text.lower()
    assert (await client.execute(INTROSPECTION)).ok()["__schema"]["queryType"]["name"] == "Query"
    typo = await client.execute(TYPO)
    assert "Did you mean 'me'?" in typo.errors[0]["message"]
    enum_typo = await client.execute(ENUM_TYPO, {"b": "HOURS"})
    assert "Did you mean" in enum_typo.errors[0]["message"]


async def test_production_hides_ide_introspection_and_suggestions() -> None:
    app = create_app(production_settings(), manage_database=False)
    async with client_for(app) as client:
        ide = await client.http.get("/graphql", headers={"Accept": "text/html"})
        schema = await client.execute(INTROSPECTION)
        lookup = await client.execute(TYPE_LOOKUP)
        typo = await client.execute(TYPO)
        enum_typo = await client.execute(ENUM_TYPO, {"b": "HOURS"})
        typename = await client.execute("{ __typename }")
        input_typo = await client.execute('{ users(filter: {serch: "a"}) { edges { cursor } } }')
        variable_typo = await client.execute(
            "query($f: UserFilter) { users(filter: $f) { edges { cursor } } }",
            {"f": {"serch": "a"}},
        )
        headers = (await client.http.get("/healthz")).headers
    assert ide.status_code == 404
    for refused in (schema, lookup):
        assert set(refused.codes) == {"BAD_USER_INPUT"}
        assert refused.body["data"] is None
        assert "introspection has been disabled" in refused.errors[0]["message"]
    assert typo.code == "BAD_USER_INPUT"
    assert typo.errors[0]["message"] == "This field cannot be queried here."
    assert enum_typo.errors and all("Did you mean" not in e["message"] for e in enum_typo.errors)
    assert typename.ok() == {"__typename": "Query"}
    for refused in (input_typo, variable_typo):
        assert refused.errors and "UserFilter" not in refused.errors[0]["message"]
        assert all("Did you mean" not in e["message"] for e in refused.errors)
    assert headers["strict-transport-security"].startswith("max-age=")


def test_production_requires_explicit_encryption_keys() -> None:
    with pytest.raises(EncryptionKeyError, match="required in production"):
        create_app(settings_with(environment="production", encryption_keys=None))
    with pytest.raises(EncryptionKeyError, match="not a Fernet key"):
        create_app(settings_with(environment="production", encryption_keys="not-a-key"))


async def test_security_headers(client: GraphQLClient) -> None:
    response = await client.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": "client-chosen-1"}
    )
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers["x-request-id"] == "client-chosen-1"
    assert "strict-transport-security" not in headers  # development may run on plain http
    forged = await client.http.get("/healthz", headers={"X-Request-ID": "bad id\n"})
    assert forged.headers["x-request-id"] != "bad id\n"
    assert len(forged.headers["x-request-id"]) == 16
    # Window isolation and feature denial are for documents: the one page, not the API.
    assert "cross-origin-opener-policy" not in headers and "permissions-policy" not in headers
    ide = await client.http.get("/graphql", headers={"Accept": "text/html"})
    # GraphiQL's own CSP (gql_portal/http/graphiql.py): this server only, no inline script.
    assert ide.headers["content-security-policy"].startswith(
        "default-src 'none'; script-src 'self';"
    )
    assert ide.headers["cache-control"] == "no-store"
    assert ide.headers["cross-origin-opener-policy"] == "same-origin"
    assert ide.headers["permissions-policy"] == "camera=(), microphone=(), geolocation=()"
    assert ide.headers["x-frame-options"] == "DENY"
