"""Plain ASGI middleware (not BaseHTTPMiddleware): request ids, headers and metrics, and
the last-resort answer for whatever escapes every other layer."""

import logging
import re
import secrets
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_portal import metrics
from gql_portal.dependencies import unavailable_error
from gql_portal.errors import ErrorCode
from gql_portal.logs import REQUEST_ID

log = logging.getLogger("gql_portal.errors")

# fullmatch, not match with ``$``: ``$`` also matches before a trailing newline, and a
# client's "abcdefgh\n" went out in the response header, into audit rows and log lines.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# Only a document (GraphiQL's page) has a window to isolate and features to deny; OWASP's
# REST list leaves them out of API responses, and every header costs every request.
DOCUMENT_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Tokens, codes, secrets and QR codes travel in responses: no cache may keep any of them.
NO_STORE = (b"cache-control", b"no-store")
# JSON and text need no scripts, styles or frames; only GraphiQL (development) is HTML.
CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


KNOWN_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics", "/audit/export"})


class EdgeMiddleware:
    """Everything done at the edge of a request, in one response wrapper (not a stack of
    them: each layer costs about 20 us a request, see bench/middleware.py):

    - take a well-formed X-Request-ID or make one; echo it, keep it in scope state and in
      the logs' context;
    - security headers: no-store on everything (tokens, codes, secrets and QR codes travel
      in responses), CSP on all but GraphiQL's HTML, COOP and Permissions-Policy on that
      HTML only, HSTS in production;
    - requests and latency per route; unknown paths share one label to bound cardinality.
    """

    def __init__(self, app: ASGIApp, *, production: bool = False) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = next(
            (value for name, value in scope["headers"] if name == b"x-request-id"), b""
        ).decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        if kind == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                REQUEST_ID.reset(token)
            return
        route = scope["path"] if scope["path"] in KNOWN_ROUTES else "other"
        method = scope["method"] if scope["method"] in ("GET", "POST", "HEAD") else "other"
        status = 500
        started = time.perf_counter()

        async def send_at_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = self._headers(message.get("headers", []), request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_at_edge)
        finally:
            REQUEST_ID.reset(token)
            metrics.child(metrics.HTTP_LATENCY, route, method).observe(
                time.perf_counter() - started
            )
            metrics.child(metrics.HTTP_REQUESTS, route, method, str(status)).inc()

    def _headers(
        self, original: list[tuple[bytes, bytes]], request_id: str
    ) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        present: set[bytes] = set()
        content_type = b""
        for name, value in original:
            lowered = name.lower()
            if lowered == b"x-request-id" or lowered == NO_STORE[0]:
                continue
            if lowered == b"content-type":
                content_type = value
            present.add(lowered)
            headers.append((name, value))
        headers.append((b"x-request-id", request_id.encode()))
        headers.append(NO_STORE)
        headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
        if content_type.startswith(b"text/html"):
            headers.extend(h for h in DOCUMENT_HEADERS if h[0] not in present)
        elif CSP[0] not in present:
            headers.append(CSP)
        if self.production:
            headers.append(HSTS)
        return headers


async def last_resort(request: Request, error: Exception) -> Response:
    """Starlette's ServerErrorMiddleware handler: an exception no layer answered leaves as
    a contract error (a masked INTERNAL_SERVER_ERROR, or SERVICE_UNAVAILABLE for a
    dependency fault), never Starlette's text/plain page. EdgeMiddleware wraps this layer,
    so the answer carries the request id and the security headers like any other."""
    request_id = REQUEST_ID.get()
    unavailable = unavailable_error(error)
    if unavailable is not None:
        extensions = {"code": unavailable.code.value, **unavailable.extensions}
        message, status = unavailable.message, 503
        headers = {"retry-after": str(unavailable.extensions["retryAfter"])}
    else:
        log.error("unhandled error (request %s)", request_id, exc_info=error)
        extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        message, status, headers = "Internal server error", 500, {}
    extensions["requestId"] = request_id
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return JSONResponse(body, status_code=status, headers=headers)
