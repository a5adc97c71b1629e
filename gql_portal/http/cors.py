"""CORS for frontends on other origins (``GQL_PORTAL_CORS_ORIGINS``), bearer tokens only.

Exact origins, never ``*``, never ``Access-Control-Allow-Credentials``: a page on a listed
origin may send ``Authorization`` and ``Content-Type``, and its browser never attaches
the portal's cookie (and were one sent, api/credentials.py refuses it from another
origin). Plain ASGI, in the stack only when origins are listed.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_portal.http.limits import error_body

# Path -> the methods other origins may use there.
CORS_PATHS = {"/graphql": b"GET, POST", "/audit/export": b"GET"}
ALLOWED_HEADERS = b"Authorization, Content-Type"
# What a client needs to read besides the body: the request id, the retry delay of a 503
# and the export's file name.
EXPOSED_HEADERS = b"X-Request-ID, Retry-After, Content-Disposition"
PREFLIGHT_MAX_AGE = b"600"
VARY = (b"vary", b"Origin")


class CorsMiddleware:
    def __init__(self, app: ASGIApp, *, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = CORS_PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if methods is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        allowed = origin is not None and origin.decode("latin-1") in self.origins
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(send, origin if allowed else None, methods)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                added = [VARY]
                if allowed and origin is not None:
                    added += [
                        (b"access-control-allow-origin", origin),
                        (b"access-control-expose-headers", EXPOSED_HEADERS),
                    ]
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(send: Send, origin: bytes | None, methods: bytes) -> None:
        if origin is None:
            body = error_body("This origin may not call the API from a browser", "FORBIDDEN")
            status = 403
            headers = [(b"content-type", b"application/json"), VARY]
        else:
            body, status = b"", 204
            headers = [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-methods", methods),
                (b"access-control-allow-headers", ALLOWED_HEADERS),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE),
                VARY,
            ]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
