"""The portal's cookie session (CONTRACT section 9): set by the token-issuing mutations,
cleared by logout, honoured on both GraphQL paths and the export, and refused (FORBIDDEN,
before anything runs or counts) whenever the request may come from another site."""

from typing import Any

import httpx
import pytest

from gql_portal.accounts.models import LoginIpThrottle, LoginThrottle, Role, Session
from gql_portal.api.view import GraphQLView
from gql_portal.app import create_app
from gql_portal.audit.models import AuditEvent
from tests.factories import PASSWORD, code_for, make_domain, make_user
from tests.graphql import LOGIN, GraphQLClient
from tests.http.support import (
    client_for,
    code_failures,
    enrolled_user_with_pending_token,
    production_settings,
)

COOKIE = "gqlp_session"
OWN = "http://testserver"  # the test client's base URL: the server's own origin
PORTAL = {"X-Session-Transport": "cookie", "Sec-Fetch-Site": "same-origin", "Origin": OWN}
ME = "{ me { email } }"
VERIFY = "mutation($code: String!) { verifyTotp(code: $code) { status token } }"


async def post(
    client: GraphQLClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str],
    cookie: str | None = None,
) -> httpx.Response:
    sent = dict(headers)
    if cookie is not None:
        sent["Cookie"] = f"{COOKIE}={cookie}"
    body = {"query": query, "variables": variables or {}}
    response = await client.http.post("/graphql", json=body, headers=sent)
    client.http.cookies.clear()  # each test sends the cookie it means to, explicitly
    return response


def session_cookie(response: httpx.Response) -> tuple[str, str]:
    """The value and the whole Set-Cookie line of the session cookie."""
    lines = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{COOKIE}=")]
    assert len(lines) == 1, response.headers
    value = lines[0].split(";")[0].partition("=")[2].strip('"')
    return value, lines[0]


async def portal_login(client: GraphQLClient, email: str) -> tuple[dict[str, Any], str]:
    response = await post(client, LOGIN, {"email": email, "password": PASSWORD}, headers=PORTAL)
    payload = response.json()["data"]["login"]
    return payload, session_cookie(response)[0]


def refused(response: httpx.Response) -> bool:
    body = response.json()
    codes = [error["extensions"]["code"] for error in body.get("errors", [])]
    return response.status_code == 403 and codes == ["FORBIDDEN"] and "data" not in body


