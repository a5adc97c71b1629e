"""The server's own origin, as the cookie session's Origin check sees it, behind proxies."""

import pytest

from gql_portal.api.origins import exact_origins, own_origin, same_origin
from gql_portal.app import create_app
from tests.graphql import GraphQLClient
from tests.http.support import settings_with

NGINX = {"host": "portal.example.com", "x-forwarded-proto": "https"}


def test_the_host_header_names_the_own_origin() -> None:
    settings = settings_with(trusted_proxies="", public_origin=None)
    assert own_origin("http", {"host": "localhost:8000"}, "127.0.0.1", settings) == (
        "http://localhost:8000"
    )
    assert own_origin("ws", {"host": "Portal.Example.com:80"}, "10.0.0.1", settings) == (
        "http://portal.example.com"
    )
    assert own_origin("http", {}, "10.0.0.1", settings) is None
    assert not same_origin("http://anything", None)


def test_forwarded_headers_count_from_trusted_proxies_only() -> None:
    behind = settings_with(trusted_proxies="127.0.0.1", public_origin=None)
    assert own_origin("http", NGINX, "127.0.0.1", behind) == "https://portal.example.com"
    forwarded_host = {**NGINX, "x-forwarded-host": "public.example, inner"}
    assert own_origin("http", forwarded_host, "127.0.0.1", behind) == "https://public.example"
    # The same headers from anyone else are the client's own words: ignored.
    assert own_origin("http", forwarded_host, "203.0.113.9", behind) == (
        "http://portal.example.com"
    )
    odd = {**NGINX, "x-forwarded-proto": "gopher"}
    assert own_origin("http", odd, "127.0.0.1", behind) == "http://portal.example.com"


def test_the_public_origin_setting_wins() -> None:
    settings = settings_with(public_origin="https://Portal.Example.com:443")
    assert own_origin("http", {"host": "10.0.0.5:8000"}, "10.0.0.1", settings) == (
        "https://portal.example.com"
    )
    assert same_origin("https://portal.example.com", own_origin("http", {}, None, settings))
    assert not same_origin("http://portal.example.com", own_origin("http", {}, None, settings))


def test_cors_origins_are_exact() -> None:
    assert exact_origins("") == frozenset()
    assert exact_origins(" https://a.example , http://localhost:5173") == {
        "https://a.example",
        "http://localhost:5173",
    }
    for bad in ["*", "https://a.example/path", "a.example", "https://a.example,*"]:
        with pytest.raises(ValueError):
            exact_origins(bad)


def test_a_bad_origin_setting_fails_the_start() -> None:
    for changes in [
        {"cors_origins": "*"},
        {"cors_origins": "https://a.example/app"},
        {"public_origin": "portal.example.com"},
        {"public_origin": "https://a.example/portal"},
        {"public_origin": "https://a.example,https://b.example"},
    ]:
        with pytest.raises(ValueError, match="GQL_PORTAL_"):
            create_app(settings_with(**changes), manage_database=False)
    # A trailing slash still names just the origin.
    create_app(settings_with(cors_origins="https://a.example/"), manage_database=False)


async def test_without_cors_origins_no_origin_is_answered(client: GraphQLClient) -> None:
    preflight = await client.http.options(
        "/graphql",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 405
    response = await client.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "http://localhost:5173"}
    )
    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]
