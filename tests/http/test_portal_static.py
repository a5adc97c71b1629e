"""The portal's files: ``/`` and ``/portal/<path>``, each with the portal's CSP."""

from gql_portal.http.portal import PORTAL_CSP, STATIC
from tests.graphql import GraphQLClient

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


async def test_the_root_serves_the_portal_with_its_csp(client: GraphQLClient) -> None:
    assert PORTAL_CSP == CSP  # CONTRACT section 9, word for word
    response = await client.http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == (STATIC / "index.html").read_bytes()
    assert response.headers["content-security-policy"] == CSP
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


async def test_portal_files_are_served_under_portal(client: GraphQLClient) -> None:
    response = await client.http.get("/portal/index.html")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    missing = await client.http.get("/portal/no-such-file.js")
    assert missing.status_code == 404
    for escape in ["/portal/../app.py", "/portal/%2e%2e/routes.py", "/portal/..%2froutes.py"]:
        answer = await client.http.get(escape)
        assert answer.status_code == 404, escape
        assert b"STATIC" not in answer.content
    assert (await client.http.post("/", content=b"")).status_code == 405