async def test_login_sets_the_cookie_and_answers_no_token(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    payload, cookie = await portal_login(client, user.email)
    assert payload["status"] == "AUTHENTICATED" and payload["token"] is None
    assert cookie.startswith("gqlp_")
    response = await post(
        client, LOGIN, {"email": user.email, "password": PASSWORD}, headers=PORTAL
    )
    line = session_cookie(response)[1].lower()
    assert "httponly" in line and "samesite=strict" in line and "path=/" in line
    assert "secure" not in line and "domain=" not in line  # development: plain http works
    me = await post(client, ME, headers=PORTAL, cookie=cookie)
    assert me.json() == {"data": {"me": {"email": user.email}}}
    # Without the header a bearer client's answer is unchanged: the token, no cookie.
    plain = await client.login(user.email, PASSWORD)
    assert plain["token"].startswith("gqlp_")


async def test_logout_clears_the_cookie_and_ends_the_session(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    _, cookie = await portal_login(client, user.email)
    response = await post(client, "mutation { logout }", headers=PORTAL, cookie=cookie)
    assert response.json() == {"data": {"logout": True}}
    value, line = session_cookie(response)
    assert value == "" and "max-age=0" in line.lower()
    after = await post(client, ME, headers=PORTAL, cookie=cookie)
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_second_factor_exchanges_the_cookie(client: GraphQLClient) -> None:
    user, secret, _ = await enrolled_user_with_pending_token(client)
    # A portal sign-in of the enrolled user: pending cookie, then verifyTotp replaces it.
    payload, cookie = await portal_login(client, user.email)
    assert payload["status"] == "TOTP_REQUIRED" and payload["token"] is None
    denied = await post(client, "{ users { edges { cursor } } }", headers=PORTAL, cookie=cookie)
    assert denied.json()["errors"][0]["extensions"]["code"] == "TWO_FACTOR_REQUIRED"
    verified = await post(
        client, VERIFY, {"code": code_for(secret, steps_ahead=1)}, headers=PORTAL, cookie=cookie
    )
    assert verified.json()["data"]["verifyTotp"] == {"status": "AUTHENTICATED", "token": None}
    fresh, _ = session_cookie(verified)
    assert fresh != cookie
    assert (await post(client, ME, headers=PORTAL, cookie=fresh)).json()["data"]["me"]
    old = await post(client, ME, headers=PORTAL, cookie=cookie)
    assert old.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin", "Origin": OWN},  # no X-Session-Transport
        {**PORTAL, "Sec-Fetch-Site": "cross-site"},
        {**PORTAL, "Sec-Fetch-Site": "same-site"},  # a sibling subdomain: SameSite lets it by
        {**PORTAL, "Sec-Fetch-Site": "none"},  # only a navigated GET may say none
        {**PORTAL, "Origin": "http://evil.example"},
        {**PORTAL, "Origin": "http://testserver:8080"},
        {**PORTAL, "Origin": "https://testserver"},
        {**PORTAL, "Origin": "null"},
        {"X-Session-Transport": "cookie", "Origin": "http://evil.example"},
        {"X-Session-Transport": "COOKIE", "Origin": OWN},  # the value is exact
    ],
)
async def test_a_cross_site_mutation_with_the_cookie_is_refused(
    client: GraphQLClient, headers: dict[str, str]
) -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    target = await make_user(domain)
    _, cookie = await portal_login(client, admin.email)
    events = await AuditEvent.all().count()
    enable = "mutation($id: ID!) { a: enableUserTwoFactor(userId: $id) { id } b: logout }"
    response = await post(client, enable, {"id": str(target.id)}, headers=headers, cookie=cookie)
    assert refused(response), response.text
    assert "set-cookie" not in response.headers
    await target.refresh_from_db()
    assert target.two_factor_enabled is False
    assert await AuditEvent.all().count() == events  # nothing written, not even ACCESS_DENIED
    assert (await post(client, ME, headers=PORTAL, cookie=cookie)).json()["data"]["me"]


