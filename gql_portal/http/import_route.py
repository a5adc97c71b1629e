"""POST /graphql/import: the GraphQL endpoint for importUsers documents with big CSVs.

100,000 CSV rows are about 10 MB, a hundred times the body limit of /graphql
(``max_body_bytes``, which bounds what every other document may cost before it is even
parsed). This path alone takes bodies up to ``import_max_bytes``, and only from a request
whose credential ``admit`` accepts (a signed-in SYSTEM_ADMIN: decided from the headers
before a byte of the body is read, so nobody else can make the server read, hold or decode
megabytes); any other request gets the usual ``max_bytes``. Only a document whose one
operation is a mutation of the single root field ``importUsers`` is accepted; anything else
is refused before GraphQL sees it. The request is
then the very same request to the GraphQL view (same authentication, cookie rules, errors
and answer), so clients send exactly what they would send to /graphql.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_portal.http.limits import send_error

PATH = "/graphql/import"
FIELD = "importUsers"
# A body above this is decoded in a thread: a 10 MB JSON text takes tens of milliseconds.
INLINE_BODY = 100_000
# The document itself is small (the CSV travels in the variables).
MAX_TOKENS = 200
ONLY_IMPORT = f"Only an importUsers mutation is accepted on {PATH}"


def is_import_document(payload: Any) -> bool:
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return False
    try:
        document = parse(payload["query"], max_tokens=MAX_TOKENS, no_location=True)
    except GraphQLError:
        return False
    if len(document.definitions) != 1:
        return False
    (operation,) = document.definitions
    if not isinstance(operation, OperationDefinitionNode):
        return False
    selections = operation.selection_set.selections
    return (
        operation.operation is OperationType.MUTATION
        and len(selections) == 1
        and isinstance(selections[0], FieldNode)
        and selections[0].name.value == FIELD
    )


Admit = Callable[[Scope], Awaitable[bool]]


class ImportEndpoint:
    def __init__(
        self, graphql: ASGIApp, *, admit: Admit, max_bytes: int, import_max_bytes: int
    ) -> None:
        self.graphql = graphql
        self.admit = admit
        self.max_bytes = max_bytes
        self.import_max_bytes = max(import_max_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await send_error(send, 405, f"{PATH} takes POST only", [(b"allow", b"POST")])
            return
        limit = self.import_max_bytes if await self.admit(scope) else self.max_bytes
        too_large = [(b"connection", b"close")]
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await send_error(send, 413, f"The request body exceeds {limit} bytes", too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await send_error(send, 413, f"The request body exceeds {limit} bytes", too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            if len(body) > INLINE_BODY:
                payload = await asyncio.to_thread(json.loads, body)
            else:
                payload = json.loads(body)
        except ValueError:
            payload = None
        if not is_import_document(payload):
            await send_error(send, 400, ONLY_IMPORT, [])
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.graphql(scope, replay, send)
