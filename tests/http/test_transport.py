"""GraphQL over HTTP: media types and status codes, CSRF refusals, batching, body size."""

import json
from collections.abc import AsyncIterator

import httpx

from gql_portal.audit.models import AuditEvent
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.http.support import client_with

GRAPHQL_RESPONSE = "application/graphql-response+json"
NEW_ACCEPT = {"Accept": "application/graphql-response+json, application/json;q=0.9"}
LOGIN = 'mutation { login(email: "%s", password: "%s") { status } }'


async def post(client: GraphQLClient, body: object, headers: dict[str, str]) -> httpx.Response:
    return await client.http.post("/graphql", json=body, headers=headers)


async def test_graphql_response_json_status_codes(client: GraphQLClient) -> None:
    ok = await post(client, {"query": "{ __typename }"}, NEW_ACCEPT)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == GRAPHQL_RESPONSE
    assert ok.json() == {"data": {"__typename": "Query"}}

    for document, variables in [
        ("{", None),  # parse error
        ("{ nope }", None),  # validation error
        ("query($n: Int) { users(first: $n) { totalCount } }", {"n": "many"}),  # coercion
    ]:
        refused = await post(client, {"query": document, "variables": variables}, NEW_ACCEPT)
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == GRAPHQL_RESPONSE
        body = refused.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_graphql_response_json_field_errors_are_200(client: GraphQLClient) -> None:
    # Execution started: the response has a data entry, even when it is null.
    domain = await make_domain()
    user = await make_user(domain)
    wrong = await post(client, {"query": LOGIN % (user.email, "wrong-password-x")}, NEW_ACCEPT)
    assert wrong.status_code == 200
    assert wrong.json()["data"] is None
    assert wrong.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    bad_token = await post(
        client, {"query": "{ me { id } }"}, {**NEW_ACCEPT, "Authorization": "Bearer nope"}
    )
    assert bad_token.status_code == 200
    assert bad_token.json()["data"] == {"me": None}


async def test_application_json_keeps_200_with_errors(client: GraphQLClient) -> None:
    for accept in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        result = await post(client, {"query": "{ nope }"}, accept)
        assert result.status_code == 200
        assert result.headers["content-type"] == "application/json"
        assert result.json()["data"] is None
        assert result.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_malformed_requests_are_400(client: GraphQLClient) -> None:
    deep = b'{"query": "{ me { id } }", "variables": {"x": ' + b"[" * 45_000 + b"]" * 45_000 + b"}}"
    for content in (
        b"{not json",
        b'{"query": 5}',
        b'{"query": "{ me { id } }", "variables": []}',
        b'"x"',
        b"123",
        b"null",
        b"true",
        deep,
    ):
        response = await client.http.post(
            "/graphql", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, content[:40]
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert response.headers["x-request-id"] and response.headers["cache-control"] == "no-store"


async def test_queries_over_get_mutations_not(client: GraphQLClient) -> None:
    query = await client.http.get("/graphql", params={"query": "{ __typename }"})
    assert query.status_code == 200
    assert query.json() == {"data": {"__typename": "Query"}}
    domain = await make_domain()
    user = await make_user(domain)
    mutation = await client.http.get(
        "/graphql", params={"query": LOGIN % (user.email, "whatever-password")}
    )
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert mutation.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await AuditEvent.filter(action="LOGIN_FAILED").count() == 0


async def test_form_multipart_and_text_posts_are_refused(client: GraphQLClient) -> None:
    query = "mutation { logout }"
    form = await client.http.post("/graphql", data={"query": query})
    multipart = await client.http.post(
        "/graphql", data={"operations": json.dumps({"query": query})}, files={"0": b"x"}
    )
    text = await client.http.post(
        "/graphql", content=json.dumps({"query": query}), headers={"Content-Type": "text/plain"}
    )
    missing = await client.http.post("/graphql", content=json.dumps({"query": query}))
    for response in (form, multipart, text, missing):
        assert response.status_code == 415, response.request.headers.get("content-type")
        assert "errors" in response.json()


async def test_batches_are_refused(client: GraphQLClient) -> None:
    response = await post(client, [{"query": "{ __typename }"}, {"query": "{ __typename }"}], {})
    assert response.status_code == 400
    assert "Batching is not enabled" in response.text


async def test_body_size_is_capped() -> None:
    async with client_with(max_body_bytes=2048) as client:
        padding = " " * 2048
        small = await post(client, {"query": "{ __typename }"}, {})
        large = await post(client, {"query": "{ __typename }" + padding}, {})

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"query": "{ __typename }'
            for _ in range(10):
                yield b" " * 512
            yield b'"}'

        streamed = await client.http.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert small.status_code == 200
    assert large.status_code == 413
    assert large.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "x-request-id" in large.headers
    assert streamed.status_code == 413
