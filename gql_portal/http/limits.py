"""Request bodies: refused with 413 before any of them is parsed when too large, with 408
when they arrive too slowly."""

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_portal.logs import REQUEST_ID


def error_body(
    message: str, code: str = "BAD_USER_INPUT", *, request_id: str | None = None
) -> bytes:
    """A GraphQL-shaped error, so clients can read HTTP-level refusals like any other."""
    extensions = {"code": code}
    request_id = request_id or REQUEST_ID.get()  # set by EdgeMiddleware, the outermost layer
    if request_id is not None:
        extensions["requestId"] = request_id
    return json.dumps({"errors": [{"message": message, "extensions": extensions}]}).encode()


# SCIM clients parse RFC 7644's error body, not GraphQL's (api/scim_http.py answers the rest).
SCIM_PREFIX = "/scim/"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_error_body(status: int, message: str) -> bytes:
    return json.dumps({"schemas": [SCIM_ERROR], "status": str(status), "detail": message}).encode()


async def send_error(
    send: Send,
    status: int,
    message: str,
    headers: list[tuple[bytes, bytes]],
    scope: Scope | None = None,
) -> None:
    scim = scope is not None and str(scope.get("path", "")).startswith(SCIM_PREFIX)
    body = scim_error_body(status, message) if scim else error_body(message)
    media_type = b"application/scim+json" if scim else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """A declared Content-Length over ``max_bytes`` is refused before anything is read; a
    body without one (chunked) is buffered up to ``max_bytes``, then replayed to the app.
    ``delegated`` paths apply their own limit (POST /graphql/import decides from the
    credential whether a big CSV may come, before it reads a byte: http/import_route.py)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, delegated: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.delegated = delegated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.delegated:
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        too_large = f"The request body exceeds {max_bytes} bytes"
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await send_error(send, 413, too_large, [(b"connection", b"close")], scope)
            return
        if declared is not None:
            # The HTTP parser reads exactly the declared length: nothing to count or buffer.
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await send_error(send, 413, too_large, [(b"connection", b"close")], scope)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class BodyTimeoutError(Exception):
    pass


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


class BodyTimeoutMiddleware:
    """A request body must be complete ``seconds`` after the request began: a body sent a
    byte a second would otherwise hold its connection and buffer for as long as the
    client likes. Past the deadline the answer is 408 (when no response has started), and
    the connection is closed."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        complete = False
        started = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:
                return await receive()  # after the body only a disconnect can come
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_started(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_started)
        except BodyTimeoutError:
            if not started:
                message = f"The request body took more than {self.seconds:g} s"
                request_id = scope.get("state", {}).get("request_id")
                body = error_body(message, request_id=request_id)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 408,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
