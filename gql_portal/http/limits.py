"""Refuse oversized request bodies with 413 before any of them is parsed."""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_portal.logs import REQUEST_ID


def error_body(message: str, code: str = "BAD_USER_INPUT") -> bytes:
    """A GraphQL-shaped error, so clients can read HTTP-level refusals like any other."""
    extensions = {"code": code}
    request_id = REQUEST_ID.get()  # set by EdgeMiddleware, the outermost layer
    if request_id is not None:
        extensions["requestId"] = request_id
    return json.dumps({"errors": [{"message": message, "extensions": extensions}]}).encode()


async def send_error(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = error_body(message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """A declared Content-Length over ``max_bytes`` is refused before anything is read; a
    body without one (chunked) is buffered up to ``max_bytes``, then replayed to the app."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"The request body exceeds {self.max_bytes} bytes"
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send_error(send, 413, too_large, [(b"connection", b"close")])
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
            if size > self.max_bytes:
                await send_error(send, 413, too_large, [(b"connection", b"close")])
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
