"""The web portal's static files: ``/`` is index.html, the rest under ``/portal/<path>``.

Nothing is built or rendered: the files in ``static/`` are served as they are, each
response with the portal's CSP (CONTRACT section 9), which EdgeMiddleware leaves alone.
"""

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The files themselves live in the package folder portal/static/ (no Python there).
STATIC = Path(__file__).parent.parent / "portal" / "static"

# No inline script or style, nothing from another origin: an injected <script> or
# style attribute does nothing, and the page can talk only to this server.
PORTAL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class WithHeaders:
    """Adds fixed response headers to whatever the wrapped app answers."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(name.encode(), value.encode()) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"content-security-policy": PORTAL_CSP})


def portal_routes() -> list[BaseRoute]:
    files = StaticFiles(directory=STATIC)
    return [
        Route("/", _index, methods=["GET", "HEAD"]),
        Mount("/portal", WithHeaders(files, {"content-security-policy": PORTAL_CSP})),
    ]