async def test_the_portal_own_requests_pass(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    _, cookie = await portal_login(client, user.email)
    # Fetch Metadata and Origin are checked only when sent (older browsers, curl).
    for headers in [{"X-Session-Transport": "cookie"}, {**PORTAL, "Origin": "HTTP://TestServer"}]:
        response = await post(client, ME, headers=headers, cookie=cookie)
        assert response.json() == {"data": {"me": {"email": user.email}}}


async def test_form_posts_and_get_mutations_with_the_cookie_change_nothing(
    client: GraphQLClient,
) -> None:
    user = await make_user(await make_domain())
    _, cookie = await portal_login(client, user.email)
    jar = {"Cookie": f"{COOKIE}={cookie}"}
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]:
        for extra in [{}, PORTAL]:
            response = await client.http.post(
                "/graphql",
                content=b'{"query": "mutation { logout }"}',
                headers={**jar, **extra, "Content-Type": content_type},
            )
            assert response.status_code in (403, 415), (content_type, response.text)
    navigated = {**jar, "Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}
    for headers in [jar, navigated, {**jar, "Sec-Fetch-Site": "cross-site"}]:
        response = await client.http.get(
            "/graphql", params={"query": "mutation { logout }"}, headers=headers
        )
        assert response.status_code in (403, 405), response.text
    assert await Session.filter(user_id=user.id, revoked_at=None).count() == 1
    # A navigated GET of a query is the user's own: it may use the cookie.
    read = await client.http.get("/graphql", params={"query": ME}, headers=navigated)
    assert read.json() == {"data": {"me": {"email": user.email}}}


async def test_the_bearer_header_wins_over_the_cookie(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    _, cookie = await portal_login(client, user.email)
    for scheme in ["Bearer gqlp_not-a-token", "Basic dXNlcjpwYXNz", "Bearer "]:
        response = await post(
            client, ME, headers={**PORTAL, "Authorization": scheme}, cookie=cookie
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    other = await make_user(await make_domain())
    token = (await client.login(other.email, PASSWORD))["token"]
    # A bearer client is not a cookie request: no CSRF headers needed, the cookie is ignored.
    response = await post(client, ME, headers={"Authorization": f"Bearer {token}"}, cookie=cookie)
    assert response.json() == {"data": {"me": {"email": other.email}}}


async def test_a_cross_site_login_sets_no_cookie_and_counts_nothing(
    client: GraphQLClient,
) -> None:
    user = await make_user(await make_domain())
    cross = {"X-Session-Transport": "cookie", "Sec-Fetch-Site": "cross-site"}
    for password in [PASSWORD, "wrong-password"]:
        response = await post(
            client, LOGIN, {"email": user.email, "password": password}, headers=cross
        )
        assert refused(response) and "set-cookie" not in response.headers
    assert await LoginThrottle.all().count() == 0
    assert await LoginIpThrottle.all().count() == 0
    assert await Session.filter(user_id=user.id).count() == 0
    assert await AuditEvent.all().count() == 0


async def test_a_cross_site_code_guess_counts_nothing(client: GraphQLClient) -> None:
    user, secret, _ = await enrolled_user_with_pending_token(client)
    _, cookie = await portal_login(client, user.email)
    before = await code_failures(user)
    cross = {**PORTAL, "Origin": "http://evil.example"}
    for code in ["000000", code_for(secret, steps_ahead=1)]:
        response = await post(client, VERIFY, {"code": code}, headers=cross, cookie=cookie)
        assert refused(response)
    assert await code_failures(user) == before
    # The current code was not spent by the refused request: the portal may still use it.
    next_code = code_for(secret, steps_ahead=1)
    verified = await post(client, VERIFY, {"code": next_code}, headers=PORTAL, cookie=cookie)
    assert verified.json()["data"]["verifyTotp"]["status"] == "AUTHENTICATED"


async def test_the_export_link_works_with_the_cookie(client: GraphQLClient) -> None:
    domain = await make_domain()
    auditor = await make_user(domain, roles=[Role.AUDITOR])
    _, cookie = await portal_login(client, auditor.email)
    jar = {"Cookie": f"{COOKIE}={cookie}"}
    for headers in [
        {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"},  # typed or bookmarked
        {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"},  # the portal's link
        {},
    ]:
        response = await client.http.get("/audit/export?format=ndjson", headers={**jar, **headers})
        assert response.status_code == 200, response.text
        assert "LOGIN_SUCCEEDED" in response.text
    for headers in [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
    ]:
        response = await client.http.get("/audit/export", headers={**jar, **headers})
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_production_uses_a_host_prefixed_secure_cookie() -> None:
    async with client_for(create_app(production_settings(), manage_database=False)) as client:
        user = await make_user(await make_domain())
        response = await post(
            client, LOGIN, {"email": user.email, "password": PASSWORD}, headers=PORTAL
        )
        lines = response.headers.get_list("set-cookie")
        assert len(lines) == 1 and lines[0].startswith("__Host-gqlp_session=")
        assert "secure" in lines[0].lower() and "domain=" not in lines[0].lower()
        cookie = lines[0].split(";")[0].partition("=")[2]
        me = await client.http.post(
            "/graphql",
            json={"query": ME},
            headers={**PORTAL, "Cookie": f"__Host-gqlp_session={cookie}"},
        )
        assert me.json() == {"data": {"me": {"email": user.email}}}
        # The development name means nothing in production.
        dev = await post(client, ME, headers=PORTAL, cookie=cookie)
        assert dev.json() == {"data": {"me": None}}


async def test_strawberry_path_honours_the_cookie_as_the_fast_path_does() -> None:
    app = create_app(manage_database=False)
    for route in app.routes:
        if isinstance(getattr(route, "endpoint", None), GraphQLView):
            route.endpoint.fast = None  # type: ignore[attr-defined]
    async with client_for(app) as client:
        user = await make_user(await make_domain())
        payload, cookie = await portal_login(client, user.email)
        assert payload["token"] is None
        me = await post(client, ME, headers=PORTAL, cookie=cookie)
        assert me.json() == {"data": {"me": {"email": user.email}}}
        cross = await post(
            client, ME, headers={**PORTAL, "Origin": "http://evil.example"}, cookie=cookie
        )
        assert refused(cross)
        out = await post(client, "mutation { logout }", headers=PORTAL, cookie=cookie)
        assert session_cookie(out)[0] == ""
        assert await Session.filter(user_id=user.id, revoked_at=None).count() == 0
