"""Content negotiation (http/media.py): application/json or application/graphql-response+json,
by the Accept header's q-values, on the fast path and through strawberry's view alike."""

import httpx
import pytest

from gql_portal.http.media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    is_request_error,
    wants_graphql_response,
)
from tests.graphql import GraphQLClient

NEGOTIATED = [
    (None, JSON),
    ("", JSON),
    ("application/json", JSON),
    ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
    ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE_JSON),
    ("application/graphql-response+json; charset=utf-8", GRAPHQL_RESPONSE_JSON),
    ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
    ("application/json;q=0.9, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
    ("application/json, application/graphql-response+json;q=0.9", JSON),
    ("application/json;q=0.5, application/graphql-response+json;q=0.5", GRAPHQL_RESPONSE_JSON),
    (
        " application/graphql-response+json ; Q = 0.4 , application/json ; q=0.3",
        GRAPHQL_RESPONSE_JSON,
    ),
    ("application/graphql-response+json;q=0", JSON),
    ("application/graphql-response+json;q=0.0, application/json;q=0", JSON),
    ("application/graphql-response+json;q=0.001", GRAPHQL_RESPONSE_JSON),
    # The best of repeated entries counts.
    (
        "application/graphql-response+json;q=0, application/graphql-response+json;q=1",
        GRAPHQL_RESPONSE_JSON,
    ),
    # Bad Accept values: the legacy type, never an error.
    ("application/graphql-response+json;q=high", JSON),
    ("application/graphql-response+json;q=", JSON),
    ("application/graphql-response+json;q=nan", JSON),
    ("application/graphql-response+json;q=-1", JSON),
    ("application/graphql-response+jsonx", JSON),
    ("application/graphql-response", JSON),
    ("*/*", JSON),
    ("application/*", JSON),
    ("image/png", JSON),
    (";;,,=;q=;", JSON),
    ("\u00e9t\u00e9/\u00ff; q=1", JSON),
]


@pytest.mark.parametrize(("accept", "media_type"), NEGOTIATED)
def test_the_new_media_type_only_when_asked_for_at_least_as_much(
    accept: str | None, media_type: str
) -> None:
    assert wants_graphql_response(accept) is (media_type == GRAPHQL_RESPONSE_JSON)


def test_request_errors_are_those_without_data_and_without_paths() -> None:
    parse_error = {"message": "Syntax Error", "locations": [{"line": 1, "column": 2}]}
    field_error = {"message": "denied", "path": ["user"]}
    assert is_request_error({"data": None, "errors": [parse_error]})
    assert is_request_error({"errors": [parse_error, {"message": "and another"}]})
    assert not is_request_error({"data": None, "errors": [parse_error, field_error]})
    assert not is_request_error({"data": {"user": None}, "errors": [parse_error]})
    assert not is_request_error({"data": None, "errors": []})
    assert not is_request_error({"data": {"__typename": "Query"}})


def _headers(accept: str | None) -> dict[str, str | bytes]:
    # Latin-1 on the wire, as a client may send any octet in a header.
    return {} if accept is None else {"accept": accept.encode("latin-1")}


# HTTP: a few of the cases above, on each path (strawberry's view serves GET).
OVER_HTTP = [case for case in NEGOTIATED if case[0] is None or "q=" in case[0] or "*" in case[0]]


@pytest.mark.parametrize(("accept", "media_type"), OVER_HTTP)
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_answers_carry_the_negotiated_media_type(
    client: GraphQLClient, method: str, accept: str | None, media_type: str
) -> None:
    response = await _send(client.http, method, "{ __typename }", _headers(accept))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].partition(";")[0] == media_type
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_request_error_is_a_400_without_data_only_in_the_new_media_type(
    client: GraphQLClient, method: str
) -> None:
    legacy = await _send(client.http, method, "{ nope }", {"accept": JSON})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].partition(";")[0] == JSON
    assert legacy.json()["data"] is None
    assert legacy.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    new = await _send(client.http, method, "{ nope }", {"accept": GRAPHQL_RESPONSE_JSON})
    assert new.status_code == 400
    assert new.headers["content-type"].partition(";")[0] == GRAPHQL_RESPONSE_JSON
    assert "data" not in new.json()
    assert new.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_field_error_stays_a_200_with_data_in_the_new_media_type(
    client: GraphQLClient,
) -> None:
    response = await _send(
        client.http, "POST", "{ domain { id } }", {"accept": GRAPHQL_RESPONSE_JSON}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].partition(";")[0] == GRAPHQL_RESPONSE_JSON
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["path"] == ["domain"]
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def _send(
    http: httpx.AsyncClient, method: str, query: str, headers: dict[str, str | bytes]
) -> httpx.Response:
    if method == "GET":
        return await http.get("/graphql", params={"query": query}, headers=headers)
    return await http.post("/graphql", json={"query": query}, headers=headers)
