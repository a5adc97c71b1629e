"""GraphiQL in development, offline: its page and its vendored assets under ``/graphiql/``.

The assets are pinned, unmodified npm files with their licenses (scripts/vendor_graphiql.py
refreshes them, vendor.json records their hashes); the page and its script are ours.
"""

from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gql_portal.http.portal import WithHeaders

# The page, the manifest and the assets live in the package folder graphiql/ (no Python).
HERE = Path(__file__).parent.parent / "graphiql"
STATIC = HERE / "static"

# What GraphiQL 3 needs and no more: scripts and styles from this server only (the page's
# code is graphiql-page.js, no inline script or style); its fonts and icons are data: URIs
# inside graphiql.min.css (font-src and img-src data:); it talks to /graphql over fetch and
# the WebSocket ('self' covers ws: and wss: of this host). Checked in headless Chromium:
# loading, running a query, autocompletion, the docs explorer and a subscription log no
# CSP violation.
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def _page() -> str:
    return (HERE / "page.html").read_text()


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"content-security-policy": GRAPHIQL_CSP})


def graphiql_routes() -> list[BaseRoute]:
    files = StaticFiles(directory=STATIC)
    return [Mount("/graphiql", WithHeaders(files, {"content-security-policy": GRAPHIQL_CSP}))]
